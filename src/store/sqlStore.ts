import { sql, type Insertable, type Updateable } from 'kysely';
import { BoundQueries } from './boundQueries';
import type { StoreDb, StoreDialect } from './dialect';
import {
  auditFromRow,
  byTable,
  checkExcept,
  checkClaimableState,
  checkLimit,
  checkOwner,
  checkPatch,
  checkWindow,
  companionRow,
  compareDue,
  EXPIRY_BATCH_SIZE,
  flatStrings,
  fromRow,
  heartbeatTimes,
  isoText,
  leaseEnd,
  leaseLost,
  MESSAGE_COLUMNS,
  newRow,
  notFound,
  StoreError,
  toAuditRow,
  toColumns,
} from './rows';
import type { BuildRequestsTable } from './schema';
import type {
  ApprovalVerdict,
  AuditEvent,
  AuditRecord,
  BuildRequest,
  BuildRequestPatch,
  ClaimDueOptions,
  NewBuildRequest,
  OrderCompanion,
  PurgeCounts,
  RequesterCounts,
  RequesterLimits,
  Store,
  UpdateOptions,
} from './store';

/*
 * The store, once, for SQLite and PostgreSQL: each statement is written here with Kysely and compiled for the
 * database at hand. What the databases do differently (opening, naming, explaining failures, claiming due requests)
 * is the dialect's (dialect.ts, sqlite.ts, postgres.ts).
 *
 * The state and status terms below are literals, not parameters, and repeat the partial indexes' WHERE word for word
 * (migrations 2 and 4): that is what lets SQLite use them.
 */
const UNFINISHED = sql<boolean>`state IN ('submitting', 'tracking')`;
const EXPIRING = sql<boolean>`state = 'done' AND status = 'success'`;
const AWAITING_EXPIRY_NOTE = sql<boolean>`state = 'done' AND status = 'success' AND expired_noted_at IS NULL`;
/** Waiting for approval: the partial index of migration 9, word for word. */
const AWAITING_APPROVAL = sql<boolean>`state = 'awaiting-approval'`;
/**
 * What the per-user limits count as in flight: a request waiting for approval holds its place, or anyone could queue
 * any number of requests behind an approver and have them all built at once when approved.
 */
const IN_FLIGHT = sql<boolean>`state IN ('awaiting-approval', 'submitting', 'tracking')`;
/** The row leads its order, or is a plain build (an order of one): what the per-user limits count. */
const PLACES_ORDER = sql<boolean>`(order_id IS NULL OR order_id = id)`;

/** Finished before `before`, and its image (when it expires) expired before it too: retention may forget it. */
const forgettable = (before: string) =>
  sql<boolean>`(state IN ('done', 'rejected') AND finished_at IS NOT NULL AND finished_at < ${before}
    AND (expires_at IS NULL OR expires_at < ${before}))`;

type Row = Record<string, unknown>;

/** A request over a limit, written to wait for approval instead, with the limit's reason among the reasons. */
function awaitingOverLimit(
  request: NewBuildRequest,
  reason: string,
  instead: NonNullable<RequesterLimits['waitInstead']>,
): NewBuildRequest {
  const approval = request.approval ?? instead.approval;
  return {
    ...request,
    approval: { ...approval, reasons: [...approval.reasons, reason] },
    approvalExpiresAt: request.approvalExpiresAt ?? instead.expiresAt,
  };
}
type Inserted = { request: BuildRequest; created: boolean };

export class SqlStore implements Store {
  private readonly order;
  /** The statements of every poll step, compiled once (boundQueries.ts says why). */
  private readonly bound = new BoundQueries();

  constructor(
    private readonly db: StoreDb,
    private readonly dialect: StoreDialect,
  ) {
    this.order = sql.ref(`build_requests.${dialect.insertionOrder}`);
  }

  /**
   * Requests, without their messages: `rows` and `withMessages` add those from build_messages (one row per build) by
   * primary key. Not a join: SQLite runs the join of two rows several times slower than both look-ups, and every
   * poll step reads its request back.
   */
  private selectRequests(db: StoreDb = this.db) {
    return db.selectFrom('build_requests').selectAll();
  }

