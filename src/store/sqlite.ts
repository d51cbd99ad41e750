import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, planMigrations, type Migration } from './migrations';
import {
  ALL_COLUMNS,
  auditFromRow,
  checkExcept,
  checkLimit,
  checkOwner,
  checkPatch,
  checkWindow,
  compareDue,
  EXPIRY_BATCH_SIZE,
  flatStrings,
  fromRow,
  heartbeatTimes,
  isoText,
  leaseEnd,
  leaseLost,
  newRow,
  notFound,
  StoreError,
  toAuditRow,
  toColumns,
  type AuditRow,
} from './rows';
import type {
  AuditEvent,
  AuditRecord,
  BuildRequest,
  BuildRequestPatch,
  ClaimDueOptions,
  NewBuildRequest,
  PurgeCounts,
  RequesterCounts,
  RequesterLimits,
  Store,
  UpdateOptions,
} from './store';

export { EXPIRY_BATCH_SIZE, StoreError, type StoreErrorKind } from './rows';

/*
 * The store (build requests, user defaults, audit log) in one SQLite file, for a single bot process (the CLI may
 * open the same file beside it; migrations and leases stay correct should a second bot process open it too).
 * better-sqlite3 is synchronous; the methods are async only to honour the interface shared with PostgreSQL. The
 * mapping of requests to columns, and what the store refuses, are shared with PostgreSQL in rows.ts.
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
export function openSqliteStore(options: SqliteStoreOptions): Store {
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
export function createSqliteStore(
  connection: Database.Database,
  options: Omit<SqliteStoreOptions, 'path'> = {},
): Store {
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    configure(connection, Math.max(busyTimeoutMs, OPEN_BUSY_TIMEOUT_MS));
    const damage = quickCheck(connection);
    applySqliteMigrations(connection, { now: options.now });
    setBusyTimeout(connection, busyTimeoutMs);
    return new SqliteStore(connection, busyTimeoutMs, damage);
  } catch (error) {
    connection.close();
    throw error instanceof StoreError ? error : unavailable(connection.name, 'cannot be opened', error);
  }
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
 * Applies the migrations `connection` lacks, in order, in one transaction, and returns the versions it applied.
 * The write lock is taken at BEGIN (IMMEDIATE), so when two processes open a new file at once, one applies the
 * migrations and the other, once it gets the lock, finds nothing left to do.
 */
export function applySqliteMigrations(
  connection: Database.Database,
  options: { migrations?: readonly Migration[]; now?: (() => Date) | undefined } = {},
): number[] {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  // Most opens find nothing to do; looking first spares them the write lock (and lets a read-only connection
  // open an up-to-date database). The answer is checked again under the lock before anything is applied.
  if (plan(connection, migrations).pending.length === 0) return [];

  return connection
    .transaction(() => {
      connection.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
      );
      const record = connection.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
      const applied: number[] = [];
      for (const migration of plan(connection, migrations).pending) {
        try {
          connection.exec(migration.sql.sqlite);
        } catch (error) {
          throw new Error(`migration ${migration.version} (${migration.description}) failed: ${explain(error)}`, {
            cause: error,
          });
        }
        record.run(migration.version, now().toISOString());
        applied.push(migration.version);
      }
      return applied;
    })
    .immediate();
}

function plan(connection: Database.Database, migrations: readonly Migration[]) {
  const tracked = connection
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  const applied = tracked
    ? connection
        .prepare('SELECT version FROM schema_migrations')
        .pluck()
        .all()
        .map((version) => Number(version))
    : [];
  const result = planMigrations(applied, migrations);
  if (result.unknown.length > 0) {
    const newest = Math.max(...migrations.map((m) => m.version), 0);
    throw new StoreError(
      'incompatible',
      `Build-request database ${connection.name} was migrated to version ${Math.max(...result.unknown)} by a newer ` +
        `release of image-builder-bot; this release knows versions up to ${newest}. Run the newer release, or ` +
        'point DATABASE_URL at another file.',
    );
  }
  return result;
}

type Row = Record<string, unknown>;

function prepareStatements(db: Database.Database) {
  return { ...buildRequestStatements(db), ...otherStatements(db) };
}

