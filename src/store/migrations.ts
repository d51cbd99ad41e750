/*
 * The schema of the build-request store, as one numbered list shared by every database the store runs on.
 * A migration's number means the same change everywhere; each dialect spells it in its own SQL. Adding a
 * dialect to `SqlDialect` makes the compiler ask for that dialect's SQL in every migration, so the lists cannot
 * drift apart.
 *
 * Migrations are append-only: once released, a migration is never edited; a change is a new number.
 * Kysely's Migrator applies them (migrate.ts), each under the name of its number, in one transaction that holds a
 * lock making a second opener wait (SQLite's write lock, a PostgreSQL advisory lock), so that replicas starting at
 * once apply each migration once.
 */

export type SqlDialect = 'sqlite' | 'postgres';

export interface Migration {
  /** 1, 2, 3… without gaps; the order in which migrations are applied. */
  version: number;
  /** What the migration does, for logs and for whoever reads `schema_migrations`. */
  description: string;
  sql: Record<SqlDialect, string>;
}

/*
 * Dates are ISO-8601 text in UTC with milliseconds (`Date#toISOString`): readable by whoever opens the file with
 * the sqlite3 shell, understood by SQLite's date functions, and, being fixed-width, they sort chronologically
 * as text, so `ORDER BY created_at` needs no conversion. Milliseconds are all a JS Date carries anyway.
 *
 * There is deliberately no CHECK on `state`: SQLite cannot alter a constraint without rebuilding the table, and
 * the store already refuses to read a state it does not know.
 */
const createBuildRequestsSqlite = `
CREATE TABLE build_requests (
  id                 TEXT PRIMARY KEY NOT NULL,
  idempotency_key    TEXT,
  requester_id       TEXT NOT NULL,
  channel_id         TEXT NOT NULL,
  thread_channel_id  TEXT,
  response_url       TEXT,
  provider           TEXT NOT NULL,
  distribution       TEXT NOT NULL,
  architecture       TEXT NOT NULL,
  image_name         TEXT,
  share_summary      TEXT NOT NULL,
  compose_request    TEXT NOT NULL,
  state              TEXT NOT NULL,
  compose_id         TEXT,
  status             TEXT,
  progress_done      INTEGER,
  progress_total     INTEGER,
  final_image_status TEXT,
  rejection          TEXT,
  parent_ts          TEXT,
  status_ts          TEXT,
  result_ts          TEXT,
  rendered_parent    TEXT,
  rendered_status    TEXT,
  created_at         TEXT NOT NULL,
  submitted_at       TEXT,
  compose_created_at TEXT,
  finished_at        TEXT,
  expires_at         TEXT,
  next_poll_at       TEXT,
  poll_failures      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Unique, but many rows may have no key: SQLite (like PostgreSQL) treats NULLs as distinct here.
CREATE UNIQUE INDEX build_requests_idempotency_key ON build_requests (idempotency_key);
CREATE INDEX build_requests_state ON build_requests (state);
CREATE INDEX build_requests_requester_created ON build_requests (requester_id, created_at);
CREATE INDEX build_requests_channel_created ON build_requests (channel_id, created_at);
`;

/*
 * The team features: rebuilds, expiry reminders, remembered modal values and an audit log. Same conventions as
 * migration 1: ISO-8601 UTC text for dates, STRICT tables, JSON as text.
 *
 * The two expiry indexes are partial: each holds only the successful builds whose reminder (or expiry note) is
 * still to be done, so the expiry queries stay cheap however many builds have come and gone. `state` leads their
 * key although their WHERE already fixes it: without statistics (the bot never runs ANALYZE) SQLite prefers an
 * index that matches an equality, and would otherwise take `build_requests_state` and sort. A partial index is
 * used only when the query repeats its WHERE terms literally; the store's expiry queries do.
 */
