import { types } from 'node:util';
import type {
  ApprovalAsked,
  AuditEvent,
  AuditKind,
  AuditRecord,
  BlueprintRef,
  BuildRequest,
  BuildRequestPatch,
  ChannelKind,
  ClaimableState,
  NewBuildRequest,
  OrderCompanion,
  RequestState,
} from './store';

/*
 * What the SQLite and PostgreSQL stores share: how a request maps to columns, what they refuse, and their error.
 * Each store only says how its database is spoken to; the behaviour behind the Store interface lives here once.
 */

/**
 * - `not-found`: no request has that id.
 * - `unavailable`: the database cannot be reached, read or written (read-only, disk full, locked, down, timed out).
 * - `incompatible`: the database was migrated by a newer release than this one.
 * - `lease-lost`: a write was made on behalf of a lease this replica no longer holds (another replica took the
 *   request over); nothing was written.
 */
export type StoreErrorKind = 'not-found' | 'unavailable' | 'incompatible' | 'lease-lost';

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

export function isStoreError(error: unknown, kind?: StoreErrorKind): error is StoreError {
  return error instanceof StoreError && (kind === undefined || error.kind === kind);
}

export type ColumnKind = 'text' | 'integer' | 'date' | 'json';

/**
 * Every field of a request, its column and how it is stored; `blueprint`, one object kept in four columns, is in
 * BLUEPRINT_COLUMNS. The compiler insists that no field is left out.
 */
export const COLUMNS = {
  id: ['id', 'text'],
  orderId: ['order_id', 'text'],
  orderIndex: ['order_index', 'integer'],
  idempotencyKey: ['idempotency_key', 'text'],
  requesterId: ['requester_id', 'text'],
  channelId: ['channel_id', 'text'],
  threadChannelId: ['thread_channel_id', 'text'],
  threadChannelKind: ['thread_channel_kind', 'text'],
  responseUrl: ['response_url', 'text'],
  provider: ['provider', 'text'],
  distribution: ['distribution', 'text'],
  architecture: ['architecture', 'text'],
  imageName: ['image_name', 'text'],
  shareSummary: ['share_summary', 'text'],
  composeRequest: ['compose_request', 'text'],
  launchSettings: ['launch_settings', 'text'],
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
  approval: ['approval', 'json'],
  approvalExpiresAt: ['approval_expires_at', 'date'],
  decision: ['decision', 'text'],
  decidedBy: ['decided_by', 'text'],
  decidedAt: ['decided_at', 'date'],
  decisionReason: ['decision_reason', 'text'],
  approvalTs: ['approval_ts', 'text'],
  renderedApproval: ['rendered_approval', 'text'],
} as const satisfies Record<Exclude<keyof BuildRequest, 'blueprint'>, readonly [column: string, kind: ColumnKind]>;

/** The columns of a request's blueprint: all null (a plain image) or all set, which migration 7 checks too. */
export const BLUEPRINT_COLUMNS = {
  id: 'blueprint_id',
  name: 'blueprint_name',
  version: 'blueprint_version',
  targets: 'blueprint_targets',
} as const satisfies Record<keyof BlueprintRef, string>;

type Field = keyof BuildRequest;
type ColumnField = keyof typeof COLUMNS;

/** The columns kept in `build_messages` (the build's Slack messages) rather than in `build_requests`. */
export const MESSAGE_COLUMNS = [
  'parent_ts',
  'status_ts',
  'result_ts',
  'reminder_ts',
  'rendered_parent',
  'rendered_status',
  'approval_ts',
  'rendered_approval',
] as const;

const MESSAGE_COLUMN_SET: ReadonlySet<string> = new Set(MESSAGE_COLUMNS);

/** Column values split by the table that holds them. */
export function byTable(columns: Record<string, unknown>): {
  request: Record<string, unknown>;
  messages: Record<string, unknown>;
} {
  const request: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(columns)) {
    (MESSAGE_COLUMN_SET.has(column) ? messages : request)[column] = value;
  }
  return { request, messages };
}

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
  launchSettings: true,
  createdAt: true,
  rebuiltFrom: true,
  orderId: true,
  orderIndex: true,
  blueprint: true,
  approval: true,
  approvalExpiresAt: true,
};