function buildRequestStatements(db: Database.Database) {
  return {
    insert: db.prepare<[Record<string, unknown>], Row>(
      `INSERT INTO build_requests (${ALL_COLUMNS.join(', ')})
       VALUES (${ALL_COLUMNS.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING *`,
    ),
    byId: db.prepare<[string], Row>('SELECT * FROM build_requests WHERE id = ?'),
    byIdempotencyKey: db.prepare<[string], Row>('SELECT * FROM build_requests WHERE idempotency_key = ?'),
    // rowid breaks ties between requests created in the same millisecond: insertion order.
    unfinished: db.prepare<[], Row>(
      "SELECT * FROM build_requests WHERE state IN ('submitting', 'tracking') ORDER BY created_at, rowid",
    ),
    unfinishedCount: db.prepare<[], { count: number }>(
      "SELECT count(*) AS count FROM build_requests WHERE state IN ('submitting', 'tracking')",
    ),
    recent: db.prepare<[string, string, number], Row>(
      `SELECT * FROM build_requests WHERE requester_id = ? OR channel_id = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ),
    newest: db.prepare<[number], Row>('SELECT * FROM build_requests ORDER BY created_at DESC, rowid DESC LIMIT ?'),
    newestOfRequester: db.prepare<[string, number], Row>(
      'SELECT * FROM build_requests WHERE requester_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
    ),
    newestVisibleTo: db.prepare<[string, number], Row>(
      `SELECT * FROM build_requests WHERE requester_id = ? OR thread_channel_kind = 'public'
       ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ),
    // The first made, should a compose id ever be recorded twice.
    byComposeId: db.prepare<[string], Row>(
      'SELECT * FROM build_requests WHERE compose_id = ? ORDER BY created_at, rowid LIMIT 1',
    ),
    countsForRequester: db.prepare<[{ requesterId: string; since: string }], { inFlight: number; since: number }>(
      `SELECT count(*) FILTER (WHERE state IN ('submitting', 'tracking')) AS inFlight,
              count(*) FILTER (WHERE created_at >= @since) AS since
       FROM build_requests WHERE requester_id = @requesterId`,
    ),
    // The state, status and `… IS NULL` terms repeat the partial indexes' WHERE word for word (migration 2), which
    // is what lets SQLite use them; `expires_at IS NOT NULL` is implied by the range and said for the reader.
    needingReminder: db.prepare<[{ now: string; until: string }], Row>(
      `SELECT * FROM build_requests
       WHERE state = 'done' AND status = 'success' AND reminder_ts IS NULL
         AND expires_at IS NOT NULL AND expires_at > @now AND expires_at <= @until
       ORDER BY expires_at, rowid LIMIT ${EXPIRY_BATCH_SIZE}`,
    ),
    newlyExpired: db.prepare<[{ now: string }], Row>(
      `SELECT * FROM build_requests
       WHERE state = 'done' AND status = 'success' AND expired_noted_at IS NULL
         AND expires_at IS NOT NULL AND expires_at <= @now
       ORDER BY expires_at, rowid LIMIT ${EXPIRY_BATCH_SIZE}`,
    ),
  };
}

