import path from 'node:path';
import { MALFORMED_ESCAPE, urlCredentials } from './urlCredentials';

/*
 * DATABASE_URL → where the store lives (store/openStore.ts opens it). The caller supplies the default (a file under
 * the data folder) when the variable is unset; this module only reads what was given.
 */

export type DatabaseLocation =
  | { kind: 'sqlite'; path: string }
  /** `connectionString` is DATABASE_URL as given, password included: never log it. */
  | { kind: 'postgres'; connectionString: string; schema?: string };

/** A DATABASE_URL that names no usable database. `reason` has no variable name, for callers that add their own. */
export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';

  constructor(readonly reason: string) {
    super(`DATABASE_URL: ${reason}`);
  }
}

/** Schema names the store accepts: PostgreSQL's unquoted names, so that they mean the same everywhere. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const SUPPORTED_FORMS =
  'use postgres://user:password@host:5432/database, sqlite:///absolute/path.sqlite, sqlite:relative/path.sqlite, ' +
  'or a plain file path';

/**
 * Reads DATABASE_URL. Accepted:
 * - `postgres://…` or `postgresql://…`, as pg reads it (sslmode, options…), plus `?schema=name` to keep the bot's
 *   tables in their own schema (created when missing);
 * - `sqlite:///abs/path.sqlite` (empty host, absolute path), `sqlite://relative/path`, `sqlite:relative/path`,
 *   `sqlite:/abs/path`;
 * - a plain file path, absolute or relative.
 * Relative paths are resolved against `workingDirectory`, which must be absolute. The rest of a sqlite: URL is
 * taken literally (no percent-decoding, no query string), as a path would be.
 * Pure: no file or server is touched. Messages never repeat the URL itself, which may carry a password.
 */
export function parseDatabaseUrl(databaseUrl: string, workingDirectory: string): DatabaseLocation {
  const value = databaseUrl.trim();
  if (value === '') throw new DatabaseUrlError(`is empty; ${SUPPORTED_FORMS}`);

  // A one-letter "scheme" is a Windows drive (C:\data\bot.sqlite), so a scheme needs two letters or more.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(value)?.[1]?.toLowerCase();
  // `postgres//bot:pw@db/images` would otherwise be a file path: a folder named after the password.
  if (scheme === undefined && /^[a-z][a-z0-9+.-]+\/\//i.test(value)) {
    throw new DatabaseUrlError(`looks like a URL without the ":" after its scheme; ${SUPPORTED_FORMS}`);
  }
  if (scheme === undefined) return sqliteFile(value, workingDirectory);

  if (scheme === 'postgres' || scheme === 'postgresql') return postgresUrl(value);
  if (scheme !== 'sqlite') {
    throw new DatabaseUrlError(`the scheme "${scheme}:" is not supported; ${SUPPORTED_FORMS}`);
  }

  const rest = value.slice('sqlite:'.length);
  // `sqlite://x` has an authority part in URL terms; with no host it is the path, so `sqlite:///abs` is absolute.
  return sqliteFile(rest.startsWith('//') ? rest.slice(2) : rest, workingDirectory);
}

function sqliteFile(filePath: string, workingDirectory: string): DatabaseLocation {
  if (filePath === '' || filePath.endsWith('/')) {
    throw new DatabaseUrlError(`names a folder or nothing, not a database file; ${SUPPORTED_FORMS}`);
  }
  return { kind: 'sqlite', path: path.resolve(workingDirectory, filePath) };
}

function postgresUrl(value: string): DatabaseLocation {
  const url = parsePostgresUrl(value);
  if (!url) throw new DatabaseUrlError(`is not a valid PostgreSQL URL; ${SUPPORTED_FORMS}`);
  if (urlCredentials(url).malformedEscape) throw new DatabaseUrlError(MALFORMED_ESCAPE);
  const schemas = url.searchParams.getAll('schema');
  if (schemas.length > 1) throw new DatabaseUrlError('names ?schema= more than once');
  const [schema] = schemas;
  if (schema === undefined) return { kind: 'postgres', connectionString: value };
  if (!SCHEMA_NAME.test(schema)) {
    throw new DatabaseUrlError(
      `?schema= must be a lower-case PostgreSQL name (a letter or _, then letters, digits or _), got "${schema}"`,
    );
  }
  // pg ignores parameters it does not know, so `schema` may stay in the connection string.
  return { kind: 'postgres', connectionString: value, schema };
}

/**
 * The URL as pg's own parser reads it, which accepts `postgres://user@/db?host=/run/postgresql` (no host, a
 * socket) although the URL standard does not. Undefined when it cannot be read.
 */
function parsePostgresUrl(value: string): URL | undefined {
  for (const candidate of [value, value.replace('@/', '@localhost/')]) {
    try {
      return new URL(candidate);
    } catch {
      // Try the next form.
    }
  }
  return undefined;
}

/** Parameters with which pg encrypts the connection (any of them turns TLS on, `sslmode=disable` off on purpose). */
const TLS_PARAMETERS = ['sslmode', 'ssl', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation'];

/**
 * pg sends everything in clear unless told otherwise: when DATABASE_URL names a PostgreSQL server that is not on
 * this host and says nothing of TLS, the sentence to warn with (naming the host, never the URL, which may carry a
 * password); undefined otherwise. `pgEnvironment` is what pg itself reads when the URL is silent.
 */
export function plaintextDatabaseWarning(
  databaseUrl: string,
  pgEnvironment: { PGHOST?: string; PGSSLMODE?: string } = {},
): string | undefined {
  const value = databaseUrl.trim();
  if (!/^postgres(ql)?:/i.test(value)) return undefined;
  const url = parsePostgresUrl(value);
  if (!url) return undefined;
  if (TLS_PARAMETERS.some((name) => url.searchParams.has(name)) || pgEnvironment.PGSSLMODE) return undefined;
  // `?host=` wins over the authority part, as in pg; a URL without a host falls back to PGHOST, then a local socket.
  const host = url.searchParams.get('host') ?? (value.includes('@/') ? '' : decodeURIComponent(url.hostname));
  const server = host || pgEnvironment.PGHOST || 'localhost';
  if (isLocalHost(server)) return undefined;
  return (
    `DATABASE_URL: the PostgreSQL server ${server} is not on this host and no sslmode is set, so the connection ` +
    '(password and data) is not encrypted; add ?sslmode=verify-full (with sslrootcert=… for a private CA)'
  );
}

/** A Unix socket, localhost or a loopback address: traffic that never leaves the host. */
function isLocalHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return (
    name.startsWith('/') ||
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(name) ||
    /^(0{0,4}:){1,7}:?0{0,3}1$/.test(name) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(name)
  );
}

/**
 * The secrets DATABASE_URL carries (a PostgreSQL password, as written and decoded), for the logger to redact.
 * Nothing for a SQLite file or a URL that cannot be read (config reports that one).
 */
export function databaseUrlSecrets(databaseUrl: string): string[] {
  const value = databaseUrl.trim();
  if (!/^postgres(ql)?:/i.test(value)) return [];
  const url = parsePostgresUrl(value);
  if (!url) return [];
  const inQuery = PASSWORD_PARAMETERS.flatMap((name) => url.searchParams.getAll(name)).filter((s) => s.length > 0);
  return [...new Set([...urlCredentials(url).secrets, ...inQuery])];
}

/** Query parameters pg reads a password from (`?password=…` instead of `user:password@`), and the key's passphrase. */
export const PASSWORD_PARAMETERS = ['password', 'sslpassword'] as const;
