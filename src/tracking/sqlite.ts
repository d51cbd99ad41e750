import fs from 'node:fs';
import path from 'node:path';
import { types } from 'node:util';
import Database from 'better-sqlite3';
import { MIGRATIONS, planMigrations, type Migration } from './migrations';
import type {
  AuditEvent,
  AuditKind,
  BuildRequest,
  BuildRequestPatch,
  NewBuildRequest,
  RequestState,
  Store,
} from './store';

/*
 * The store (build requests, user defaults, audit log) in one SQLite file, for a single bot process (the CLI may
 * open the same file beside it). better-sqlite3 is synchronous; the methods are async only to honour the
 * interface shared with PostgreSQL.
 */

/**
 * - `not-found`: no request has that id.
 * - `unavailable`: the database cannot be opened, read or written (read-only, disk full, locked, corrupt, I/O).
 * - `incompatible`: the database was migrated by a newer release than this one.
 */
export type StoreErrorKind = 'not-found' | 'unavailable' | 'incompatible';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SqliteStoreOptions {
  /** The database file; it and its folder are created when missing. */
  path: string;
  /** Stamps `schema_migrations.applied_at`. */
  now?: () => Date;
  /** How long to wait for another connection's write lock before giving up. */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** Opens (creating if needed) the database file, applies pending migrations and returns the store. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const file = options.path;
  let connection: Database.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (error) {
    throw unavailable(file, 'cannot be opened', error, `its folder ${path.dirname(file)} cannot be created`);
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
    configure(connection, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    applySqliteMigrations(connection, { now: options.now });
    return new SqliteStore(connection);
  } catch (error) {
    connection.close();
    throw error instanceof StoreError ? error : unavailable(connection.name, 'cannot be opened', error);
  }
}

function configure(connection: Database.Database, busyTimeoutMs: number): void {
  // First, so that every later statement (switching to WAL included) waits for a lock instead of failing at once.
  connection.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  // WAL lets the CLI read while the bot writes, and a writer never blocks readers.
  const journalMode = connection.pragma('journal_mode = WAL', { simple: true });
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

type ColumnKind = 'text' | 'integer' | 'date';

/** Every field of a request, its column and how it is stored. The compiler insists that no field is left out. */
const COLUMNS = {
  id: ['id', 'text'],
  idempotencyKey: ['idempotency_key', 'text'],
  requesterId: ['requester_id', 'text'],
  channelId: ['channel_id', 'text'],
  threadChannelId: ['thread_channel_id', 'text'],
  responseUrl: ['response_url', 'text'],
  provider: ['provider', 'text'],
  distribution: ['distribution', 'text'],
  architecture: ['architecture', 'text'],
  imageName: ['image_name', 'text'],
  shareSummary: ['share_summary', 'text'],
  composeRequest: ['compose_request', 'text'],
  state: ['state', 'text'],
  composeId: ['compose_id', 'text'],
  status: ['status', 'text'],
  progressDone: ['progress_done', 'integer'],
  progressTotal: ['progress_total', 'integer'],
  finalImageStatus: ['final_image_status', 'text'],
  rejection: ['rejection', 'text'],
  parentTs: ['parent_ts', 'text'],
  statusTs: ['status_ts', 'text'],
  resultTs: ['result_ts', 'text'],
  renderedParent: ['rendered_parent', 'text'],
  renderedStatus: ['rendered_status', 'text'],
  createdAt: ['created_at', 'date'],
  submittedAt: ['submitted_at', 'date'],
  composeCreatedAt: ['compose_created_at', 'date'],
  finishedAt: ['finished_at', 'date'],
  expiresAt: ['expires_at', 'date'],
  nextPollAt: ['next_poll_at', 'date'],
  pollFailures: ['poll_failures', 'integer'],
  rebuiltFrom: ['rebuilt_from', 'text'],
  reminderTs: ['reminder_ts', 'text'],
  expiredNotedAt: ['expired_noted_at', 'date'],
} as const satisfies Record<keyof BuildRequest, readonly [column: string, kind: ColumnKind]>;

type Field = keyof BuildRequest;

/** Fields `update` refuses, whatever a caller slips past the type: they are the request itself. */
const IMMUTABLE_FIELDS: Record<Exclude<Field, keyof BuildRequestPatch>, true> = {
  id: true,
  idempotencyKey: true,
  requesterId: true,
  channelId: true,
  provider: true,
  distribution: true,
  architecture: true,
  imageName: true,
  shareSummary: true,
  composeRequest: true,
  createdAt: true,
  rebuiltFrom: true,
};

const REQUEST_STATES: ReadonlySet<string> = new Set<RequestState>(['submitting', 'tracking', 'rejected', 'done']);

type Row = Record<string, unknown>;

function toColumns(fields: Partial<BuildRequest>): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const [column, kind] = COLUMNS[field as Field];
    if (kind === 'date' && value !== null) {
      columns[column] = isoText(value, field);
    } else {
      columns[column] = value;
    }
  }
  return columns;
}