const teamFeaturesSqlite = `
ALTER TABLE build_requests ADD COLUMN rebuilt_from TEXT;
ALTER TABLE build_requests ADD COLUMN reminder_ts TEXT;
ALTER TABLE build_requests ADD COLUMN expired_noted_at TEXT;

CREATE INDEX build_requests_awaiting_reminder ON build_requests (state, expires_at)
  WHERE state = 'done' AND status = 'success' AND reminder_ts IS NULL;
CREATE INDEX build_requests_awaiting_expiry_note ON build_requests (state, expires_at)
  WHERE state = 'done' AND status = 'success' AND expired_noted_at IS NULL;
-- The newest requests of everyone (App Home), read in order instead of sorting the whole table.
CREATE INDEX build_requests_created ON build_requests (created_at);

CREATE TABLE user_defaults (
  user_id     TEXT NOT NULL,
  provider    TEXT NOT NULL,
  values_json TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (user_id, provider)
) STRICT;

-- AUTOINCREMENT so that an id is never reused, even for the last event should one ever be deleted.
CREATE TABLE audit_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  kind        TEXT NOT NULL,
  actor_id    TEXT,
  request_id  TEXT,
  channel_id  TEXT,
  detail_json TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
`;

/*
 * PostgreSQL spells migration 1 the way it spells what SQLite has, with its own types: timestamptz for dates
 * (the store writes ISO-8601 UTC text into them and reads Dates back), bigint where SQLite's INTEGER is 64-bit,
 * JSON as text so it reads back byte for byte. SQLite's rowid breaks ties between requests created in the same
 * millisecond; PostgreSQL has no such thing, so `seq` records insertion order, and the ordered indexes end with it.
 * No CHECK on `state`, as in SQLite: both stores refuse to read a state they do not know.
 */
const createBuildRequestsPostgres = `
CREATE TABLE build_requests (
  id                 text PRIMARY KEY,
  seq                bigint GENERATED ALWAYS AS IDENTITY,
  idempotency_key    text,
  requester_id       text NOT NULL,
  channel_id         text NOT NULL,
  thread_channel_id  text,
  response_url       text,
  provider           text NOT NULL,
  distribution       text NOT NULL,
  architecture       text NOT NULL,
  image_name         text,
  share_summary      text NOT NULL,
  compose_request    text NOT NULL,
  state              text NOT NULL,
  compose_id         text,
  status             text,
  progress_done      bigint,
  progress_total     bigint,
  final_image_status text,
  rejection          text,
  parent_ts          text,
  status_ts          text,
  result_ts          text,
  rendered_parent    text,
  rendered_status    text,
  created_at         timestamptz NOT NULL,
  submitted_at       timestamptz,
  compose_created_at timestamptz,
  finished_at        timestamptz,
  expires_at         timestamptz,
  next_poll_at       timestamptz,
  poll_failures      bigint NOT NULL DEFAULT 0
);

-- NULLs are distinct in a unique index, so any number of requests may have no key.
CREATE UNIQUE INDEX build_requests_idempotency_key ON build_requests (idempotency_key);
CREATE INDEX build_requests_state ON build_requests (state);
CREATE INDEX build_requests_requester_created ON build_requests (requester_id, created_at, seq);
CREATE INDEX build_requests_channel_created ON build_requests (channel_id, created_at, seq);
`;

/* Migration 2 in PostgreSQL: the same columns, indexes and tables as in SQLite, in PostgreSQL's types. */
const teamFeaturesPostgres = `
ALTER TABLE build_requests
  ADD COLUMN rebuilt_from text,
  ADD COLUMN reminder_ts text,
  ADD COLUMN expired_noted_at timestamptz;

CREATE INDEX build_requests_awaiting_reminder ON build_requests (state, expires_at)
  WHERE state = 'done' AND status = 'success' AND reminder_ts IS NULL;
CREATE INDEX build_requests_awaiting_expiry_note ON build_requests (state, expires_at)
  WHERE state = 'done' AND status = 'success' AND expired_noted_at IS NULL;
CREATE INDEX build_requests_created ON build_requests (created_at, seq);

CREATE TABLE user_defaults (
  user_id     text NOT NULL,
  provider    text NOT NULL,
  values_json text NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (user_id, provider)
);

CREATE TABLE audit_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL,
  kind        text NOT NULL,
  actor_id    text,
  request_id  text,
  channel_id  text,
  detail_json text NOT NULL
);

CREATE INDEX audit_events_at ON audit_events (at);
`;

/*
 * Leases, so that several replicas can share one database and each unfinished request is advanced by one of them
 * at a time (see BuildRequestStore in store.ts). The claim query reads only unfinished requests, oldest first: the
 * partial index holds just those, however many finished builds pile up. Its WHERE is repeated word for word by
 * the stores' queries, as SQLite needs to use a partial index.
 */