  private async requestById(db: StoreDb, id: string): Promise<Row | undefined> {
    const row = await this.selectRequests(db).where('id', '=', id).executeTakeFirst();
    return row && (await this.withMessages(db, [row]))[0];
  }

  /** Rows a statement on build_requests returned, with their messages added. */
  private async withMessages(db: StoreDb, rows: Row[]): Promise<Row[]> {
    if (rows.length === 0) return rows;
    const messages = await db
      .selectFrom('build_messages')
      .selectAll()
      .where(
        'build_id',
        'in',
        rows.map((row) => row.id as string),
      )
      .execute();
    const byBuild = new Map(messages.map((m) => [m.build_id, m]));
    return rows.map((row) => ({ ...row, ...byBuild.get(row.id as string) }));
  }

  async insert(request: NewBuildRequest): Promise<Inserted> {
    const values = toColumns(newRow(request));
    return this.guard('cannot be written', () =>
      this.dialect.whileSubmitting(this.db, (db) =>
        db.transaction().execute((trx) => this.insertOrFind(trx, request, values)),
      ),
    );
  }

  /**
   * One transaction in which the requester's submissions take turns (SQLite: the write lock, taken at BEGIN;
   * PostgreSQL: an advisory lock of the requester's), so the count a second submission makes includes the first's row.
   */
  async insertWithinLimits(request: NewBuildRequest, limits: RequesterLimits): Promise<Inserted | { refused: string }> {
    const values = toColumns(newRow(request));
    const since = isoText(limits.since, 'since');
    return this.guard('cannot be written', () =>
      this.dialect.whileSubmitting(this.db, (db) =>
        db.transaction().execute(async (trx) => {
          await this.dialect.lockRequester(trx, request.requesterId);
          if (request.idempotencyKey !== null) {
            const existing = await this.byIdempotencyKey(trx, request.idempotencyKey);
            if (existing) return { request: fromRow(existing), created: false };
          }
          const refused = limits.refusal(await this.counts(trx, request.requesterId, since));
          if (refused === undefined) return this.insertOrFind(trx, request, values);
          if (!limits.waitInstead) return { refused };
          const waiting = awaitingOverLimit(request, refused, limits.waitInstead);
          return this.insertOrFind(trx, waiting, toColumns(newRow(waiting)));
        }),
      ),
    );
  }

