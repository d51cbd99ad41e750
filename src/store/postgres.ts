import { DatabaseError, escapeIdentifier, Pool, type ClientBase, type PoolClient, type QueryResultRow } from 'pg';
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
import { SCHEMA_NAME } from '../config/databaseUrl';
import { urlCredentials } from '../config/urlCredentials';

/*
 * The store in PostgreSQL, for several replicas of the bot sharing one database. Same behaviour as the SQLite
 * store (the shared contract tests hold both to it); what differs is how the database is reached: a small pool of
 * connections, a timeout on every statement, and errors that name the database without ever showing a password.
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
  const database = new PostgresDatabase(options);
  try {
    await applyPostgresMigrations(database, { now: options.now });
    if (schema !== undefined) {
      // The schema exists now; a connection that is not in it would read and write another schema's tables.
      const [row] = await database.query<{ schema: string | null }>(
        'cannot be opened',
        'SELECT current_schema() AS schema',
      );
      if (row?.schema !== schema) throw new Error(`connections use the schema ${String(row?.schema)}, not ${schema}`);
    }
  } catch (error) {
    await database.end();
    throw error instanceof StoreError ? error : database.failure('cannot be opened', error);
  }
  return new PostgresStore(database);
}

/**
 * The pool, and what turns its failures into StoreErrors that name the database: `postgres://bot@db:5432/bot`, with
 * the schema, never the password nor the query parameters (an sslpassword, say).
 */
class PostgresDatabase {
  readonly name: string;
  readonly schema: string | undefined;
  private readonly pool: Pool;
  private readonly secrets: string[];
  private ended = false;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema;
    const described = describeConnection(options.connectionString);
    this.name = `${described.name}${options.schema ? ` (schema ${options.schema})` : ''}`;
    this.secrets = described.secrets;
    const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULTS.statementTimeoutMs;
    this.pool = new Pool({
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
      ...(options.schema ? { onConnect: setSearchPath(options.schema) } : {}),
    });
    // Without a listener, an idle connection's failure (a server restart) would end the process.
    this.pool.on('error', (error) => options.onIdleError?.(this.failure('lost an idle connection', error)));
  }

  async query<R extends QueryResultRow>(failure: string, text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (error) {
      throw isDatabaseFailure(error) ? this.failure(failure, error) : error;
    }
  }

  /**
   * Runs `work` on one connection and turns its database failures into StoreErrors. With `transaction`, `work` runs
   * in one, which ends as asked (a probe is rolled back) or, when `work` fails, is rolled back.
   */
  async withConnection<T>(
    failure: string,
    work: (client: PoolClient) => Promise<T>,
    options: { transaction?: 'commit' | 'rollback' } = {},
  ): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.failure(failure, error);
    }
    let broken: unknown;
    // A checked-out client has no pool listener: a connection lost between two queries would otherwise be an
    // unhandled 'error' event, which ends the process. It is remembered instead, so the client is not reused.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      if (options.transaction) await client.query('BEGIN');
      const result = await work(client);
      if (options.transaction) await client.query(options.transaction === 'commit' ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      if (options.transaction) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          // The connection is unusable; the pool must not hand it out again.
          broken = rollbackError;
        });
      }
      throw error instanceof StoreError || !isDatabaseFailure(error) ? error : this.failure(failure, error);
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** A StoreError naming the database, for a failure of the database (not of a caller). */
  failure(failure: string, error: unknown): StoreError {
    return new StoreError('unavailable', `Build-request database ${this.name} ${failure}: ${this.explain(error)}`, {
      cause: error,
    });
  }

  explain(error: unknown): string {
    const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
    const text = typeof message === 'string' ? message : String(error);
    const reason = reasonFor(typeof code === 'string' ? code : undefined, text);
    const detail = typeof code === 'string' ? `${code}: ${text}` : text;
    // No message of pg is known to carry the password; should one ever, it is not passed on.
    const explained = reason ? `${reason} (${detail})` : detail;
    return this.secrets.reduce((out, secret) => out.split(secret).join('***'), explained);
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }
}