const leasesSqlite = `
ALTER TABLE build_requests ADD COLUMN lease_owner TEXT;
ALTER TABLE build_requests ADD COLUMN lease_until TEXT;

CREATE INDEX build_requests_unfinished ON build_requests (created_at) WHERE state IN ('submitting', 'tracking');
`;

const leasesPostgres = `
ALTER TABLE build_requests
  ADD COLUMN lease_owner text,
  ADD COLUMN lease_until timestamptz;

CREATE INDEX build_requests_unfinished ON build_requests (created_at, seq) WHERE state IN ('submitting', 'tracking');
`;

/*
 * Replicas sharing one database, and the queries that serve them:
 * - `replicas`: one row per running replica (its lease-owner name) and when it last said it was alive. Each
 *   replica counts the live rows to take its share of budgets kept for the whole deployment (Image Builder's
 *   requests per second, Slack's pace), and removes the rows of replicas that stopped saying so.
 * - `build_requests_due`: claimDue takes brand-new requests first (no next_poll_at), then the most overdue; this
 *   index holds the unfinished requests in that order, so a claim reads the due ones and stops. SQLite and
 *   PostgreSQL put NULLs first in an ascending index as asked (SQLite always does, PostgreSQL by NULLS FIRST).
 * - `build_requests_lease_owner`: the few requests under a lease, by owner, for releasing every lease of a
 *   replica found dead; partial, so finished builds cost it nothing.
 */
const replicasSqlite = `
CREATE TABLE replicas (
  id        TEXT PRIMARY KEY NOT NULL,
  last_seen TEXT NOT NULL
) STRICT;

CREATE INDEX build_requests_due ON build_requests (next_poll_at, created_at)
  WHERE state IN ('submitting', 'tracking');
CREATE INDEX build_requests_lease_owner ON build_requests (lease_owner) WHERE lease_owner IS NOT NULL;
`;

const replicasPostgres = `
CREATE TABLE replicas (
  id        text PRIMARY KEY,
  last_seen timestamptz NOT NULL
);

CREATE INDEX build_requests_due ON build_requests (next_poll_at NULLS FIRST, created_at, seq)
  WHERE state IN ('submitting', 'tracking');
CREATE INDEX build_requests_lease_owner ON build_requests (lease_owner) WHERE lease_owner IS NOT NULL;
`;

/*
 * Who may see a build: the kind of conversation its thread is in, recorded when the thread is posted (`public`,
 * `private` or `dm`; NULL when not known, which counts as private), so App Home and `/image-builder status` decide
 * without asking Slack. The compose id index serves the status command's look-up of the build behind a compose.
 */
const threadChannelKindSqlite = `
ALTER TABLE build_requests ADD COLUMN thread_channel_kind TEXT;

CREATE INDEX build_requests_compose_id ON build_requests (compose_id);
`;

const threadChannelKindPostgres = `
ALTER TABLE build_requests ADD COLUMN thread_channel_kind text;

CREATE INDEX build_requests_compose_id ON build_requests (compose_id);
`;

/*
 * A build's Slack messages apart from its tracking state: the `ts` of each message the bot owns (the parent, the
 * status reply, the result, the expiry reminder) and what was last rendered into the edited ones live in
 * `build_messages`, one row per build (made with it, deleted with it), so that the tracking columns say only where
 * the build stands. Existing rows are carried across as they are.
 *
 * The reminder query now reads the messages' reminder_ts: its partial index (migration 2) keyed on a column that
 * moved gives way to one of every successful build by expiry, which the query's bounded window reads a slice of.
 * SQLite refuses to drop a column an index uses, hence the order.
 */
const messageColumns = 'parent_ts, status_ts, result_ts, reminder_ts, rendered_parent, rendered_status';
const dropMessageColumns = messageColumns
  .split(', ')
  .map((column) => `ALTER TABLE build_requests DROP COLUMN ${column};`)
  .join('\n');