const REQUEST_STATES: ReadonlySet<string> = new Set<RequestState>([
  'awaiting-approval',
  'submitting',
  'tracking',
  'rejected',
  'done',
]);
const CHANNEL_KINDS: ReadonlySet<string> = new Set<ChannelKind>(['public', 'private', 'dm']);

/** Refuses a patch that names a field requests do not have, or one that never changes. */
export function checkPatch(patch: BuildRequestPatch): void {
  for (const field of Object.keys(patch)) {
    if (!Object.hasOwn(COLUMNS, field) && field !== 'blueprint') {
      throw new TypeError(`Build requests have no field "${field}"`);
    }
    if (Object.hasOwn(IMMUTABLE_FIELDS, field)) throw new TypeError(`The ${field} of a build request never changes`);
  }
}

/**
 * A new request as first written: `submitting`, nothing else known yet. It is a plain build or the lead of an order
 * (its other images join through addToOrder, which checks the lead); a blueprint is given whole or not at all.
 */
export function newRow(request: NewBuildRequest): BuildRequest {
  const row = firstRow(request);
  if (row.orderId !== null && row.orderId !== row.id) {
    throw new TypeError(`Build request ${row.id} joins an order through addToOrder, not as a new request`);
  }
  checkOrderPlace(row);
  checkBlueprint(row.blueprint);
  return row;
}

/** An image of an order after its lead, as first written: what the whole order shares is the lead's. */
export function companionRow(lead: BuildRequest, companion: OrderCompanion): BuildRequest {
  const state = companion.state ?? 'submitting';
  if (state !== 'submitting' && state !== 'tracking') {
    throw new TypeError(`An image added to an order starts submitting or tracking, not ${String(state)}`);
  }
  const row: BuildRequest = {
    ...firstRow({
      ...lead,
      id: companion.id,
      idempotencyKey: null,
      rebuiltFrom: null,
      architecture: companion.architecture,
      imageName: companion.imageName,
      shareSummary: companion.shareSummary,
      composeRequest: companion.composeRequest,
    }),
    orderId: lead.id,
    orderIndex: companion.orderIndex,
    threadChannelId: lead.threadChannelId,
    threadChannelKind: lead.threadChannelKind,
    state,
    composeId: companion.composeId ?? null,
    submittedAt: companion.submittedAt ?? null,
  };
  checkOrderPlace(row);
  return row;
}

function firstRow(request: NewBuildRequest): BuildRequest {
  return {
    id: request.id,
    orderId: request.orderId ?? null,
    orderIndex: request.orderIndex ?? null,
    blueprint: request.blueprint ?? null,
    idempotencyKey: request.idempotencyKey,
    requesterId: request.requesterId,
    channelId: request.channelId,
    threadChannelId: null,
    threadChannelKind: null,
    responseUrl: request.responseUrl,
    provider: request.provider,
    distribution: request.distribution,
    architecture: request.architecture,
    imageName: request.imageName,
    shareSummary: request.shareSummary,
    composeRequest: request.composeRequest,
    launchSettings: request.launchSettings ?? null,
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
    approval: request.approval ?? null,
    approvalExpiresAt: request.approvalExpiresAt ?? null,
    decision: null,
    decidedBy: null,
    decidedAt: null,
    decisionReason: null,
    approvalTs: null,
    renderedApproval: null,
  };
}

/** The lead of an order is its place 0 and names itself; every other row of an order comes after it. */
function checkOrderPlace(row: Pick<BuildRequest, 'id' | 'orderId' | 'orderIndex'>): void {
  const { id, orderId, orderIndex } = row;
  if ((orderId === null) !== (orderIndex === null)) {
    throw new TypeError(`Build request ${id} needs both an orderId and an orderIndex, or neither`);
  }
  if (orderIndex === null) return;
  if (!Number.isSafeInteger(orderIndex) || orderIndex < 0) {
    throw new TypeError(`The orderIndex of build request ${id} must be a whole number ≥ 0, got ${orderIndex}`);
  }
  if ((orderId === id) !== (orderIndex === 0)) {
    throw new TypeError(`Build request ${id} is at place 0 of its order exactly when it leads it (orderId = its id)`);
  }
}

