import { Kysely, PostgresDialect, sql, type DatabaseIntrospector, type TableMetadata } from 'kysely';
import type * as Pg from 'pg';
import { SCHEMA_NAME } from '../config/databaseUrl';
import { urlCredentials } from '../config/urlCredentials';
import { claimDuePostgres, type StoreDialect } from './dialect';
import { migrateToLatest, type MigrationTarget } from './migrate';
import { StoreError } from './rows';
import type { StoreSchema } from './schema';
import { SqlStore } from './sqlStore';
import type { Store } from './store';

/*
 * The store in PostgreSQL, for several replicas of the bot sharing one database: how the database is reached (a
 * small pool of connections, a timeout on every statement) and how its failures are put in words that name the
 * database without ever showing a password. The statements are sqlStore.ts's, shared with SQLite.
 */

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?sslmode=…`, as pg reads it. */
  connectionString: string;
  /**
   * The schema holding the bot's tables, created when missing; every connection's search_path is set to it.
   * Without it, the tables live where the server's search_path (or the URL's `options`) puts them.
   */
  schema?: string;
  /** Stamps `schema_migrations.applied_at`. */
  now?: () => Date;
  /** Connections in the pool. The bot's queries are short; a few serve the poller and Slack together. */
  maxConnections?: number;
  /** The server cancels a statement running longer than this. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, new or from the pool. */
  connectTimeoutMs?: number;
  /** Told about failures of idle connections, which no caller would otherwise see. */
  onIdleError?: (error: StoreError) => void;
}

const DEFAULTS = { maxConnections: 5, statementTimeoutMs: 15_000, connectTimeoutMs: 10_000 };

/** The first key of the advisory lock the migrations hold; the second is the schema's hash, so schemas never wait. */
const MIGRATION_LOCK_KEY = 0x1b0b_0a01;

/** The first key of the advisory lock a requester's submissions take in turn (insertWithinLimits). */
const REQUESTER_LOCK_KEY = 0x1b0b_0a02;

/** Opens a pool, applies pending migrations (once, however many replicas start at once) and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`schema must be a lower-case PostgreSQL name (letters, digits, _), got "${schema}"`);
  }
  const described = describeConnection(options.connectionString);
  const name = `${described.name}${schema ? ` (schema ${schema})` : ''}`;
  const explain = explainer(described.secrets);
  const failure = (what: string, error: unknown) =>
    new StoreError('unavailable', `Build-request database ${name} ${what}: ${explain(error)}`, { cause: error });
  // Loaded here, not where this module is: pg and its dependencies cost a SQLite bot ~13 MB of memory and ~40 ms of
  // start for nothing. (This module itself is imported statically: behind a dynamic import, the bundle could not
  // trim Kysely to what the bot uses.)
  const pg = await import('pg');
  const pool = createPool(pg, options);
  // Without a listener, an idle connection's failure (a server restart) would end the process.
  pool.on('error', (error) => options.onIdleError?.(failure('lost an idle connection', error)));
  // A checked-out connection has no pool listener: one lost between two queries would otherwise be an unhandled
  // 'error' event, which ends the process. Its next query fails instead, and the pool drops it when released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<StoreSchema>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
  const dialect = postgresDialect(name, schema, (what, error) =>
    isDatabaseFailure(pg.DatabaseError, error) ? failure(what, error) : undefined,
  );
  try {
    await migrateToLatest(db as Kysely<unknown>, dialect.migration, { now: options.now });
    if (schema !== undefined) {
      // The schema exists now; a connection that is not in it would read and write another schema's tables.
      const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
      if (rows[0]?.schema !== schema) {
        throw new Error(`connections use the schema ${String(rows[0]?.schema)}, not ${schema}`);
      }
    }
  } catch (error) {
    await db.destroy();
    if (error instanceof StoreError) throw error;
    throw failure('cannot be opened', error);
  }
  return new SqlStore(db, dialect);
}

/**
 * Kysely's PostgreSQL dialect, but asking only about the tables of the connection's own schema. The Migrator asks
 * whether its ledger exists by listing tables, and Kysely's own listing reads every schema's columns, which fails
 * while another deployment's (or test's) schema is being dropped.
 */
class OwnSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const getTables = async (): Promise<TableMetadata[]> => {
      const { rows } = await sql<{ name: string; schema: string }>`
        SELECT c.relname AS name, n.nspname AS schema FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`.execute(db);
      return rows.map((row) => ({ ...row, isView: false, isForeign: false, columns: [] }));
    };
    return {
      getSchemas: async () =>
        (await sql<{ name: string }>`SELECT nspname AS name FROM pg_catalog.pg_namespace`.execute(db)).rows,
      getTables,
    };
  }
}

function createPool(pg: typeof Pg, options: PostgresStoreOptions): Pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs;
  return new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? DEFAULTS.maxConnections,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeoutMs,
    // Client-side as well: a server that vanished (a partition) sends no cancellation.
    query_timeout: statementTimeoutMs + 5_000,
    // A transaction left open by a stalled replica would hold its row locks; the server ends it.
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'image-builder-bot',
    keepAlive: true,
    // Awaited by the pool before it hands a new connection out; should it fail, the connection is closed and the
    // caller gets the error, rather than a connection on the server's default search_path, with other tables.
    // pg-pool awaits a promise from onConnect; @types/pg still declares it void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    ...(options.schema ? { onConnect: setSearchPath(pg, options.schema) } : {}),
  });
}

function setSearchPath(pg: typeof Pg, schema: string) {
  const statement = `SET search_path TO ${pg.escapeIdentifier(schema)}`;
  return async (client: Pg.ClientBase) => {
    await client.query(statement);
  };
}

function postgresDialect(name: string, schema: string | undefined, failure: StoreDialect['failure']): StoreDialect {
  const migration: MigrationTarget = {
    dialect: 'postgres',
    name,
    elsewhere: 'another database or schema',
    schema,
    tableExists: async (db, table) =>
      (await sql<{ found: boolean }>`SELECT to_regclass(${table}) IS NOT NULL AS found`.execute(db)).rows[0]?.found ===
      true,
    runScript: async (db, script) => {
      // Without parameters, pg sends the text as one simple query, which may hold several statements.
      await sql.raw(script).execute(db);
    },
    lock: async (db) => {
      // The statement timeout is for the bot's short queries; a migration may wait for another replica's.
      await sql`SET LOCAL statement_timeout = '5min'`.execute(db);
      await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}, hashtext(${schema ?? ''}))`.execute(db);
      // Under the lock, as CREATE SCHEMA IF NOT EXISTS may fail when two sessions run it at once.
      if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
    },
  };
  return {
    kind: 'postgres',
    name,
    insertionOrder: 'seq',
    skipsLockedRows: true,
    migration,
    failure,
    whileSubmitting: (db, work) => work(db),
    damage: () => undefined,
    rolledBack: async (db, work) => {
      const rollback = new Error('rolled back');
      await db
        .transaction()
        .execute(async (trx) => {
          await work(trx);
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
    },
    claimDue: claimDuePostgres,
    // One statement: PostgreSQL's row locks already keep other writers out of the rows it changes.
    atomically: (db, work) => work(db),
    lockRequester: async (trx, requesterId) => {
      await sql`SELECT pg_advisory_xact_lock(${REQUESTER_LOCK_KEY}, hashtext(${`${schema ?? ''}:${requesterId}`}))`.execute(
        trx,
      );
    },
  };
}

/** Puts a failure of pg in words, never passing on the password should a message of pg ever carry it. */
function explainer(secrets: readonly string[]) {
  return (error: unknown): string => {
    const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
    const text = typeof message === 'string' ? message : String(error);
    const reason = reasonFor(typeof code === 'string' ? code : undefined, text);
    const detail = typeof code === 'string' ? `${code}: ${text}` : text;
    const explained = reason ? `${reason} (${detail})` : detail;
    return secrets.reduce((out, secret) => out.split(secret).join('***'), explained);
  };
}

/**
 * Whether pg failed because of the database or the connection, rather than because of a statement's mistake
 * (a syntax error, a constraint the caller broke), which is left as it is.
 */
function isDatabaseFailure(DatabaseError: typeof Pg.DatabaseError, error: unknown): boolean {
  if (error instanceof DatabaseError) return reasonFor(error.code, error.message) !== undefined;
  // Duck-typed: the errors of Node's sockets (ECONNRESET, EPIPE) come from Node's own realm, and need not be
  // instances of the Error this module sees (under jest they are not). pg's other errors are about the connection
  // (refused, reset, timed out); a TypeError or RangeError is a bug here.
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return typeof message === 'string' && name !== 'TypeError' && name !== 'RangeError';
}

/** Why PostgreSQL could not serve the store, in words, for the failures that mean the database is unusable. */
function reasonFor(code: string | undefined, message: string): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return 'the server refused the connection (is PostgreSQL running and listening there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    case 'ETIMEDOUT':
      return 'the server did not answer in time';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection was lost';
    case '28P01':
    case '28000':
      return 'the server refused the user name or password';
    case '3D000':
      return 'the database does not exist';
    case '3F000':
      return 'the schema does not exist';
    case '42501':
      return 'access was denied';
    case '57014':
      return 'a statement took longer than the statement timeout';
    case '53300':
      return 'the server has too many connections';
    case '53100':
      return "the server's disk is full";
    case '25006':
      return 'the database is read-only (a standby?)';
    case '57P01':
    case '57P02':
    case '57P03':
      return 'the server is shutting down or starting up';
    case '40001':
    case '40P01':
      return 'the transaction conflicted with another one';
    case '55P03':
      return 'a lock could not be had in time';
    default:
      break;
  }
  if (code?.startsWith('08')) return 'the connection failed';
  // A reset or broken socket, whether or not the error carries its code (pg's "Connection terminated" is below).
  if (/ECONNRESET|EPIPE|socket hang up/i.test(message)) return 'the connection was lost';
  if (/timeout/i.test(message)) return 'the server did not answer in time';
  if (/terminated|not queryable|ended/i.test(message)) return 'the connection was lost';
  return undefined;
}

/** The URL without its password or query, for messages, and the password's forms, to keep them out of messages. */
export function describeConnection(connectionString: string): { name: string; secrets: string[] } {
  // pg also reads `postgres://user@/db?host=/run/postgresql` (no host: a socket), which URL refuses.
  const hostless = connectionString.includes('@/');
  let url: URL;
  try {
    url = new URL(hostless ? connectionString.replace('@/', '@socket/') : connectionString);
  } catch {
    return { name: 'PostgreSQL database', secrets: [] };
  }
  const user = url.username ? `${url.username}@` : '';
  const host = hostless ? '' : url.host;
  return { name: `${url.protocol}//${user}${host}${url.pathname}`, secrets: urlCredentials(url).secrets };
}
