import { MIGRATIONS } from '../../src/store/migrations';
import { MESSAGE_COLUMNS } from '../../src/store/rows';
import type { BuildRequest } from '../../src/store/store';

/*
 * Databases as earlier releases leave them, with rows with every column filled, Slack messages included. Upgrade
 * tests build them by hand on each database and open them with the store of this release.
 * - Release 5, before the split of message state (migration 6): migrations 1 to 5, recorded in its own ledger
 *   (schema_migrations) only.
 * - Release 6, today's, before orders (migration 7): migrations 1 to 6 applied by Kysely's Migrator, recorded in its
 *   ledger (kysely_migration) and in schema_migrations, and each build's messages in build_messages.
 */

export const RELEASE_5_MIGRATIONS = MIGRATIONS.filter((m) => m.version <= 5);
export const RELEASE_6_MIGRATIONS = MIGRATIONS.filter((m) => m.version <= 6);

type Row = Record<string, string | number | null>;

/** Every column build_requests had at version 5, for a finished build and one being tracked (lease held). */
export const RELEASE_5_ROWS: Row[] = [
  {
    id: 'finished-build',
    idempotency_key: 'V0FINISHED',
    requester_id: 'U012ALICE',
    channel_id: 'C012BUILDS',
    thread_channel_id: 'C012BUILDS',
    thread_channel_kind: 'public',
    response_url: 'https://hooks.slack.com/actions/T0/1/finished',
    provider: 'aws',
    distribution: 'rhel-9',
    architecture: 'x86_64',
    image_name: 'web-base',
    share_summary: 'AWS accounts 123456789012',
    compose_request: '{"distribution":"rhel-9","image_name":"web-base"}',
    state: 'done',
    compose_id: '8d6bbd4a-4d4e-4b0f-9a57-6f2f0f5b1f01',
    status: 'success',
    progress_done: 7,
    progress_total: 7,
    final_image_status: '{"status":"success","upload_status":{"type":"aws","status":"success"}}',
    rejection: null,
    parent_ts: '1740823200.000100',
    status_ts: '1740823200.000200',
    result_ts: '1740824700.000300',
    rendered_parent: '{"text":"parent: Ready"}',
    rendered_status: '{"text":"status: Ready"}',
    created_at: '2025-03-01T10:00:00.123Z',
    submitted_at: '2025-03-01T10:00:01.000Z',
    compose_created_at: '2025-03-01T10:00:01.500Z',
    finished_at: '2025-03-01T10:25:00.000Z',
    expires_at: '2025-03-15T10:00:01.500Z',
    next_poll_at: null,
    poll_failures: 2,
    rebuilt_from: 'an-earlier-build',
    reminder_ts: '1741946400.000400',
    expired_noted_at: '2025-03-15T10:05:00.000Z',
    lease_owner: null,
    lease_until: null,
  },
  {
    id: 'tracked-build',
    idempotency_key: 'V0TRACKED',
    requester_id: 'U034BOB',
    channel_id: 'C034OTHER',
    thread_channel_id: 'D034BOB',
    thread_channel_kind: 'dm',
    response_url: null,
    provider: 'gcp',
    distribution: 'rhel-10',
    architecture: 'aarch64',
    image_name: null,
    share_summary: 'Google accounts user:bob@example.com',
    compose_request: '{"distribution":"rhel-10"}',
    state: 'tracking',
    compose_id: '0b9f3a77-5c1e-4f7e-8a0e-2d2c9d3c4e02',
    status: 'building',
    progress_done: 3,
    progress_total: 7,
    final_image_status: null,
    rejection: null,
    parent_ts: '1740909600.000500',
    status_ts: '1740909600.000600',
    result_ts: null,
    rendered_parent: '{"text":"parent: in progress"}',
    rendered_status: '{"text":"status: Building — step 3 of 7"}',
    created_at: '2025-03-02T10:00:00.000Z',
    submitted_at: '2025-03-02T10:00:00.800Z',
    compose_created_at: '2025-03-02T10:00:01.000Z',
    finished_at: null,
    expires_at: null,
    next_poll_at: '2025-03-02T10:01:00.000Z',
    poll_failures: 0,
    rebuilt_from: null,
    reminder_ts: null,
    expired_noted_at: null,
    lease_owner: 'replica-before-the-upgrade',
    lease_until: '2025-03-02T10:02:00.000Z',
  },
];

