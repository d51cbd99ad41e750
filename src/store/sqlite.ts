import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  Kysely,
  sql,
  SqliteDialect,
  SqliteDriver,
  type CompiledQuery,
  type DatabaseConnection,
  type QueryResult,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import { claimDueSqlite, type StoreDialect } from './dialect';
import { migrateToLatest, type MigrationTarget } from './migrate';
import type { Migration } from './migrations';
import { StoreError } from './rows';
import type { StoreSchema } from './schema';
import { SqlStore } from './sqlStore';
import type { Store } from './store';

export { EXPIRY_BATCH_SIZE, StoreError, type StoreErrorKind } from './rows';

/*
 * The store in one SQLite file, for a single bot process (the CLI may open the same file beside it; migrations and
 * leases stay correct should a second bot process open it too): how the file is opened and configured, and how
 * SQLite's failures are put in words. The statements are sqlStore.ts's, shared with PostgreSQL.
 */

export interface SqliteStoreOptions {
  /**
   * The database file; it and its folder are created when missing, readable by the bot's user only (0600, 0700):
   * it holds who asked for what and where images are shared. An existing file or folder keeps its permissions.
   */
  path: string;
  /** Stamps `schema_migrations.applied_at`. */
  now?: () => Date;
  /** How long a statement waits for another connection's write lock before giving up (a submission's insert waits longer). */
  busyTimeoutMs?: number;
}

/*
 * How long to wait for another connection's write lock. better-sqlite3 waits synchronously, holding up the whole
 * process, and a form's submission is answered while Slack waits (3 seconds, then it gives up and the person is
 * left with the form): so background statements (polling, heartbeats, reminders) wait briefly and try again at their
 * next turn, and the submission's insert waits longer, still well inside Slack's window, before it is answered
 * "could not be saved". Opening (the switch to WAL and the migrations, once per start) may wait longest.
 */
const DEFAULT_BUSY_TIMEOUT_MS = 100;
const SUBMISSION_BUSY_TIMEOUT_MS = 1500;
const OPEN_BUSY_TIMEOUT_MS = 5000;
const PRIVATE_FOLDER_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/** Opens (creating if needed) the database file, applies pending migrations and returns the store. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const file = options.path;
  let connection: Database.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_FOLDER_MODE });
  } catch (error) {
    throw unavailable(file, 'cannot be opened', error, `its folder ${path.dirname(file)} cannot be created`);
  }
  try {
    // A missing file is created empty (an empty file is an empty database) with the private mode before SQLite opens
    // it; SQLite gives the -wal and -shm files it creates beside it the database file's permissions.
    fs.closeSync(fs.openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw unavailable(file, 'cannot be opened', error, 'the file cannot be created');
  }
  try {
    connection = new Database(file);
  } catch (error) {
    throw unavailable(file, 'cannot be opened', error);
  }
  return createSqliteStore(connection, options);
}

/**
 * Makes a store of a connection the caller opened (usually through `openSqliteStore`): configures it and applies
 * pending migrations. The store owns the connection from then on and closes it, also when this fails.
 */
export async function createSqliteStore(
  connection: Database.Database,
  options: Omit<SqliteStoreOptions, 'path'> = {},
): Promise<Store> {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const waiting = { ms: Math.max(busyTimeoutMs, OPEN_BUSY_TIMEOUT_MS) };
  const db = new Kysely<StoreSchema>({ dialect: new WaitingSqliteDialect(connection, waiting) });
  try {
    configure(connection, waiting.ms);
    const damage = quickCheck(connection);
    const dialect = sqliteDialect(connection, busyTimeoutMs, waiting, damage);
    await migrateToLatest(db as Kysely<unknown>, dialect.migration, { now: options.now });
    waiting.ms = busyTimeoutMs;
    return new SqlStore(db, dialect);
  } catch (error) {
    await db.destroy();
    if (connection.open) connection.close();
    throw error instanceof StoreError ? error : unavailable(connection.name, 'cannot be opened', error);
  }
}

/**
 * Applies the migrations a connection lacks (all of them, or those given) and returns the versions it applied;
 * the connection stays open. For tests of the migrations themselves; the store applies them when it opens.
 */
export async function applySqliteMigrations(
  connection: Database.Database,
  options: { migrations?: readonly Migration[]; now?: () => Date } = {},
): Promise<number[]> {
  const waiting = { ms: OPEN_BUSY_TIMEOUT_MS };
  const db = new Kysely<unknown>({ dialect: new WaitingSqliteDialect(connection, waiting, { keepOpen: true }) });
  try {
    return await migrateToLatest(db, sqliteDialect(connection, DEFAULT_BUSY_TIMEOUT_MS, waiting).migration, options);
  } finally {
    await db.destroy();
  }
}

/** How many statements the cache keeps; the store compiles a few dozen distinct ones (UPDATEs by their columns). */
const STATEMENT_CACHE_SIZE = 200;