/** User defaults, audit, leases and replicas. */
function otherStatements(db: Database.Database) {
  return {
    defaults: db
      .prepare<[string, string], string>('SELECT values_json FROM user_defaults WHERE user_id = ? AND provider = ?')
      .pluck(),
    saveDefaults: db.prepare<[{ userId: string; provider: string; valuesJson: string; updatedAt: string }]>(
      `INSERT INTO user_defaults (user_id, provider, values_json, updated_at)
       VALUES (@userId, @provider, @valuesJson, @updatedAt)
       ON CONFLICT (user_id, provider) DO UPDATE SET values_json = excluded.values_json, updated_at = excluded.updated_at`,
    ),
    clearDefaults: db.prepare<[string]>('DELETE FROM user_defaults WHERE user_id = ?'),
    appendAudit: db.prepare<[ReturnType<typeof toAuditRow>]>(
      `INSERT INTO audit_events (at, kind, actor_id, request_id, channel_id, detail_json)
       VALUES (@at, @kind, @actor_id, @request_id, @channel_id, @detail_json)`,
    ),
    // id breaks ties between events of the same millisecond: the order they were appended in.
    auditSince: db.prepare<[string], AuditRow>(
      `SELECT at, kind, actor_id, request_id, channel_id, detail_json FROM audit_events
       WHERE at >= ? ORDER BY at, id`,
    ),
    // New requests first, then the most overdue (see claimDue in store.ts). Without statistics SQLite would rather
    // read `build_requests_state` (an equality) and sort every unfinished row; the partial index of migration 4
    // holds the unfinished rows already in this order, so the claim reads the due ones and stops at the limit.
    // Its WHERE is repeated word for word, as SQLite needs to use a partial index. Ascending, SQLite puts NULLs
    // first; NULLS FIRST says so for the reader. Text comparison of the fixed-width ISO dates is chronological.
    claimDue: db.prepare<[{ owner: string; until: string; now: string; limit: number; except: string }], Row>(
      `UPDATE build_requests SET lease_owner = @owner, lease_until = @until
       WHERE rowid IN (
         SELECT rowid FROM build_requests INDEXED BY build_requests_due
         WHERE state IN ('submitting', 'tracking')
           AND (next_poll_at IS NULL OR next_poll_at <= @now)
           AND (lease_owner = @owner OR lease_until IS NULL OR lease_until <= @now)
           AND id NOT IN (SELECT value FROM json_each(@except))
         ORDER BY next_poll_at NULLS FIRST, created_at, rowid LIMIT @limit)
       RETURNING *, rowid AS row_order`,
    ),
    claim: db.prepare<[{ id: string; owner: string; until: string; now: string }], Row>(
      `UPDATE build_requests SET lease_owner = @owner, lease_until = @until
       WHERE id = @id AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until IS NULL OR lease_until <= @now)
       RETURNING *`,
    ),
    renewClaim: db.prepare<[{ id: string; owner: string; until: string }]>(
      'UPDATE build_requests SET lease_until = @until WHERE id = @id AND lease_owner = @owner',
    ),
    releaseClaim: db.prepare<[{ id: string; owner: string }]>(
      'UPDATE build_requests SET lease_owner = NULL, lease_until = NULL WHERE id = @id AND lease_owner = @owner',
    ),
    leaseOwner: db.prepare<[string], string | null>('SELECT lease_owner FROM build_requests WHERE id = ?').pluck(),
    leaseOwners: db
      .prepare<[], string>(
        'SELECT DISTINCT lease_owner FROM build_requests WHERE lease_owner IS NOT NULL ORDER BY lease_owner',
      )
      .pluck(),
    releaseAllClaims: db.prepare<[string]>(
      'UPDATE build_requests SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?',
    ),
    seen: db.prepare<[{ id: string; now: string }]>(
      `INSERT INTO replicas (id, last_seen) VALUES (@id, @now)
       ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen`,
    ),
    forgetStale: db.prepare<[string]>('DELETE FROM replicas WHERE last_seen < ?'),
    liveReplicas: db.prepare<[], number>('SELECT count(*) FROM replicas').pluck(),
    retire: db.prepare<[string]>('DELETE FROM replicas WHERE id = ?'),
    replicaIds: db.prepare<[], string>('SELECT id FROM replicas').pluck(),
    // A real write, rolled back by `ping`: proves the write lock can be taken and the file may be written. Being
    // rolled back, it reaches no disk, so it cannot prove there is free space; a full disk shows on the next commit.
    probe: db.prepare(
      'UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)',
    ),
  };
}

class SqliteStore implements Store {
  private readonly file: string;
  private readonly statements: ReturnType<typeof prepareStatements>;
  /** UPDATE statements by the columns they set (a few dozen sets at most), compiled once: every poll step writes. */
  private readonly updates = new Map<string, Database.Statement<[Record<string, unknown>], Row>>();