const date = (text: string | number | null | undefined) =>
  text === null || text === undefined ? null : new Date(String(text));

/** What the store of this release reads back from a row above: every field, messages included; a plain build. */
export function expectedRequest(row: Row): BuildRequest {
  return {
    id: row.id as string,
    orderId: null,
    orderIndex: null,
    blueprint: null,
    launchSettings: null,
    idempotencyKey: row.idempotency_key as string,
    requesterId: row.requester_id as string,
    channelId: row.channel_id as string,
    threadChannelId: row.thread_channel_id as string,
    threadChannelKind: row.thread_channel_kind as BuildRequest['threadChannelKind'],
    responseUrl: row.response_url as string | null,
    provider: row.provider as string,
    distribution: row.distribution as string,
    architecture: row.architecture as string,
    imageName: row.image_name as string | null,
    shareSummary: row.share_summary as string,
    composeRequest: row.compose_request as string,
    state: row.state as BuildRequest['state'],
    composeId: row.compose_id as string,
    status: row.status as string,
    progressDone: row.progress_done as number,
    progressTotal: row.progress_total as number,
    finalImageStatus: row.final_image_status as string | null,
    rejection: row.rejection as string | null,
    parentTs: row.parent_ts as string,
    statusTs: row.status_ts as string,
    resultTs: row.result_ts as string | null,
    renderedParent: row.rendered_parent as string,
    renderedStatus: row.rendered_status as string,
    createdAt: date(row.created_at) as Date,
    submittedAt: date(row.submitted_at),
    composeCreatedAt: date(row.compose_created_at),
    finishedAt: date(row.finished_at),
    expiresAt: date(row.expires_at),
    nextPollAt: date(row.next_poll_at),
    pollFailures: row.poll_failures as number,
    rebuiltFrom: row.rebuilt_from as string | null,
    reminderTs: row.reminder_ts as string | null,
    expiredNotedAt: date(row.expired_noted_at),
    approval: null,
    approvalExpiresAt: null,
    decision: null,
    decidedBy: null,
    decidedAt: null,
    decisionReason: null,
    approvalTs: null,
    renderedApproval: null,
  };
}

/** An INSERT into `table` of the given columns, with `$1…` (PostgreSQL) or `?` (SQLite) placeholders, and its values. */
function insertInto(table: string, row: Row, placeholder: (index: number) => string) {
  const columns = Object.keys(row);
  return {
    text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => placeholder(i + 1)).join(', ')})`,
    values: Object.values(row),
  };
}

/** The INSERT of one row above into release 5's build_requests. */
export function insertRelease5Row(row: Row, placeholder: (index: number) => string) {
  return insertInto('build_requests', row, placeholder);
}

const MESSAGE_COLUMN_SET: ReadonlySet<string> = new Set(MESSAGE_COLUMNS);

/** The INSERTs of one row above into release 6's tables: the build in build_requests, its messages in build_messages. */
export function insertRelease6Row(row: Row, placeholder: (index: number) => string) {
  const request = Object.fromEntries(Object.entries(row).filter(([column]) => !MESSAGE_COLUMN_SET.has(column)));
  const messages = Object.fromEntries(Object.entries(row).filter(([column]) => MESSAGE_COLUMN_SET.has(column)));
  return [
    insertInto('build_requests', request, placeholder),
    insertInto('build_messages', { build_id: row.id as string, ...messages }, placeholder),
  ];
}

/**
 * Release 6's two ledgers, in PostgreSQL, as its Migrator left them (the Migrator makes its lock table itself).
 * SQLite tests apply RELEASE_6_MIGRATIONS with applySqliteMigrations, release 6's own code path.
 */
export const RELEASE_6_LEDGERS_POSTGRES = `
CREATE TABLE kysely_migration (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL);
INSERT INTO kysely_migration SELECT lpad(v::text, 4, '0'), '2025-04-01T00:00:00.000Z' FROM generate_series(1, 6) v;
CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);
INSERT INTO schema_migrations SELECT v, '2025-04-01T00:00:00Z' FROM generate_series(1, 6) v;
`;