/** A date as stored: ISO-8601 text in UTC (see migrations.ts). Refuses what is not a valid Date. */
function isoText(value: unknown, name: string): string {
  if (!types.isDate(value) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${name} must be a valid Date, got ${String(value)}`);
  }
  return value.toISOString();
}

function fromRow(row: Row): BuildRequest {
  const request: Record<string, unknown> = {};
  for (const [field, [column, kind]] of Object.entries(COLUMNS)) {
    const value = row[column];
    request[field] = kind === 'date' && value !== null ? new Date(value as string) : value;
  }
  if (!REQUEST_STATES.has(request.state as string)) {
    throw new Error(`Build request ${String(request.id)} has an unknown state "${String(request.state)}"`);
  }
  return request as unknown as BuildRequest;
}

const ALL_COLUMNS = Object.values(COLUMNS).map(([column]) => column);

/** The compiler insists every kind is listed, so one added to `AuditKind` cannot be refused here by mistake. */
const AUDIT_KINDS: ReadonlySet<string> = new Set(
  Object.keys({
    requested: true,
    refused: true,
    submitted: true,
    rejected: true,
    finished: true,
    reminded: true,
    expired: true,
    'defaults-cleared': true,
  } satisfies Record<AuditKind, true>),
);

/**
 * The most rows one expiry query returns. Whoever works through them marks each one done, so a backlog (after a
 * long outage, say) is taken in batches on the next rounds instead of all at once.
 */
export const EXPIRY_BATCH_SIZE = 100;

/** A plain `{...}` object, also one made in another realm (whence no `instanceof` or prototype check). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === '[object Object]';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Checks that `values` is a flat object of strings, the only shape user defaults may take. */
function flatStrings(values: unknown, what: string): Record<string, string> {
  if (!isPlainObject(values)) {
    throw new TypeError(`${what} must be an object of text values, got ${describeValue(values)}`);
  }
  for (const [key, value] of Object.entries(values)) {
    if (typeof value !== 'string') {
      throw new TypeError(`${what} must hold only text values, but "${key}" is ${describeValue(value)}`);
    }
  }
  return values as Record<string, string>;
}

function checkLimit(limit: number): void {
  // SQLite reads a negative LIMIT as "no limit"; a caller asking for that has a bug.
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
}

interface AuditRow {
  at: string;
  kind: string;
  actor_id: string | null;
  request_id: string | null;
  channel_id: string | null;
  detail_json: string;
}

function auditFromRow(row: AuditRow): AuditEvent {
  if (!AUDIT_KINDS.has(row.kind)) throw new Error(`An audit event of ${row.at} has an unknown kind "${row.kind}"`);
  return {
    at: new Date(row.at),
    kind: row.kind as AuditKind,
    actorId: row.actor_id,
    requestId: row.request_id,
    channelId: row.channel_id,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
  };
}

function prepareStatements(db: Database.Database) {
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
    recent: db.prepare<[string, string, number], Row>(
      `SELECT * FROM build_requests WHERE requester_id = ? OR channel_id = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    ),
    newest: db.prepare<[number], Row>('SELECT * FROM build_requests ORDER BY created_at DESC, rowid DESC LIMIT ?'),
    newestOfRequester: db.prepare<[string, number], Row>(
      'SELECT * FROM build_requests WHERE requester_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
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
    defaults: db
      .prepare<[string, string], string>('SELECT values_json FROM user_defaults WHERE user_id = ? AND provider = ?')
      .pluck(),
    saveDefaults: db.prepare<[{ userId: string; provider: string; valuesJson: string; updatedAt: string }]>(
      `INSERT INTO user_defaults (user_id, provider, values_json, updated_at)
       VALUES (@userId, @provider, @valuesJson, @updatedAt)
       ON CONFLICT (user_id, provider) DO UPDATE SET values_json = excluded.values_json, updated_at = excluded.updated_at`,
    ),
    clearDefaults: db.prepare<[string]>('DELETE FROM user_defaults WHERE user_id = ?'),
    appendAudit: db.prepare<[AuditRow]>(
      `INSERT INTO audit_events (at, kind, actor_id, request_id, channel_id, detail_json)
       VALUES (@at, @kind, @actor_id, @request_id, @channel_id, @detail_json)`,
    ),
    // id breaks ties between events of the same millisecond: the order they were appended in.
    auditSince: db.prepare<[string], AuditRow>(
      `SELECT at, kind, actor_id, request_id, channel_id, detail_json FROM audit_events
       WHERE at >= ? ORDER BY at, id`,
    ),
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

  constructor(private readonly db: Database.Database) {
    this.file = db.name;
    this.statements = prepareStatements(db);
  }

  async insert(request: NewBuildRequest): Promise<{ request: BuildRequest; created: boolean }> {
    const row: BuildRequest = {
      id: request.id,
      idempotencyKey: request.idempotencyKey,
      requesterId: request.requesterId,
      channelId: request.channelId,
      threadChannelId: null,
      responseUrl: request.responseUrl,
      provider: request.provider,
      distribution: request.distribution,
      architecture: request.architecture,
      imageName: request.imageName,
      shareSummary: request.shareSummary,
      composeRequest: request.composeRequest,
      state: 'submitting',
      composeId: null,
      status: null,
      progressDone: null,
      progressTotal: null,
      finalImageStatus: null,
      rejection: null,
      parentTs: null,
      statusTs: null,
      resultTs: null,
      renderedParent: null,
      renderedStatus: null,
      createdAt: request.createdAt,
      submittedAt: null,
      composeCreatedAt: null,
      finishedAt: null,
      expiresAt: null,
      nextPollAt: null,
      pollFailures: 0,
      rebuiltFrom: request.rebuiltFrom ?? null,
      reminderTs: null,
      expiredNotedAt: null,
    };
    const values = toColumns(row);
    return this.guard('cannot be written', () =>
      this.db
        .transaction(() => {
          // The insert itself decides who wins on the key, so a concurrent duplicate cannot slip in between.
          const inserted = this.statements.insert.get(values);
          if (inserted) return { request: fromRow(inserted), created: true };
          const existing = this.statements.byIdempotencyKey.get(request.idempotencyKey as string);
          if (!existing) throw new Error(`Build request ${request.id} was neither inserted nor found`);
          return { request: fromRow(existing), created: false };
        })
        .immediate(),
    );
  }

  async get(id: string): Promise<BuildRequest | undefined> {
    const row = this.guard('cannot be read', () => this.statements.byId.get(id));
    return row && fromRow(row);
  }

  async update(id: string, patch: BuildRequestPatch): Promise<BuildRequest> {
    for (const field of Object.keys(patch)) {
      if (!Object.hasOwn(COLUMNS, field)) throw new TypeError(`Build requests have no field "${field}"`);
      if (Object.hasOwn(IMMUTABLE_FIELDS, field)) throw new TypeError(`The ${field} of a build request never changes`);
    }
    const values = toColumns(patch);
    const columns = Object.keys(values);
    const row = this.guard('cannot be written', () =>
      columns.length === 0
        ? this.statements.byId.get(id)
        : this.db
            .prepare<[Record<string, unknown>], Row>(
              `UPDATE build_requests SET ${columns.map((c) => `${c} = @${c}`).join(', ')}
               WHERE id = @id RETURNING *`,
            )
            .get({ ...values, id }),
    );
    if (!row) throw new StoreError('not-found', `There is no build request with id ${id}`);
    return fromRow(row);
  }

  async listUnfinished(): Promise<BuildRequest[]> {
    return this.guard('cannot be read', () => this.statements.unfinished.all()).map(fromRow);
  }

  async listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, channelId, limit } = filter;
    checkLimit(limit);
    return this.guard('cannot be read', () => this.statements.recent.all(requesterId, channelId, limit)).map(fromRow);
  }

  async listNewest(filter: { requesterId?: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, limit } = filter;
    checkLimit(limit);
    const rows = this.guard('cannot be read', () =>
      requesterId === undefined
        ? this.statements.newest.all(limit)
        : this.statements.newestOfRequester.all(requesterId, limit),
    );
    return rows.map(fromRow);
  }

  /**
   * `since` counts every request made since then, whatever became of it: policy limits count requests, not only
   * successful builds, so resubmitting a refused or failing request over and over still meets the limit.
   */
  async countForRequester(requesterId: string, since: Date): Promise<{ inFlight: number; since: number }> {
    const sinceText = isoText(since, 'since');
    const counts = this.guard('cannot be read', () =>
      this.statements.countsForRequester.get({ requesterId, since: sinceText }),
    );
    return { inFlight: counts?.inFlight ?? 0, since: counts?.since ?? 0 };
  }

  async listNeedingReminder(now: Date, withinMs: number): Promise<BuildRequest[]> {
    if (!Number.isFinite(withinMs) || withinMs < 0) {
      throw new RangeError(`withinMs must be a finite number ≥ 0, got ${withinMs}`);
    }
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
    this.guard('cannot be written', () => this.statements.saveDefaults.run({ userId, provider, valuesJson, updatedAt }));
  }

  async clearDefaults(userId: string): Promise<number> {
    return this.guard('cannot be written', () => this.statements.clearDefaults.run(userId).changes);
  }

  /** `detail` is kept as JSON, so it comes back as JSON carries it: a Date as its ISO text, no undefined values. */
  async appendAudit(event: AuditEvent): Promise<void> {
    if (!AUDIT_KINDS.has(event.kind)) throw new TypeError(`There is no audit event kind "${String(event.kind)}"`);
    if (!isPlainObject(event.detail)) {
      throw new TypeError(`The detail of an audit event must be an object, got ${describeValue(event.detail)}`);
    }
    const row: AuditRow = {
      at: isoText(event.at, 'at'),
      kind: event.kind,
      actor_id: event.actorId ?? null,
      request_id: event.requestId ?? null,
      channel_id: event.channelId ?? null,
      detail_json: JSON.stringify(event.detail),
    };
    this.guard('cannot be written', () => this.statements.appendAudit.run(row));
  }

  async listAudit(since: Date): Promise<AuditEvent[]> {
    const sinceText = isoText(since, 'since');
    return this.guard('cannot be read', () => this.statements.auditSince.all(sinceText)).map(auditFromRow);
  }

  async ping(): Promise<void> {
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