const buildMessagesSqlite = `
CREATE TABLE build_messages (
  build_id        TEXT PRIMARY KEY NOT NULL REFERENCES build_requests (id) ON DELETE CASCADE,
  parent_ts       TEXT,
  status_ts       TEXT,
  result_ts       TEXT,
  reminder_ts     TEXT,
  rendered_parent TEXT,
  rendered_status TEXT
) STRICT;

INSERT INTO build_messages (build_id, ${messageColumns}) SELECT id, ${messageColumns} FROM build_requests;

DROP INDEX build_requests_awaiting_reminder;
CREATE INDEX build_requests_expiring ON build_requests (state, expires_at) WHERE state = 'done' AND status = 'success';
${dropMessageColumns}
`;

const buildMessagesPostgres = `
CREATE TABLE build_messages (
  build_id        text PRIMARY KEY REFERENCES build_requests (id) ON DELETE CASCADE,
  parent_ts       text,
  status_ts       text,
  result_ts       text,
  reminder_ts     text,
  rendered_parent text,
  rendered_status text
);

INSERT INTO build_messages (build_id, ${messageColumns}) SELECT id, ${messageColumns} FROM build_requests;

DROP INDEX build_requests_awaiting_reminder;
CREATE INDEX build_requests_expiring ON build_requests (state, expires_at) WHERE state = 'done' AND status = 'success';
${dropMessageColumns}
`;

/*
 * Orders: a blueprint order makes one build per image request, each its own row (polled, edited, expired like any
 * build), grouped under the order's first row, its lead (order_id = the lead's id; order_index 0 for the lead, then
 * 1, 2…; both NULL for a plain build). The blueprint built is kept in four columns, all NULL for a plain image.
 * Both rules are CHECKs: SQLite takes a CHECK on a column added by ALTER TABLE, and it may name the other columns.
 * The order index is partial, so plain builds, most rows, cost it nothing; `order_id = ?` implies its WHERE, which
 * is what SQLite needs to use it. Existing rows are plain builds: every new column NULL.
 */
const ordersSqlite = `
ALTER TABLE build_requests ADD COLUMN order_id TEXT;
ALTER TABLE build_requests ADD COLUMN order_index INTEGER
  CHECK ((order_id IS NULL) = (order_index IS NULL));
ALTER TABLE build_requests ADD COLUMN blueprint_id TEXT;
ALTER TABLE build_requests ADD COLUMN blueprint_name TEXT;
ALTER TABLE build_requests ADD COLUMN blueprint_version INTEGER;
ALTER TABLE build_requests ADD COLUMN blueprint_targets TEXT
  CHECK ((blueprint_id IS NULL) = (blueprint_name IS NULL)
     AND (blueprint_id IS NULL) = (blueprint_version IS NULL)
     AND (blueprint_id IS NULL) = (blueprint_targets IS NULL));

CREATE INDEX build_requests_order ON build_requests (order_id) WHERE order_id IS NOT NULL;
`;

const ordersPostgres = `
ALTER TABLE build_requests
  ADD COLUMN order_id text,
  ADD COLUMN order_index bigint,
  ADD COLUMN blueprint_id text,
  ADD COLUMN blueprint_name text,
  ADD COLUMN blueprint_version bigint,
  ADD COLUMN blueprint_targets text,
  ADD CONSTRAINT build_requests_order_place CHECK ((order_id IS NULL) = (order_index IS NULL)),
  ADD CONSTRAINT build_requests_blueprint_whole CHECK (
    (blueprint_id IS NULL) = (blueprint_name IS NULL)
    AND (blueprint_id IS NULL) = (blueprint_version IS NULL)
    AND (blueprint_id IS NULL) = (blueprint_targets IS NULL));

CREATE INDEX build_requests_order ON build_requests (order_id) WHERE order_id IS NOT NULL;
`;

/*
 * Launch settings: what a provider keeps for the commands it suggests (an EC2 key pair, regions to copy an AMI to),
 * which the compose request has no place for. JSON text; existing rows have none.
 */
const launchSettingsSqlite = `ALTER TABLE build_requests ADD COLUMN launch_settings TEXT;`;
const launchSettingsPostgres = `ALTER TABLE build_requests ADD COLUMN launch_settings text;`;

/*
 * Approvals: a request may wait for a person's yes (policy `approvals`). Why it waits, and what the decision must
 * check again, is one JSON text (`approval`); until when it waits, how it was decided, by whom, when and with what
 * reason are columns, and its message in the approvals channel (its ts, what it last showed) joins the build's other
 * messages. The partial index holds only the waiting requests, by expiry, for the expiry statement and the lists
 * of what waits; the store repeats its WHERE word for word. Existing rows never needed approval: every column NULL.
 */