/**
 * The connection as Kysely's SQLite dialect uses it, with what the dialect does not do:
 * - it prepares every statement anew at each call; this keeps the prepared statements, by their SQL, since every
 *   poll step writes (a statement SQLite must re-prepare after a schema change, it re-prepares by itself);
 * - it begins transactions DEFERRED; every transaction of the store writes, and a deferred one that reads first
 *   fails at once (SQLITE_BUSY, without the busy handler) when another connection wrote meanwhile, so they begin
 *   IMMEDIATE, taking the write lock before the first read;
 * - after some errors (a full disk) SQLite has rolled back by itself, and a second ROLLBACK would hide the first
 *   error behind "no transaction is active": it is skipped then.
 */
function statementCache(connection: Database.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  const prepare = (text: string): SqliteStatement => {
    const command = text.trim().toLowerCase();
    if (command === 'begin') return connection.prepare('BEGIN IMMEDIATE');
    if (command === 'rollback') {
      const rollback = connection.prepare('ROLLBACK');
      return {
        reader: false,
        all: () => [],
        iterate: () => [][Symbol.iterator](),
        run: () => (connection.inTransaction ? rollback.run() : { changes: 0, lastInsertRowid: 0 }),
      };
    }
    return connection.prepare(text);
  };
  return {
    close: () => connection.close(),
    prepare(text) {
      let statement = cache.get(text);
      if (statement === undefined) {
        statement = prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

/** How long statements wait for another connection's write lock, as it is now (opening waits longest). */
interface LockWait {
  ms: number;
}

/**
 * Kysely's SQLite dialect over the connection, waiting for another connection's lock without holding up the
 * process. SQLite's own busy handler waits synchronously, inside the call: a second connection in this process
 * (two replicas in one test, the CLI's) could then never release the lock it waits for, as its next statement
 * cannot run until the wait is over. So SQLite's busy timeout is 0, and a statement that finds the database locked
 * outside a transaction (a BEGIN, a single write; it changed nothing) is tried again, asynchronously, until the
 * wait is over. No driver of Kysely or better-sqlite3 waits that way.
 */
class WaitingSqliteDialect extends SqliteDialect {
  constructor(
    private readonly connection: Database.Database,
    private readonly waiting: LockWait,
    options: { keepOpen?: boolean } = {},
  ) {
    const database = statementCache(connection);
    super({ database: options.keepOpen ? { ...database, close: () => undefined } : database });
  }

  override createDriver() {
    const { connection, waiting } = this;
    const driver = super.createDriver() as SqliteDriver;
    let waitingConnection: DatabaseConnection | undefined;
    const acquire = driver.acquireConnection.bind(driver);
    driver.acquireConnection = async () => {
      waitingConnection ??= waitForLocks(await acquire(), connection, waiting);
      return waitingConnection;
    };
    return driver;
  }
}

const LOCK_RETRY_MS = 2;

function waitForLocks(inner: DatabaseConnection, connection: Database.Database, waiting: LockWait): DatabaseConnection {
  return {
    streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const deadline = Date.now() + waiting.ms;
      for (;;) {
        try {
          return await inner.executeQuery<R>(query);
        } catch (error) {
          const busy = /^SQLITE_BUSY/.test(sqliteCode(error) ?? '');
          if (!busy || connection.inTransaction || Date.now() >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
        }
      }
    },
  };
}

function sqliteDialect(
  connection: Database.Database,
  busyTimeoutMs: number,
  waiting: LockWait,
  damage?: string,
): StoreDialect & { connection: Database.Database } {
  const file = connection.name;
  const migration: MigrationTarget = {
    dialect: 'sqlite',
    name: file,
    elsewhere: 'another file',
    tableExists: async (db, table) =>
      (await sql`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ${table}`.execute(db)).rows.length > 0,
    // Inside the migrations' transaction, on the one connection Kysely uses; exec runs several statements at once.
    runScript: async (_db, script) => {
      connection.exec(script);
    },
    // BEGIN IMMEDIATE took the write lock already.
    lock: async () => undefined,
  };
  return {
    // Not used by the store; the fault tests reach for it to make the bot's own connection fail mid-step.
    connection,
    kind: 'sqlite',
    name: file,
    insertionOrder: 'rowid',
    skipsLockedRows: false,
    migration,
    failure: (failure, error) =>
      reasonFor(sqliteCode(error)) === undefined ? undefined : unavailable(file, failure, error),
    whileSubmitting: (db, work) =>
      // The connection is held throughout, so nothing else runs with the longer timeout.
      db.connection().execute(async (held) => {
        waiting.ms = Math.max(busyTimeoutMs, SUBMISSION_BUSY_TIMEOUT_MS);
        try {
          return await work(held);
        } finally {
          waiting.ms = busyTimeoutMs;
        }
      }),
    damage: () =>
      damage === undefined
        ? undefined
        : `Build-request database ${file} is damaged: its integrity check at start found ${damage}. Stop the bot ` +
          'and restore the file from a backup (or recover it with the sqlite3 shell’s .recover)',
    rolledBack: (db, work) =>
      db.connection().execute(async (held) => {
        await sql`begin`.execute(held);
        try {
          await work(held);
        } finally {
          await sql`rollback`.execute(held);
        }
      }),
    claimDue: claimDueSqlite,
    atomically: (db, work) => db.transaction().execute(work),
    lockRequester: async () => undefined,
  };
}

/**
 * Switching a new file to WAL needs a moment alone with it, and SQLite answers SQLITE_BUSY at once, without its busy
 * handler, when another process is opening the same file (the bot and the CLI on first start, two replicas' first
 * start on one file). So the switch is tried again, briefly, until the busy timeout has passed.
 */
function switchToWal(connection: Database.Database, busyTimeoutMs: number): unknown {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return connection.pragma('journal_mode = WAL', { simple: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      // A synchronous pause: better-sqlite3 is synchronous, and this happens once, while the store opens.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function setBusyTimeout(connection: Database.Database, busyTimeoutMs: number): void {
  connection.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
}

function configure(connection: Database.Database, busyTimeoutMs: number): void {
  // First, so that every later statement waits for a lock instead of failing at once (switching to WAL aside).
  setBusyTimeout(connection, busyTimeoutMs);
  // WAL lets the CLI read while the bot writes, and a writer never blocks readers.
  const journalMode = switchToWal(connection, busyTimeoutMs);
  if (journalMode !== 'wal') {
    // SQLite answers with the old mode when it cannot use WAL (a file system without shared memory, for one).
    throw new Error(`WAL journal mode could not be enabled (the journal mode stayed "${String(journalMode)}")`);
  }
  // From here on, waits for a lock are WaitingSqliteDialect's, which do not hold up the process.
  setBusyTimeout(connection, 0);
  // With WAL, NORMAL syncs at checkpoints rather than at every commit: a crash of the process loses nothing; a
  // power cut may lose the last commits but never corrupts the file. Recovery already copes with a lost commit
  // (a compose is found again by its description), so that is worth saving an fsync per commit.
  connection.pragma('synchronous = NORMAL');
  // Off by default in SQLite, per connection; on so any foreign key a later migration adds is enforced.
  connection.pragma('foreign_keys = ON');
}

/** How many problems of a damaged file the readiness check names. */
const QUICK_CHECK_PROBLEMS = 3;

/**
 * What `PRAGMA quick_check` finds wrong with the file, in words; undefined when it is sound. A file with some damaged
 * pages still opens, and still answers the readiness probe's write, while every read of those pages fails; the
 * check reads every page once, at start (a fraction of a second for the bot's database), so readiness can say so.
 */
function quickCheck(connection: Database.Database): string | undefined {
  let problems: string[];
  try {
    const rows = connection.pragma(`quick_check(${QUICK_CHECK_PROBLEMS})`) as { quick_check: unknown }[];
    problems = rows.map((row) => String(row.quick_check));
  } catch (error) {
    return explain(error);
  }
  if (problems.length === 1 && problems[0] === 'ok') return undefined;
  return problems
    .map((problem) => problem.replace(/^\*\*\* in database main \*\*\*\n/, '').replace(/\s*\n\s*/g, '; '))
    .join('; ');
}

/**
 * The result code of an error from SQLite ("SQLITE_READONLY_DIRECTORY"…). Read from the error rather than by
 * `instanceof SqliteError`: the native addon is loaded once per process and keeps the SqliteError class of the
 * first copy of better-sqlite3 that loaded it, so under jest's per-file module registries (or with two copies
 * installed) its errors need not be instances of the class this module sees.
 */
function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Why SQLite failed, in words, for the result codes that mean the database itself is unusable. */
function reasonFor(code: string | undefined): string | undefined {
  const [, primary] = /^(SQLITE_[A-Z]+)/.exec(code ?? '') ?? [];
  switch (primary) {
    case 'SQLITE_READONLY':
      return 'the database is read-only';
    case 'SQLITE_FULL':
      return 'the disk is full or the database reached its size limit';
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'another connection held the database lock for too long';
    case 'SQLITE_NOTADB':
      return 'the file is not a SQLite database';
    case 'SQLITE_CORRUPT':
      return 'the database file is corrupt';
    case 'SQLITE_CANTOPEN':
      return 'the file cannot be opened or created';
    case 'SQLITE_IOERR':
      return 'a disk I/O error occurred';
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return 'access was denied';
    default:
      return undefined;
  }
}

function explain(error: unknown): string {
  // Duck-typed for the same reason as sqliteCode: an error from another realm is no `instanceof Error` here.
  const { message } = (error ?? {}) as { message?: unknown };
  if (typeof message !== 'string') return String(error);
  const code = sqliteCode(error);
  if (code === undefined) return message;
  const reason = reasonFor(code);
  return reason ? `${reason} (${code}: ${message})` : `${code}: ${message}`;
}

function unavailable(file: string, failure: string, error: unknown, context?: string): StoreError {
  const reason = context ? `${context} (${explain(error)})` : explain(error);
  return new StoreError('unavailable', `Build-request database ${file} ${failure}: ${reason}`, { cause: error });
}