  /** The insert itself decides who wins on the key, so a concurrent duplicate cannot slip in between. */
  private async insertOrFind(trx: StoreDb, request: NewBuildRequest, values: Row): Promise<Inserted> {
    const { request: requestColumns, messages } = byTable(values);
    const inserted = await trx
      .insertInto('build_requests')
      .values(requestColumns as unknown as Insertable<BuildRequestsTable>)
      .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) {
      await trx
        .insertInto('build_messages')
        .values({ ...messages, build_id: request.id })
        .execute();
      return { request: fromRow({ ...inserted, ...messages }), created: true };
    }
    const existing = await this.byIdempotencyKey(trx, request.idempotencyKey as string);
    if (!existing) throw new Error(`Build request ${request.id} was neither inserted nor found`);
    return { request: fromRow(existing), created: false };
  }

  private async byIdempotencyKey(db: StoreDb, key: string): Promise<Row | undefined> {
    const row = await db.selectFrom('build_requests').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    return row && (await this.withMessages(db, [row]))[0];
  }

  async get(id: string): Promise<BuildRequest | undefined> {
    const row = await this.guard('cannot be read', () => this.requestById(this.db, id));
    return row && fromRow(row);
  }

  async getByIdempotencyKey(key: string): Promise<BuildRequest | undefined> {
    const row = await this.guard('cannot be read', () => this.byIdempotencyKey(this.db, key));
    return row && fromRow(row);
  }

  /**
   * Each statement returns what it wrote, so an update reads back only what it did not touch. A change to the request
   * alone is one fenced statement and needs no transaction (the poller's every step); a change that touches messages
   * under a fence also writes the request row, in one transaction, so the lease cannot change hands in between, and
   * nothing is written when it has.
   */
  async update(id: string, patch: BuildRequestPatch, options: UpdateOptions = {}): Promise<BuildRequest> {
    checkPatch(patch);
    const owner = options.ifLeasedBy;
    if (owner !== undefined) checkOwner(owner);
    const { request, messages } = byTable(toColumns(patch));
    const touchesRequest = Object.keys(request).length > 0 || owner !== undefined;
    const touchesMessages = Object.keys(messages).length > 0;
    const row = await this.guard('cannot be written', async () => {
      if (!touchesMessages) return this.updateRequest(this.db, id, request, owner, { withMessages: true });
      if (!touchesRequest) {
        const changed = await this.updateMessages(this.db, id, messages);
        const requestRow = changed && (await this.selectRequests().where('id', '=', id).executeTakeFirst());
        return requestRow && { ...requestRow, ...changed };
      }
      return this.db.transaction().execute(async (trx) => {
        const changed = await this.updateRequest(trx, id, request, owner);
        const changedMessages = changed && (await this.updateMessages(trx, id, messages));
        return changedMessages && { ...changed, ...changedMessages };
      });
    });
    if (row) return fromRow(row);
    if (owner !== undefined && (await this.get(id))) throw leaseLost(id, owner);
    throw notFound(id);
  }

  async listOrder(orderId: string): Promise<BuildRequest[]> {
    return this.rows(() => this.orderRows(this.db, orderId));
  }

  /** Every row of an order has the lead's id as its order_id, the lead included; a plain build is found by its id. */
  private orderRows(db: StoreDb, orderId: string) {
    return this.selectRequests(db)
      .where((eb) => eb.or([eb('id', '=', orderId), eb('order_id', '=', orderId)]))
      .orderBy('order_index')
      .orderBy(this.order);
  }

  /**
   * The lead's write and the companions' inserts commit together: a step that stops in between leaves the order as
   * it was, and its retry (the companions' ids being the same) inserts each companion once.
   */
  async addToOrder(
    leadId: string,
    leadPatch: BuildRequestPatch,
    companions: readonly OrderCompanion[],
    options: UpdateOptions = {},
  ): Promise<BuildRequest[]> {
    checkPatch(leadPatch);
    const owner = options.ifLeasedBy;
    if (owner !== undefined) checkOwner(owner);
    const { request, messages } = byTable(toColumns(leadPatch));
    const rows = await this.guard('cannot be written', () =>
      this.db.transaction().execute(async (trx) => {
        const lead = await this.updateRequest(trx, leadId, request, owner);
        if (!lead) return undefined;
        if (Object.keys(messages).length > 0) await this.updateMessages(trx, leadId, messages);
        await this.insertCompanions(trx, fromRow(lead), companions);
        return this.withMessages(trx, await this.orderRows(trx, leadId).execute());
      }),
    );
    if (rows) return rows.map(fromRow);
    if (owner !== undefined && (await this.get(leadId))) throw leaseLost(leadId, owner);
    throw notFound(leadId);
  }

  /** Throws (rolling the transaction back) on a companion that does not fit; passes over those already there. */
  private async insertCompanions(trx: StoreDb, lead: BuildRequest, companions: readonly OrderCompanion[]) {
    if (lead.orderId !== lead.id) {
      throw new TypeError(`Build request ${lead.id} does not lead an order (its orderId is not its id)`);
    }
    if (companions.length === 0) return;
    const values = companions.map((companion) => byTable(toColumns(companionRow(lead, companion))).request);
    const inserted = await trx
      .insertInto('build_requests')
      .values(values as unknown as Insertable<BuildRequestsTable>[])
      .onConflict((conflict) => conflict.column('id').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0) return;
    await trx
      .insertInto('build_messages')
      .values(inserted.map(({ id }) => ({ build_id: id })))
      .execute();
  }

  /**
   * The request row after the change (with its messages, when asked), or undefined when it is missing or (fenced)
   * leased by someone else.
   */
  private async updateRequest(
    db: StoreDb,
    id: string,
    columns: Row,
    owner: string | undefined,
    options: { withMessages?: boolean } = {},
  ): Promise<Row | undefined> {
    const names = Object.keys(columns);
    const key = `request ${owner === undefined ? '' : 'fenced '}${options.withMessages ? 'messages ' : ''}${names.join(',')}`;
    const query = this.bound.bind(
      key,
      (placeholder) =>
        db
          .updateTable('build_requests')
          .set(
            names.length > 0
              ? (Object.fromEntries(names.map((name) => [name, placeholder(name)])) as Updateable<BuildRequestsTable>)
              : (eb) => ({ lease_owner: eb.ref('lease_owner') }),
          )
          .where('id', '=', placeholder('where id'))
          .$if(owner !== undefined, (q) => q.where('lease_owner', '=', placeholder('where owner')))
          .returningAll()
          .$if(options.withMessages === true, (q) =>
            q.returning((eb) =>
              MESSAGE_COLUMNS.map((column) =>
                eb
                  .selectFrom('build_messages')
                  .select(column)
                  .whereRef('build_id', '=', 'build_requests.id')
                  .as(column),
              ),
            ),
          )
          .compile(),
      { ...columns, 'where id': id, 'where owner': owner },
    );
    return (await db.executeQuery<Row>(query)).rows[0];
  }

  private async updateMessages(db: StoreDb, id: string, columns: Row): Promise<Row | undefined> {
    const names = Object.keys(columns);
    const query = this.bound.bind(
      `messages ${names.join(',')}`,
      (placeholder) =>
        db
          .updateTable('build_messages')
          .set(Object.fromEntries(names.map((name) => [name, placeholder(name)])))
          .where('build_id', '=', placeholder('where id'))
          .returningAll()
          .compile(),
      { ...columns, 'where id': id },
    );
    return (await db.executeQuery<Row>(query)).rows[0];
  }

  async listUnfinished(): Promise<BuildRequest[]> {
    return this.rows(() => this.selectRequests().where(UNFINISHED).orderBy('created_at').orderBy(this.order));
  }

  async countUnfinished(): Promise<number> {
    const row = await this.guard('cannot be read', () =>
      this.db
        .selectFrom('build_requests')
        .select((eb) => eb.fn.countAll().as('count'))
        .where(UNFINISHED)
        .executeTakeFirst(),
    );
    return Number(row?.count ?? 0);
  }

  async listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, channelId, limit } = filter;
    checkLimit(limit);
    return this.rows(() =>
      this.newestFirst(limit).where((eb) =>
        eb.or([eb('requester_id', '=', requesterId), eb('channel_id', '=', channelId)]),
      ),
    );
  }

  async listNewest(filter: { requesterId?: string; visibleTo?: string; limit: number }): Promise<BuildRequest[]> {
    const { requesterId, visibleTo, limit } = filter;
    checkLimit(limit);
    return this.rows(() => {
      if (requesterId !== undefined) return this.newestFirst(limit).where('requester_id', '=', requesterId);
      if (visibleTo === undefined) return this.newestFirst(limit);
      return this.newestFirst(limit).where((eb) =>
        eb.or([eb('requester_id', '=', visibleTo), eb('thread_channel_kind', '=', sql.lit('public'))]),
      );
    });
  }

  private newestFirst(limit: number) {
    return this.selectRequests().orderBy('created_at', 'desc').orderBy(this.order, 'desc').limit(limit);
  }

  /** The first made, should a compose id ever be recorded twice. */
  async findByComposeId(composeId: string): Promise<BuildRequest | undefined> {
    const [request] = await this.rows(() =>
      this.selectRequests().where('compose_id', '=', composeId).orderBy('created_at').orderBy(this.order).limit(1),
    );
    return request;
  }

  /**
   * `since` counts every request made since then, whatever became of it: policy limits count requests, not only
   * successful builds, so resubmitting a refused or failing request over and over still meets the limit. Both count
   * orders (store.ts): in flight, the distinct orders with an unfinished row; since, the leads and plain builds.
   */
  async countForRequester(requesterId: string, since: Date): Promise<RequesterCounts> {
    const sinceText = isoText(since, 'since');
    return this.guard('cannot be read', () => this.counts(this.db, requesterId, sinceText));
  }

  private async counts(db: StoreDb, requesterId: string, since: string): Promise<RequesterCounts> {
    const row = await db
      .selectFrom('build_requests')
      .select((eb) => [
        eb.fn
          .count(sql`coalesce(order_id, id)`)
          .distinct()
          .filterWhere(IN_FLIGHT)
          .as('in_flight'),
        eb.fn
          .countAll()
          .filterWhere((fb) => fb.and([fb('created_at', '>=', since), PLACES_ORDER]))
          .as('since'),
      ])
      .where('requester_id', '=', requesterId)
      .executeTakeFirst();
    return { inFlight: Number(row?.in_flight ?? 0), since: Number(row?.since ?? 0) };
  }

  async decideApproval(id: string, verdict: ApprovalVerdict): Promise<BuildRequest | undefined> {
    const [row] = await this.decide(
      { decision: verdict.decision, decided_by: verdict.by, decision_reason: verdict.reason ?? null },
      isoText(verdict.at, 'at'),
      { id },
    );
    return row && fromRow(row);
  }

  async expireApprovals(now: Date): Promise<BuildRequest[]> {
    const nowText = isoText(now, 'now');
    const rows = await this.decide({ decision: 'expired', decided_by: null, decision_reason: null }, nowText, {
      expiredBy: nowText,
    });
    return rows.map(fromRow);
  }

  /**
   * The one statement that ends a wait: conditional on the request still waiting, so that of decisions made at
   * once only one changes the row, and RETURNING tells each caller whether it was theirs.
   */
  private async decide(
    decision: { decision: string; decided_by: string | null; decision_reason: string | null },
    at: string,
    which: { id: string } | { expiredBy: string },
  ): Promise<Row[]> {
    return this.guard('cannot be written', async () => {
      const rows = await this.db
        .updateTable('build_requests')
        .set({ ...decision, decided_at: at, state: 'submitting', next_poll_at: null, poll_failures: 0 })
        .where(AWAITING_APPROVAL)
        .$if('id' in which, (q) => q.where('id', '=', (which as { id: string }).id))
        .$if('expiredBy' in which, (q) =>
          q.where('approval_expires_at', '<=', (which as { expiredBy: string }).expiredBy),
        )
        .returningAll()
        .execute();
      return this.withMessages(this.db, rows);
    });
  }

  async listAwaitingApproval(limit: number): Promise<BuildRequest[]> {
    checkLimit(limit);
    return this.rows(() =>
      this.selectRequests().where(AWAITING_APPROVAL).orderBy('created_at').orderBy(this.order).limit(limit),
    );
  }

  async listNeedingReminder(now: Date, withinMs: number): Promise<BuildRequest[]> {
    checkWindow(withinMs);
    const from = isoText(now, 'now');
    const until = isoText(new Date(now.getTime() + withinMs), 'now + withinMs');
    return this.rows(() =>
      this.expiring(EXPIRING)
        .where('id', 'in', (eb) => eb.selectFrom('build_messages').select('build_id').where('reminder_ts', 'is', null))
        .where('expires_at', '>', from)
        .where('expires_at', '<=', until),
    );
  }

  async listNewlyExpired(now: Date): Promise<BuildRequest[]> {
    const nowText = isoText(now, 'now');
    return this.rows(() => this.expiring(AWAITING_EXPIRY_NOTE).where('expires_at', '<=', nowText));
  }

  /** `expires_at IS NOT NULL` is implied by the ranges and said for the reader. */
  private expiring(awaiting: typeof EXPIRING) {
    return this.selectRequests()
      .where(awaiting)
      .where('expires_at', 'is not', null)
      .orderBy('expires_at')
      .orderBy(this.order)
      .limit(EXPIRY_BATCH_SIZE);
  }

  async getDefaults(userId: string, provider: string): Promise<Record<string, string> | undefined> {
    // Read on every command that opens a form, before its modal: compiled once (boundQueries.ts).
    const query = this.bound.bind(
      'defaults',
      (placeholder) =>
        this.db
          .selectFrom('user_defaults')
          .select('values_json')
          .where('user_id', '=', placeholder('user'))
          .where('provider', '=', placeholder('provider'))
          .compile(),
      { user: userId, provider },
    );
    const row = await this.guard(
      'cannot be read',
      async () => (await this.db.executeQuery<{ values_json: string }>(query)).rows[0],
    );
    if (!row) return undefined;
    return flatStrings(JSON.parse(row.values_json), `The saved defaults of ${userId} for ${provider}`);
  }

  async saveDefaults(userId: string, provider: string, values: Record<string, string>, at: Date): Promise<void> {
    const valuesJson = JSON.stringify(flatStrings(values, `The defaults of ${userId} for ${provider}`));
    const updatedAt = isoText(at, 'at');
    await this.guard('cannot be written', () =>
      this.db
        .insertInto('user_defaults')
        .values({ user_id: userId, provider, values_json: valuesJson, updated_at: updatedAt })
        .onConflict((conflict) =>
          conflict.columns(['user_id', 'provider']).doUpdateSet((eb) => ({
            values_json: eb.ref('excluded.values_json'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute(),
    );
  }

  async clearDefaults(userId: string): Promise<number> {
    const result = await this.guard('cannot be written', () =>
      this.db.deleteFrom('user_defaults').where('user_id', '=', userId).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    const row = toAuditRow(event);
    await this.guard('cannot be written', () => this.db.insertInto('audit_events').values(row).execute());
  }

  /** id breaks ties between events of the same millisecond: the order they were appended in. */
  async listAudit(since: Date): Promise<AuditRecord[]> {
    const sinceText = isoText(since, 'since');
    const rows = await this.guard('cannot be read', () =>
      this.db
        .selectFrom('audit_events')
        .select(['at', 'kind', 'actor_id', 'request_id', 'channel_id', 'detail_json'])
        .where('at', '>=', sinceText)
        .orderBy('at')
        .orderBy('id')
        .execute(),
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
    const state = checkClaimableState(options.state);
    const params = { owner, until, now: now.toISOString(), limit, except, ...(state ? { state } : {}) };
    const rows = await this.guard('cannot be written', async () =>
      this.withMessages(this.db, await this.dialect.claimDue(this.db, params)),
    );
    // RETURNING gives rows in no promised order.
    const order = (row: Row) => ({
      nextPollAt: row.next_poll_at === null ? null : new Date(row.next_poll_at as string | Date).getTime(),
      createdAt: new Date(row.created_at as string | Date).getTime(),
      insertion: Number(row.row_order),
    });
    return rows.sort((a, b) => compareDue(order(a), order(b))).map(fromRow);
  }

  async claim(id: string, owner: string, now: Date, leaseMs: number): Promise<BuildRequest | undefined> {
    const until = leaseEnd(owner, now, leaseMs);
    const nowText = now.toISOString();
    const [row] = await this.guard('cannot be written', () =>
      this.dialect.atomically(this.db, async (db) => {
        const claimed = await db
          .updateTable('build_requests')
          .set({ lease_owner: owner, lease_until: until })
          .where('id', '=', id)
          .where((eb) =>
            eb.or([
              eb('lease_owner', 'is', null),
              eb('lease_owner', '=', owner),
              eb('lease_until', 'is', null),
              eb('lease_until', '<=', nowText),
            ]),
          )
          .returningAll()
          .executeTakeFirst();
        return this.withMessages(db, claimed ? [claimed] : []);
      }),
    );
    return row && fromRow(row);
  }

  async renewClaim(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    const until = leaseEnd(owner, now, leaseMs);
    const result = await this.guard('cannot be written', () =>
      this.db
        .updateTable('build_requests')
        .set({ lease_until: until })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseClaim(id: string, owner: string): Promise<void> {
    checkOwner(owner);
    await this.guard('cannot be written', () =>
      this.db
        .updateTable('build_requests')
        .set({ lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute(),
    );
  }

  async listLeaseOwners(): Promise<string[]> {
    const rows = await this.guard('cannot be read', () =>
      this.db
        .selectFrom('build_requests')
        .select('lease_owner')
        .distinct()
        .where('lease_owner', 'is not', null)
        .orderBy('lease_owner')
        .execute(),
    );
    return rows.map((row) => row.lease_owner as string);
  }

  async releaseAllClaims(owner: string): Promise<number> {
    checkOwner(owner);
    const result = await this.guard('cannot be written', () =>
      this.db
        .updateTable('build_requests')
        .set({ lease_owner: null, lease_until: null })
        .where('lease_owner', '=', owner)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  /**
   * Its own row first: then, in PostgreSQL, the only wait is for a replica that is deleting it (this one was stale),
   * which waits for nothing, as the deletion skips the rows others hold (SKIP LOCKED); so two heartbeats never
   * deadlock. Rows skipped that way are stale, and the count leaves them out like the deleted ones.
   */
  async heartbeat(owner: string, now: Date, staleAfterMs: number): Promise<number> {
    const { seenAt, staleBefore } = heartbeatTimes(owner, now, staleAfterMs);
    return this.guard('cannot be written', () =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('replicas')
          .values({ id: owner, last_seen: seenAt })
          .onConflict((conflict) =>
            conflict.column('id').doUpdateSet((eb) => ({ last_seen: eb.ref('excluded.last_seen') })),
          )
          .execute();
        await trx
          .deleteFrom('replicas')
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('replicas')
              .select('id')
              .where('last_seen', '<', staleBefore)
              .where('id', '<>', owner)
              .$if(this.dialect.skipsLockedRows, (q) => q.forUpdate().skipLocked()),
          )
          .execute();
        const live = await trx
          .selectFrom('replicas')
          .select((eb) => eb.fn.countAll().as('live'))
          .where('last_seen', '>=', staleBefore)
          .executeTakeFirst();
        return Number(live?.live ?? 1);
      }),
    );
  }

  async retire(owner: string): Promise<void> {
    checkOwner(owner);
    await this.guard('cannot be written', () => this.db.deleteFrom('replicas').where('id', '=', owner).execute());
  }

  async listReplicas(): Promise<string[]> {
    const rows = await this.guard('cannot be read', () => this.db.selectFrom('replicas').select('id').execute());
    return rows.map((row) => row.id);
  }

  /**
   * The ISO texts compare in time order (SQLite), and PostgreSQL reads them as timestamps. Every row of an order has
   * its lead's id as order_id, so one look-up by the order index finds a row of the order that must stay.
   */
  async purgeBefore(before: Date): Promise<PurgeCounts> {
    const beforeText = isoText(before, 'before');
    return this.guard('cannot be written', () =>
      this.db.transaction().execute(async (trx) => {
        const builds = await trx
          .deleteFrom('build_requests')
          .where(forgettable(beforeText))
          .where((eb) =>
            eb.or([
              eb('order_id', 'is', null),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('build_requests as member')
                    .select(sql.lit(1).as('one'))
                    .whereRef('member.order_id', '=', 'build_requests.order_id')
                    .where(sql<boolean>`NOT ${forgettable(beforeText)}`),
                ),
              ),
            ]),
          )
          .executeTakeFirst();
        const audit = await trx.deleteFrom('audit_events').where('at', '<', beforeText).executeTakeFirst();
        return { builds: Number(builds.numDeletedRows), auditEvents: Number(audit.numDeletedRows) };
      }),
    );
  }

  /**
   * A real write, rolled back: proves the write lock (SQLite) or a connection (PostgreSQL) can be had and the
   * database may be written (a read-only file, a hot standby or a role without the right fails here rather than at
   * the next build). Being rolled back, it reaches no disk, so it cannot prove there is free space.
   */
  async ping(): Promise<void> {
    const damage = this.dialect.damage();
    if (damage !== undefined) throw new StoreError('unavailable', damage);
    await this.guard('cannot be written', () =>
      this.dialect.rolledBack(this.db, (db) =>
        sql`UPDATE schema_migrations SET applied_at = applied_at
            WHERE version = (SELECT max(version) FROM schema_migrations)`.execute(db),
      ),
    );
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private async rows(query: () => { execute(): Promise<Row[]> }): Promise<BuildRequest[]> {
    const rows = await this.guard('cannot be read', async () => this.withMessages(this.db, await query().execute()));
    return rows.map(fromRow);
  }

  /** Turns a failure of the database (not a mistake in a call) into a StoreError that names the database. */
  private async guard<T>(failure: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw this.dialect.failure(failure, error) ?? error;
    }
  }
}