const approvalsSqlite = `
ALTER TABLE build_requests ADD COLUMN approval TEXT;
ALTER TABLE build_requests ADD COLUMN approval_expires_at TEXT;
ALTER TABLE build_requests ADD COLUMN decision TEXT;
ALTER TABLE build_requests ADD COLUMN decided_by TEXT;
ALTER TABLE build_requests ADD COLUMN decided_at TEXT;
ALTER TABLE build_requests ADD COLUMN decision_reason TEXT;
ALTER TABLE build_messages ADD COLUMN approval_ts TEXT;
ALTER TABLE build_messages ADD COLUMN rendered_approval TEXT;

CREATE INDEX build_requests_awaiting_approval ON build_requests (approval_expires_at)
  WHERE state = 'awaiting-approval';
`;

const approvalsPostgres = `
ALTER TABLE build_requests
  ADD COLUMN approval text,
  ADD COLUMN approval_expires_at timestamptz,
  ADD COLUMN decision text,
  ADD COLUMN decided_by text,
  ADD COLUMN decided_at timestamptz,
  ADD COLUMN decision_reason text;
ALTER TABLE build_messages
  ADD COLUMN approval_ts text,
  ADD COLUMN rendered_approval text;

CREATE INDEX build_requests_awaiting_approval ON build_requests (approval_expires_at, seq)
  WHERE state = 'awaiting-approval';
`;

/*
 * Requests that register with Red Hat were kept with the organization's activation key in their compose request; the
 * bot now adds the key as it sends one (withActivationKey), and this takes it out of the rows written before.
 */
const activationKeysOutSqlite = `
UPDATE build_requests
SET compose_request = json_remove(compose_request, '$.customizations.subscription."activation-key"')
WHERE json_valid(compose_request)
  AND json_type(compose_request, '$.customizations.subscription."activation-key"') IS NOT NULL;
`;

const activationKeysOutPostgres = `
UPDATE build_requests
SET compose_request = (compose_request::jsonb #- '{customizations,subscription,activation-key}')::text
WHERE compose_request LIKE '%activation-key%'
  AND compose_request::jsonb #> '{customizations,subscription,activation-key}' IS NOT NULL;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'create build_requests',
    sql: { sqlite: createBuildRequestsSqlite, postgres: createBuildRequestsPostgres },
  },
  {
    version: 2,
    description: 'add rebuilds, expiry reminders, user_defaults and audit_events',
    sql: { sqlite: teamFeaturesSqlite, postgres: teamFeaturesPostgres },
  },
  {
    version: 3,
    description: 'add leases on unfinished build requests, for several replicas',
    sql: { sqlite: leasesSqlite, postgres: leasesPostgres },
  },
  {
    version: 4,
    description: 'add replicas (heartbeats), and indexes of due requests and of lease owners',
    sql: { sqlite: replicasSqlite, postgres: replicasPostgres },
  },
  {
    version: 5,
    description: 'add the kind of channel each thread is in, and an index of compose ids',
    sql: { sqlite: threadChannelKindSqlite, postgres: threadChannelKindPostgres },
  },
  {
    version: 6,
    description: "move each build's Slack message state (ts values, rendered text) to build_messages",
    sql: { sqlite: buildMessagesSqlite, postgres: buildMessagesPostgres },
  },
  {
    version: 7,
    description: 'add orders (several builds of one blueprint order) and the blueprint each build was made from',
    sql: { sqlite: ordersSqlite, postgres: ordersPostgres },
  },
  {
    version: 8,
    description: 'add the launch settings each build keeps for its suggested commands',
    sql: { sqlite: launchSettingsSqlite, postgres: launchSettingsPostgres },
  },
  {
    version: 9,
    description: 'add approvals: why a request waits for one, how it was decided, and its approvals message',
    sql: { sqlite: approvalsSqlite, postgres: approvalsPostgres },
  },
  {
    version: 10,
    description: 'take the activation key out of the compose requests kept with earlier builds',
    sql: { sqlite: activationKeysOutSqlite, postgres: activationKeysOutPostgres },
  },
];