function setSearchPath(schema: string) {
  const statement = `SET search_path TO ${escapeIdentifier(schema)}`;
  return async (client: ClientBase) => {
    await client.query(statement);
  };
}

/**
 * Applies the migrations the database lacks, in order, in one transaction holding an advisory lock, and returns
 * the versions it applied. A second replica starting at the same moment waits for the lock, then finds nothing
 * left to do; the schema itself is created under the lock too, as CREATE SCHEMA IF NOT EXISTS may fail when two
 * sessions run it at once.
 */
async function applyPostgresMigrations(
  database: Pick<PostgresDatabase, 'withConnection' | 'schema' | 'name'>,
  options: { migrations?: readonly Migration[]; now?: (() => Date) | undefined } = {},
): Promise<number[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  // Most starts find nothing to do; looking first spares them the lock (and a role without CREATE the attempt).
  const upToDate = await database.withConnection(
    'cannot be opened',
    async (client) => (await plan(client, database.name, migrations)).pending.length === 0,
  );
  if (upToDate) return [];

  return database.withConnection(
    'cannot be opened',
    async (client) => {
      // The statement timeout is for the bot's short queries; a migration may wait for another replica's.
      await client.query("SET LOCAL statement_timeout = '5min'");
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_KEY, database.schema ?? '']);
      if (database.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(database.schema)}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)',
      );
      const applied: number[] = [];
      for (const migration of (await plan(client, database.name, migrations)).pending) {
        try {
          await client.query(migration.sql.postgres);
        } catch (error) {
          const { message } = error as { message?: unknown };
          throw new Error(`migration ${migration.version} (${migration.description}) failed: ${String(message)}`, {
            cause: error,
          });
        }
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          migration.version,
          now().toISOString(),
        ]);
        applied.push(migration.version);
      }
      return applied;
    },
    { transaction: 'commit' },
  );
}