const BLUEPRINT_TARGETS: ReadonlySet<string> = new Set<BlueprintRef['targets']>(['blueprint', 'requester']);

function checkBlueprint(blueprint: BlueprintRef | null): void {
  if (blueprint === null) return;
  const { id, name, version, targets } = blueprint;
  if (typeof id !== 'string' || id === '' || typeof name !== 'string' || name === '') {
    throw new TypeError('A blueprint needs its id and its name');
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new TypeError(`The version of blueprint ${name} must be a whole number ≥ 0, got ${version}`);
  }
  if (!BLUEPRINT_TARGETS.has(targets)) {
    throw new TypeError(`The targets of blueprint ${name} are "blueprint" or "requester", got ${String(targets)}`);
  }
}

/**
 * The given fields as column values: dates as ISO-8601 text in UTC (what SQLite keeps, and what PostgreSQL reads
 * into a timestamptz without ambiguity). Fields set to undefined are left out.
 */
export function toColumns(fields: Partial<BuildRequest>): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (field === 'blueprint') {
      const blueprint = value as BlueprintRef | null;
      for (const [part, column] of Object.entries(BLUEPRINT_COLUMNS)) {
        columns[column] = blueprint === null ? null : blueprint[part as keyof BlueprintRef];
      }
      continue;
    }
    const [column, kind] = COLUMNS[field as ColumnField];
    columns[column] =
      value === null ? null : kind === 'date' ? isoText(value, field) : kind === 'json' ? JSON.stringify(value) : value;
  }
  return columns;
}

/** A date as stored: ISO-8601 text in UTC (see migrations.ts). Refuses what is not a valid Date. */
export function isoText(value: unknown, name: string): string {
  if (!types.isDate(value) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${name} must be a valid Date, got ${String(value)}`);
  }
  return value.toISOString();
}

/**
 * A request from a row of either database. Dates arrive as ISO text (SQLite) or Date (PostgreSQL); integers as
 * numbers (SQLite) or, for a PostgreSQL bigint, as decimal text. Columns that are not request fields (leases,
 * PostgreSQL's insertion sequence) are left out: they are the store's bookkeeping, not the request.
 */
export function fromRow(row: Record<string, unknown>): BuildRequest {
  const request: Record<string, unknown> = {};
  for (const [field, [column, kind]] of Object.entries(COLUMNS)) {
    const value = row[column];
    if (value === null || value === undefined) request[field] = null;
    else if (kind === 'date') request[field] = new Date(value as string | Date);
    else if (kind === 'integer') request[field] = Number(value);
    else if (kind === 'json') request[field] = JSON.parse(value as string) as ApprovalAsked;
    else request[field] = value;
  }
  if (!REQUEST_STATES.has(request.state as string)) {
    throw new Error(`Build request ${String(request.id)} has an unknown state "${String(request.state)}"`);
  }
  request.blueprint = blueprintFromRow(row, String(request.id));
  // A kind a newer release wrote is one this release cannot vouch for: not known, so private.
  if (!CHANNEL_KINDS.has(request.threadChannelKind as string)) request.threadChannelKind = null;
  return request as unknown as BuildRequest;
}

/** The blueprint of a row, null when its columns are (the database keeps them all null or all set). */
function blueprintFromRow(row: Record<string, unknown>, id: string): BlueprintRef | null {
  const { id: blueprintId, name, version, targets } = BLUEPRINT_COLUMNS;
  if (row[blueprintId] === null || row[blueprintId] === undefined) return null;
  if (!BLUEPRINT_TARGETS.has(row[targets] as string)) {
    throw new Error(`Build request ${id} has unknown blueprint targets "${String(row[targets])}"`);
  }
  return {
    id: row[blueprintId] as string,
    name: row[name] as string,
    version: Number(row[version]),
    targets: row[targets] as BlueprintRef['targets'],
  };
}

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
    'approval-requested': true,
    approved: true,
    denied: true,
    'approval-expired': true,
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
export function flatStrings(values: unknown, what: string): Record<string, string> {
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

export function checkLimit(limit: number): void {
  // SQLite reads a negative LIMIT as "no limit" and PostgreSQL refuses it; a caller asking for either has a bug.
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number ≥ 0, got ${limit}`);
}