  /** `damage`: what the integrity check at start found wrong with the file, if anything. */
  constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
    private readonly damage?: string,
  ) {
    this.file = db.name;
    this.statements = prepareStatements(db);
  }

  async insert(request: NewBuildRequest): Promise<{ request: BuildRequest; created: boolean }> {
    const values = toColumns(newRow(request));
    return this.whileSubmitting(() =>
      this.guard('cannot be written', () => this.db.transaction(() => this.insertOrFind(request, values)).immediate()),
    );
  }

  /**
   * One IMMEDIATE transaction: it holds the write lock from before the count until the insert commits, so a
   * submission from another process waits for it, and in this one nothing runs in between (better-sqlite3 is
   * synchronous).
   */
  async insertWithinLimits(
    request: NewBuildRequest,
    limits: RequesterLimits,
  ): Promise<{ request: BuildRequest; created: boolean } | { refused: string }> {
    const values = toColumns(newRow(request));
    const since = isoText(limits.since, 'since');
    return this.whileSubmitting(() =>
      this.guard('cannot be written', () =>
        this.db
          .transaction(() => {
            const existing =
              request.idempotencyKey === null
                ? undefined
                : this.statements.byIdempotencyKey.get(request.idempotencyKey);
            if (existing) return { request: fromRow(existing), created: false };
            const counts = this.statements.countsForRequester.get({ requesterId: request.requesterId, since });
            const refused = limits.refusal({ inFlight: counts?.inFlight ?? 0, since: counts?.since ?? 0 });
            if (refused !== undefined) return { refused };
            return this.insertOrFind(request, values);
          })
          .immediate(),
      ),
    );
  }

  /** A submission's write waits for a lock longer (see SUBMISSION_BUSY_TIMEOUT_MS); the wait is synchronous. */
  private whileSubmitting<T>(write: () => T): T {
    setBusyTimeout(this.db, Math.max(this.busyTimeoutMs, SUBMISSION_BUSY_TIMEOUT_MS));
    try {
      return write();
    } finally {
      setBusyTimeout(this.db, this.busyTimeoutMs);
    }
  }

  /** Within a transaction. */
  private insertOrFind(
    request: NewBuildRequest,
    values: Record<string, unknown>,
  ): { request: BuildRequest; created: boolean } {
    // The insert itself decides who wins on the key, so a concurrent duplicate cannot slip in between.
    const inserted = this.statements.insert.get(values);
    if (inserted) return { request: fromRow(inserted), created: true };
    const existing = this.statements.byIdempotencyKey.get(request.idempotencyKey as string);
    if (!existing) throw new Error(`Build request ${request.id} was neither inserted nor found`);
    return { request: fromRow(existing), created: false };
  }

  async get(id: string): Promise<BuildRequest | undefined> {
    const row = this.guard('cannot be read', () => this.statements.byId.get(id));
    return row && fromRow(row);
  }

  async getByIdempotencyKey(key: string): Promise<BuildRequest | undefined> {
    const row = this.guard('cannot be read', () => this.statements.byIdempotencyKey.get(key));
    return row && fromRow(row);
  }

  async update(id: string, patch: BuildRequestPatch, options: UpdateOptions = {}): Promise<BuildRequest> {
    checkPatch(patch);
    const owner = options.ifLeasedBy;
    if (owner !== undefined) checkOwner(owner);
    const values = toColumns(patch);
    const columns = Object.keys(values);
    return this.guard('cannot be written', () => {
      // A fenced write names the owner in the UPDATE itself: one statement, so the lease cannot change hands between
      // the check and the write.
      const row =
        columns.length > 0
          ? this.updateStatement(columns, owner !== undefined).get({
              ...values,
              id,
              ...(owner === undefined ? {} : { fence_owner: owner }),
            })
          : owner === undefined || this.statements.leaseOwner.get(id) === owner
            ? this.statements.byId.get(id)
            : undefined;
      if (row) return fromRow(row);
      throw owner !== undefined && this.statements.byId.get(id) ? leaseLost(id, owner) : notFound(id);
    });
  }

  private updateStatement(columns: string[], fenced: boolean) {
    const key = `${fenced ? 'fenced ' : ''}${columns.join(',')}`;
    let statement = this.updates.get(key);
    if (!statement) {
      statement = this.db.prepare<[Record<string, unknown>], Row>(
        `UPDATE build_requests SET ${columns.map((c) => `${c} = @${c}`).join(', ')}
         WHERE id = @id${fenced ? ' AND lease_owner = @fence_owner' : ''} RETURNING *`,
      );
      this.updates.set(key, statement);
    }
    return statement;
  }

  async listUnfinished(): Promise<BuildRequest[]> {
    return this.guard('cannot be read', () => this.statements.unfinished.all()).map(fromRow);
  }

  async countUnfinished(): Promise<number> {
    return this.guard('cannot be read', () => this.statements.unfinishedCount.get()?.count ?? 0);
  }

  async listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, channelId, limit } = filter;
    checkLimit(limit);
    return this.guard('cannot be read', () => this.statements.recent.all(requesterId, channelId, limit)).map(fromRow);
  }

  async listNewest(filter: { requesterId?: string; visibleTo?: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, visibleTo, limit } = filter;
    checkLimit(limit);
    const rows = this.guard('cannot be read', () => {
      if (requesterId !== undefined) return this.statements.newestOfRequester.all(requesterId, limit);
      if (visibleTo !== undefined) return this.statements.newestVisibleTo.all(visibleTo, limit);
      return this.statements.newest.all(limit);
    });
    return rows.map(fromRow);
  }

  async findByComposeId(composeId: string): Promise<BuildRequest | undefined> {
    const row = this.guard('cannot be read', () => this.statements.byComposeId.get(composeId));
    return row ? fromRow(row) : undefined;
  }

  /**
   * `since` counts every request made since then, whatever became of it: policy limits count requests, not only
   * successful builds, so resubmitting a refused or failing request over and over still meets the limit.
   */
  async countForRequester(requesterId: string, since: Date): Promise<RequesterCounts> {
    const sinceText = isoText(since, 'since');
    const counts = this.guard('cannot be read', () =>
      this.statements.countsForRequester.get({ requesterId, since: sinceText }),
    );
    return { inFlight: counts?.inFlight ?? 0, since: counts?.since ?? 0 };
  }

  async listNeedingReminder(now: Date, withinMs: number): Promise<BuildRequest[]> {
    checkWindow(withinMs);
    const window = { now: isoText(now, 'now'), until: isoText(new Date(now.getTime() + withinMs), 'now + withinMs') };
    return this.guard('cannot be read', () => this.statements.needingReminder.all(window)).map(fromRow);
  }

  async listNewlyExpired(now: Date): Promise<BuildRequest[]> {
    const nowText = isoText(now, 'now');
    return this.guard('cannot be read', () => this.statements.newlyExpired.all({ now: nowText })).map(fromRow);
  }

  async getDefaults(userId: string, provider: string): Promise<Record<string, string> | undefined> {
    const json = this.guard('cannot be read', () => this.statements.defaults.get(userId, provider));
    if (json === undefined) return undefined;
    return flatStrings(JSON.parse(json), `The saved defaults of ${userId} for ${provider}`);
  }

  async saveDefaults(userId: string, provider: string, values: Record<string, string>, at: Date): Promise<void> {
    const valuesJson = JSON.stringify(flatStrings(values, `The defaults of ${userId} for ${provider}`));
    const updatedAt = isoText(at, 'at');
    this.guard('cannot be written', () =>
      this.statements.saveDefaults.run({ userId, provider, valuesJson, updatedAt }),
    );
  }

  async clearDefaults(userId: string): Promise<number> {
    return this.guard('cannot be written', () => this.statements.clearDefaults.run(userId).changes);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    const row = toAuditRow(event);
    this.guard('cannot be written', () => this.statements.appendAudit.run(row));
  }

  async listAudit(since: Date): Promise<AuditRecord[]> {
    const sinceText = isoText(since, 'since');
    return this.guard('cannot be read', () => this.statements.auditSince.all(sinceText)).map(auditFromRow);
  }

  /*
   * Leases. One bot process normally owns the file, but the CLI or a second process may open it too, so every
   * claim runs in an IMMEDIATE transaction: the write lock is taken before the rows are read, and a second
   * process waits (busy timeout) instead of claiming from a snapshot the first one is about to change.
   */

  async claimDue(
    owner: string,
    now: Date,
    leaseMs: number,
    limit: number,
    options: ClaimDueOptions = {},
  ): Promise<BuildRequest[]> {
    const until = leaseEnd(owner, now, leaseMs);
    checkLimit(limit);
    const except = JSON.stringify(checkExcept(options.except));
    const params = { owner, until, now: now.toISOString(), limit, except };
    const rows = this.guard('cannot be written', () =>
      this.db.transaction(() => this.statements.claimDue.all(params)).immediate(),
    );
    // RETURNING gives rows in no promised order.
    const order = (row: Row) => ({
      nextPollAt: row.next_poll_at === null ? null : Date.parse(row.next_poll_at as string),
      createdAt: Date.parse(String(row.created_at)),
      insertion: Number(row.row_order),
    });
    return rows.sort((a, b) => compareDue(order(a), order(b))).map(fromRow);
  }

  async claim(id: string, owner: string, now: Date, leaseMs: number): Promise<BuildRequest | undefined> {
    const until = leaseEnd(owner, now, leaseMs);
    const row = this.guard('cannot be written', () =>
      this.db.transaction(() => this.statements.claim.get({ id, owner, until, now: now.toISOString() })).immediate(),
    );
    return row && fromRow(row);
  }

  async renewClaim(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    const until = leaseEnd(owner, now, leaseMs);
    return this.guard('cannot be written', () => this.statements.renewClaim.run({ id, owner, until }).changes > 0);
  }

  async releaseClaim(id: string, owner: string): Promise<void> {
    checkOwner(owner);
    this.guard('cannot be written', () => this.statements.releaseClaim.run({ id, owner }));
  }

  async listLeaseOwners(): Promise<string[]> {
    return this.guard('cannot be read', () => this.statements.leaseOwners.all());
  }

  async releaseAllClaims(owner: string): Promise<number> {
    checkOwner(owner);
    return this.guard('cannot be written', () => this.statements.releaseAllClaims.run(owner).changes);
  }

  async heartbeat(owner: string, now: Date, staleAfterMs: number): Promise<number> {
    const { seenAt, staleBefore } = heartbeatTimes(owner, now, staleAfterMs);
    return this.guard('cannot be written', () =>
      this.db
        .transaction(() => {
          this.statements.seen.run({ id: owner, now: seenAt });
          this.statements.forgetStale.run(staleBefore);
          return this.statements.liveReplicas.get() ?? 1;
        })
        .immediate(),
    );
  }

  async retire(owner: string): Promise<void> {
    checkOwner(owner);
    this.guard('cannot be written', () => this.statements.retire.run(owner));
  }

  async listReplicas(): Promise<string[]> {
    return this.guard('cannot be read', () => this.statements.replicaIds.all());
  }

  /** Prepared at each call: it runs once an hour at most. The ISO texts compare in time order. */
  async purgeBefore(before: Date): Promise<PurgeCounts> {
    const params = { before: isoText(before, 'before') };
    return this.guard('cannot be written', () =>
      this.db
        .transaction(() => ({
          builds: this.db
            .prepare<[typeof params]>(
              `DELETE FROM build_requests
               WHERE state IN ('done', 'rejected') AND finished_at < @before AND (expires_at IS NULL OR expires_at < @before)`,
            )
            .run(params).changes,
          auditEvents: this.db.prepare<[typeof params]>('DELETE FROM audit_events WHERE at < @before').run(params)
            .changes,
        }))
        .immediate(),
    );
  }

  async ping(): Promise<void> {
    if (this.damage !== undefined) {
      throw new StoreError(
        'unavailable',
        `Build-request database ${this.file} is damaged: its integrity check at start found ${this.damage}. Stop the bot ` +
          'and restore the file from a backup (or recover it with the sqlite3 shell’s .recover)',
      );
    }
    this.guard('cannot be written', () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.statements.probe.run();
      } finally {
        // SQLite rolls back by itself after some errors (a full disk); a second ROLLBACK would hide the first error.
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      }
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Turns a failure of the database (not a bug in a statement) into a StoreError that names the file. */
  private guard<T>(failure: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (reasonFor(sqliteCode(error)) !== undefined) {
        throw unavailable(this.file, failure, error);
      }
      throw error;
    }
  }
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