async function plan(client: PoolClient, name: string, migrations: readonly Migration[]) {
  const [{ tracked }] = (
    await client.query<{ tracked: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS tracked")
  ).rows as [{ tracked: boolean }];
  const applied = tracked
    ? (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version)
    : [];
  const result = planMigrations(applied, migrations);
  if (result.unknown.length > 0) {
    const newest = Math.max(...migrations.map((m) => m.version), 0);
    throw new StoreError(
      'incompatible',
      `Build-request database ${name} was migrated to version ${Math.max(...result.unknown)} by a newer release of ` +
        `image-builder-bot; this release knows versions up to ${newest}. Run the newer release, or point ` +
        'DATABASE_URL at another database or schema.',
    );
  }
  return result;
}

type Row = Record<string, unknown>;

const INSERT_REQUEST = `
  INSERT INTO build_requests (${ALL_COLUMNS.join(', ')})
  VALUES (${ALL_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING *`;

const BY_IDEMPOTENCY_KEY = 'SELECT * FROM build_requests WHERE idempotency_key = $1';

/** As in SQLite: `since` counts every request made since then, whatever became of it. */
const COUNT_FOR_REQUESTER = `
  SELECT count(*) FILTER (WHERE state IN ('submitting', 'tracking')) AS in_flight,
         count(*) FILTER (WHERE created_at >= $2) AS since
  FROM build_requests WHERE requester_id = $1`;

type CountRow = { in_flight: string; since: string };
const requesterCounts = (row: CountRow | undefined): RequesterCounts => ({
  inFlight: Number(row?.in_flight ?? 0),
  since: Number(row?.since ?? 0),
});

/** Runs one statement, on the pool or on a transaction's connection. */
type RunQuery = (text: string, values: unknown[]) => Promise<Row[]>;

/*
 * The WHERE repeats the partial index's (migration 4), whose order is the claim's: brand-new requests first (NULLS
 * FIRST), then the most overdue, then the oldest. SKIP LOCKED makes concurrent claims pass over each other's rows
 * instead of queueing behind them; under READ COMMITTED a row changed by a claim that committed meanwhile is
 * checked again against the WHERE, so a lease just taken by another owner is never taken twice. MATERIALIZED: the
 * rows are picked once, whatever the planner would like to do with the CTE.
 */
const CLAIM_DUE = `
  WITH due AS MATERIALIZED (
    SELECT id FROM build_requests
    WHERE state IN ('submitting', 'tracking')
      AND (next_poll_at IS NULL OR next_poll_at <= $3)
      AND (lease_owner = $1 OR lease_until IS NULL OR lease_until <= $3)
      AND id <> ALL ($5::text[])
    ORDER BY next_poll_at NULLS FIRST, created_at, seq
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  )
  UPDATE build_requests AS request SET lease_owner = $1, lease_until = $2
  FROM due WHERE request.id = due.id
  RETURNING request.*`;

/**
 * Inserts the request, or finds the row holding its idempotency key. The insert decides who wins on the key; when
 * it lost, it waited for the other transaction to commit, so that row can be read now.
 */
async function insertOrFind(
  run: RunQuery,
  request: NewBuildRequest,
): Promise<{ request: BuildRequest; created: boolean }> {
  const values = toColumns(newRow(request));
  const [inserted] = await run(
    INSERT_REQUEST,
    ALL_COLUMNS.map((column) => values[column]),
  );
  if (inserted) return { request: fromRow(inserted), created: true };
  const [existing] = await run(BY_IDEMPOTENCY_KEY, [request.idempotencyKey]);
  if (!existing) throw new Error(`Build request ${request.id} was neither inserted nor found`);
  return { request: fromRow(existing), created: false };
}

class PostgresStore implements Store {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(request: NewBuildRequest): Promise<{ request: BuildRequest; created: boolean }> {
    return insertOrFind((text, values) => this.db.query<Row>('cannot be written', text, values), request);
  }

  /**
   * One transaction under an advisory lock of the requester's (in this schema): a second submission of theirs, from
   * any replica, waits at the lock until the first has committed, and its count (a statement begun after the wait,
   * under READ COMMITTED) then includes the first's row.
   */
  async insertWithinLimits(
    request: NewBuildRequest,
    limits: RequesterLimits,
  ): Promise<{ request: BuildRequest; created: boolean } | { refused: string }> {
    const since = isoText(limits.since, 'since');
    return this.db.withConnection(
      'cannot be written',
      async (client) => {
        const run: RunQuery = async (text, values) => (await client.query<Row>(text, values)).rows;
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          REQUESTER_LOCK_KEY,
          `${this.db.schema ?? ''}:${request.requesterId}`,
        ]);
        if (request.idempotencyKey !== null) {
          const [existing] = await run(BY_IDEMPOTENCY_KEY, [request.idempotencyKey]);
          if (existing) return { request: fromRow(existing), created: false };
        }
        const [counts] = (await run(COUNT_FOR_REQUESTER, [request.requesterId, since])) as CountRow[];
        const refused = limits.refusal(requesterCounts(counts));
        if (refused !== undefined) return { refused };
        return insertOrFind(run, request);
      },
      { transaction: 'commit' },
    );
  }

  async getByIdempotencyKey(key: string): Promise<BuildRequest | undefined> {
    const [row] = await this.db.query<Row>('cannot be read', BY_IDEMPOTENCY_KEY, [key]);
    return row && fromRow(row);
  }

  async get(id: string): Promise<BuildRequest | undefined> {
    const [row] = await this.db.query<Row>('cannot be read', 'SELECT * FROM build_requests WHERE id = $1', [id]);
    return row && fromRow(row);
  }

  async update(id: string, patch: BuildRequestPatch, options: UpdateOptions = {}): Promise<BuildRequest> {
    checkPatch(patch);
    const owner = options.ifLeasedBy;
    if (owner !== undefined) checkOwner(owner);
    const values = toColumns(patch);
    const columns = Object.keys(values);
    const params: unknown[] = [id, ...columns.map((column) => values[column])];
    // The lease is checked by the statement itself, on the row it locks: it cannot change hands in between.
    let fence = '';
    if (owner !== undefined) {
      params.push(owner);
      fence = ` AND lease_owner = $${params.length}`;
    }
    const assignments = columns.map((column, index) => `${column} = $${index + 2}`).join(', ');
    const text =
      columns.length === 0
        ? `SELECT * FROM build_requests WHERE id = $1${fence}`
        : `UPDATE build_requests SET ${assignments} WHERE id = $1${fence} RETURNING *`;
    const [row] = await this.db.query<Row>('cannot be written', text, params);
    if (row) return fromRow(row);
    if (owner !== undefined && (await this.get(id))) throw leaseLost(id, owner);
    throw notFound(id);
  }

  async listUnfinished(): Promise<BuildRequest[]> {
    const rows = await this.db.query<Row>(
      'cannot be read',
      "SELECT * FROM build_requests WHERE state IN ('submitting', 'tracking') ORDER BY created_at, seq",
    );
    return rows.map(fromRow);
  }

  async countUnfinished(): Promise<number> {
    const [row] = await this.db.query<{ count: string }>(
      'cannot be read',
      "SELECT count(*) AS count FROM build_requests WHERE state IN ('submitting', 'tracking')",
    );
    return Number(row?.count ?? 0);
  }

  async listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, channelId, limit } = filter;
    checkLimit(limit);
    const rows = await this.db.query<Row>(
      'cannot be read',
      `SELECT * FROM build_requests WHERE requester_id = $1 OR channel_id = $2
       ORDER BY created_at DESC, seq DESC LIMIT $3`,
      [requesterId, channelId, limit],
    );
    return rows.map(fromRow);
  }

  async listNewest(filter: { requesterId?: string; visibleTo?: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, visibleTo, limit } = filter;
    checkLimit(limit);
    const [where, params] =
      requesterId !== undefined
        ? ['WHERE requester_id = $1', [requesterId]]
        : visibleTo !== undefined
          ? ["WHERE requester_id = $1 OR thread_channel_kind = 'public'", [visibleTo]]
          : ['', []];
    const rows = await this.db.query<Row>(
      'cannot be read',
      `SELECT * FROM build_requests ${where} ORDER BY created_at DESC, seq DESC LIMIT $${params.length + 1}`,
      [...params, limit],
    );
    return rows.map(fromRow);
  }

  async findByComposeId(composeId: string): Promise<BuildRequest | undefined> {
    // The first made, should a compose id ever be recorded twice.
    const [row] = await this.db.query<Row>(
      'cannot be read',
      'SELECT * FROM build_requests WHERE compose_id = $1 ORDER BY created_at, seq LIMIT 1',
      [composeId],
    );
    return row ? fromRow(row) : undefined;
  }

  /** As in SQLite: `since` counts every request made since then, whatever became of it. */
  async countForRequester(requesterId: string, since: Date): Promise<RequesterCounts> {
    const sinceText = isoText(since, 'since');
    const [counts] = await this.db.query<CountRow>('cannot be read', COUNT_FOR_REQUESTER, [requesterId, sinceText]);
    return requesterCounts(counts);
  }

  async listNeedingReminder(now: Date, withinMs: number): Promise<BuildRequest[]> {
    checkWindow(withinMs);
    const from = isoText(now, 'now');
    const until = isoText(new Date(now.getTime() + withinMs), 'now + withinMs');
    const rows = await this.db.query<Row>(
      'cannot be read',
      `SELECT * FROM build_requests
       WHERE state = 'done' AND status = 'success' AND reminder_ts IS NULL
         AND expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2
       ORDER BY expires_at, seq LIMIT ${EXPIRY_BATCH_SIZE}`,
      [from, until],
    );
    return rows.map(fromRow);
  }

  async listNewlyExpired(now: Date): Promise<BuildRequest[]> {
    const nowText = isoText(now, 'now');
    const rows = await this.db.query<Row>(
      'cannot be read',
      `SELECT * FROM build_requests
       WHERE state = 'done' AND status = 'success' AND expired_noted_at IS NULL
         AND expires_at IS NOT NULL AND expires_at <= $1
       ORDER BY expires_at, seq LIMIT ${EXPIRY_BATCH_SIZE}`,
      [nowText],
    );
    return rows.map(fromRow);
  }

  async getDefaults(userId: string, provider: string): Promise<Record<string, string> | undefined> {
    const [row] = await this.db.query<{ values_json: string }>(
      'cannot be read',
      'SELECT values_json FROM user_defaults WHERE user_id = $1 AND provider = $2',
      [userId, provider],
    );
    if (!row) return undefined;
    return flatStrings(JSON.parse(row.values_json), `The saved defaults of ${userId} for ${provider}`);
  }

  async saveDefaults(userId: string, provider: string, values: Record<string, string>, at: Date): Promise<void> {
    const valuesJson = JSON.stringify(flatStrings(values, `The defaults of ${userId} for ${provider}`));
    const updatedAt = isoText(at, 'at');
    await this.db.query(
      'cannot be written',
      `INSERT INTO user_defaults (user_id, provider, values_json, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, provider) DO UPDATE SET values_json = excluded.values_json, updated_at = excluded.updated_at`,
      [userId, provider, valuesJson, updatedAt],
    );
  }

  async clearDefaults(userId: string): Promise<number> {
    const removed = await this.db.query<{ user_id: string }>(
      'cannot be written',
      'DELETE FROM user_defaults WHERE user_id = $1 RETURNING user_id',
      [userId],
    );
    return removed.length;
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    const row = toAuditRow(event);
    await this.db.query(
      'cannot be written',
      `INSERT INTO audit_events (at, kind, actor_id, request_id, channel_id, detail_json)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.at, row.kind, row.actor_id, row.request_id, row.channel_id, row.detail_json],
    );
  }

  async listAudit(since: Date): Promise<AuditRecord[]> {
    const sinceText = isoText(since, 'since');
    // id breaks ties between events of the same millisecond: the order they were appended in.
    const rows = await this.db.query<AuditRow>(
      'cannot be read',
      `SELECT at, kind, actor_id, request_id, channel_id, detail_json FROM audit_events
       WHERE at >= $1 ORDER BY at, id`,
      [sinceText],
    );
    return rows.map(auditFromRow);
  }

  async claimDue(
    owner: string,
    now: Date,
    leaseMs: number,
    limit: number,
    options: ClaimDueOptions = {},
  ): Promise<BuildRequest[]> {
    const until = leaseEnd(owner, now, leaseMs);
    checkLimit(limit);
    const except = checkExcept(options.except);
    if (limit === 0) return [];
    const rows = await this.db.query<Row>('cannot be written', CLAIM_DUE, [
      owner,
      until,
      now.toISOString(),
      limit,
      except,
    ]);
    // RETURNING gives rows in no promised order.
    const order = (row: Row) => ({
      nextPollAt: row.next_poll_at === null ? null : (row.next_poll_at as Date).getTime(),
      createdAt: (row.created_at as Date).getTime(),
      insertion: Number(row.seq),
    });
    return rows.sort((a, b) => compareDue(order(a), order(b))).map(fromRow);
  }

  async claim(id: string, owner: string, now: Date, leaseMs: number): Promise<BuildRequest | undefined> {
    const until = leaseEnd(owner, now, leaseMs);
    const [row] = await this.db.query<Row>(
      'cannot be written',
      `UPDATE build_requests SET lease_owner = $2, lease_until = $3
       WHERE id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until IS NULL OR lease_until <= $4)
       RETURNING *`,
      [id, owner, until, now.toISOString()],
    );
    return row && fromRow(row);
  }

  async renewClaim(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    const until = leaseEnd(owner, now, leaseMs);
    const renewed = await this.db.query(
      'cannot be written',
      'UPDATE build_requests SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 RETURNING id',
      [id, owner, until],
    );
    return renewed.length > 0;
  }

  async releaseClaim(id: string, owner: string): Promise<void> {
    checkOwner(owner);
    await this.db.query(
      'cannot be written',
      'UPDATE build_requests SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2',
      [id, owner],
    );
  }

  async listLeaseOwners(): Promise<string[]> {
    const rows = await this.db.query<{ lease_owner: string }>(
      'cannot be read',
      'SELECT DISTINCT lease_owner FROM build_requests WHERE lease_owner IS NOT NULL ORDER BY lease_owner',
    );
    return rows.map((row) => row.lease_owner);
  }

  async releaseAllClaims(owner: string): Promise<number> {
    checkOwner(owner);
    const released = await this.db.query(
      'cannot be written',
      'UPDATE build_requests SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 RETURNING id',
      [owner],
    );
    return released.length;
  }

  /**
   * Its own row first: then the only wait is for a replica that is deleting it (this one was stale), which waits
   * for nothing, as the deletion skips the rows others hold (SKIP LOCKED); so two heartbeats never deadlock.
   * Rows skipped that way are stale, and the count leaves them out like the deleted ones.
   */
  async heartbeat(owner: string, now: Date, staleAfterMs: number): Promise<number> {
    const { seenAt, staleBefore } = heartbeatTimes(owner, now, staleAfterMs);
    return this.db.withConnection(
      'cannot be written',
      async (client) => {
        await client.query(
          `INSERT INTO replicas (id, last_seen) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen`,
          [owner, seenAt],
        );
        await client.query(
          `DELETE FROM replicas WHERE id IN (
             SELECT id FROM replicas WHERE last_seen < $1 AND id <> $2 FOR UPDATE SKIP LOCKED)`,
          [staleBefore, owner],
        );
        const { rows } = await client.query<{ live: string }>(
          'SELECT count(*) AS live FROM replicas WHERE last_seen >= $1',
          [staleBefore],
        );
        return Number(rows[0]?.live ?? 1);
      },
      { transaction: 'commit' },
    );
  }

  async retire(owner: string): Promise<void> {
    checkOwner(owner);
    await this.db.query('cannot be written', 'DELETE FROM replicas WHERE id = $1', [owner]);
  }

  async listReplicas(): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>('cannot be read', 'SELECT id FROM replicas');
    return rows.map((row) => row.id);
  }

  async purgeBefore(before: Date): Promise<PurgeCounts> {
    const beforeText = isoText(before, 'before');
    return this.db.withConnection(
      'cannot be written',
      async (client) => {
        const builds = await client.query(
          `DELETE FROM build_requests
           WHERE state IN ('done', 'rejected') AND finished_at < $1 AND (expires_at IS NULL OR expires_at < $1)`,
          [beforeText],
        );
        const auditEvents = await client.query('DELETE FROM audit_events WHERE at < $1', [beforeText]);
        return { builds: builds.rowCount ?? 0, auditEvents: auditEvents.rowCount ?? 0 };
      },
      { transaction: 'commit' },
    );
  }

  /**
   * A real write, rolled back: proves a connection can be had and the database may be written (a hot standby, or
   * a role without the right, fails here rather than at the next build).
   */
  async ping(): Promise<void> {
    await this.db.withConnection(
      'cannot be written',
      (client) =>
        client.query(
          'UPDATE schema_migrations SET applied_at = applied_at WHERE version = (SELECT max(version) FROM schema_migrations)',
        ),
      { transaction: 'rollback' },
    );
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}

/**
 * Whether pg failed because of the database or the connection, rather than because of a statement's mistake
 * (a syntax error, a constraint the caller broke), which is left as it is.
 */
function isDatabaseFailure(error: unknown): boolean {
  if (error instanceof DatabaseError) return reasonFor(error.code, error.message) !== undefined;
  // pg's other errors are about the connection (refused, reset, timed out); a TypeError or RangeError is a bug here.
  return error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError);
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