export function checkWindow(withinMs: number): void {
  if (!Number.isFinite(withinMs) || withinMs < 0) {
    throw new RangeError(`withinMs must be a finite number ≥ 0, got ${withinMs}`);
  }
}

/** Checks the arguments of a claim and returns when the lease it takes ends, as stored. */
export function leaseEnd(owner: string, now: Date, leaseMs: number): string {
  checkOwner(owner);
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be a number > 0, got ${leaseMs}`);
  isoText(now, 'now');
  return isoText(new Date(now.getTime() + leaseMs), 'now + leaseMs');
}

/** The ids a claim must pass over: a list of text, as given or empty. */
export function checkExcept(except: readonly string[] | undefined): readonly string[] {
  if (except === undefined) return [];
  if (!Array.isArray(except) || except.some((id) => typeof id !== 'string')) {
    throw new TypeError('except must be a list of request ids');
  }
  return except as readonly string[];
}

/** The state a claim is narrowed to, if any: only the unfinished states the poller advances. */
export function checkClaimableState(state: ClaimableState | undefined): ClaimableState | undefined {
  if (state === undefined || state === 'submitting' || state === 'tracking') return state;
  throw new TypeError(`a claim takes only submitting or tracking requests, not ${String(state)}`);
}

/** Where a request stands in claimDue's order, in milliseconds; `insertion` breaks ties (rowid, seq). */
export interface DueOrder {
  nextPollAt: number | null;
  createdAt: number;
  insertion: number;
}

/** claimDue's order: brand-new requests (never polled) first, then the most overdue, then the oldest. */
export function compareDue(a: DueOrder, b: DueOrder): number {
  if (a.nextPollAt !== b.nextPollAt) {
    if (a.nextPollAt === null) return -1;
    if (b.nextPollAt === null) return 1;
    return a.nextPollAt - b.nextPollAt;
  }
  return a.createdAt - b.createdAt || a.insertion - b.insertion;
}

/** Checks the arguments of a heartbeat and returns, as stored, when it is and before when a replica is stale. */
export function heartbeatTimes(
  owner: string,
  now: Date,
  staleAfterMs: number,
): { seenAt: string; staleBefore: string } {
  checkOwner(owner);
  if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) {
    throw new RangeError(`staleAfterMs must be a number > 0, got ${staleAfterMs}`);
  }
  return {
    seenAt: isoText(now, 'now'),
    staleBefore: isoText(new Date(now.getTime() - staleAfterMs), 'now - staleAfterMs'),
  };
}

export function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner === '') throw new TypeError('A lease needs the name of its owner');
}

export function leaseLost(id: string, owner: string): StoreError {
  return new StoreError(
    'lease-lost',
    `Build request ${id} is no longer leased to ${owner}: another replica took it over, so this write was refused`,
  );
}

export function notFound(id: string): StoreError {
  return new StoreError('not-found', `There is no build request with id ${id}`);
}

/** The rows of the audit table, in both databases. */
export interface AuditRow {
  at: string | Date;
  kind: string;
  actor_id: string | null;
  request_id: string | null;
  channel_id: string | null;
  detail_json: string;
}

/** `detail` is kept as JSON, so it comes back as JSON carries it: a Date as its ISO text, no undefined values. */
export function toAuditRow(event: AuditEvent): AuditRow & { at: string } {
  if (!AUDIT_KINDS.has(event.kind)) throw new TypeError(`There is no audit event kind "${String(event.kind)}"`);
  if (!isPlainObject(event.detail)) {
    throw new TypeError(`The detail of an audit event must be an object, got ${describeValue(event.detail)}`);
  }
  return {
    at: isoText(event.at, 'at'),
    kind: event.kind,
    actor_id: event.actorId ?? null,
    request_id: event.requestId ?? null,
    channel_id: event.channelId ?? null,
    detail_json: JSON.stringify(event.detail),
  };
}

export function auditFromRow(row: AuditRow): AuditRecord {
  return {
    at: new Date(row.at),
    ...(AUDIT_KINDS.has(row.kind) ? { kind: row.kind as AuditKind } : { kind: 'unknown', recordedKind: row.kind }),
    actorId: row.actor_id,
    requestId: row.request_id,
    channelId: row.channel_id,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
  };
}
