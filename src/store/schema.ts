import type { ColumnType } from 'kysely';

/*
 * The tables as the query builder sees them. Both databases are described at once: a date is written as ISO-8601
 * text (see migrations.ts) and read back as that text (SQLite) or as a Date (PostgreSQL's timestamptz); a PostgreSQL
 * bigint reads back as decimal text. rows.ts turns either into the app's types.
 */

type Text = string;
type NullableText = string | null;
type Timestamp = ColumnType<string | Date, string, string>;
type NullableTimestamp = ColumnType<string | Date | null, string | null, string | null>;
type Integer = ColumnType<number | string, number, number>;
type NullableInteger = ColumnType<number | string | null, number | null, number | null>;

export interface BuildRequestsTable {
  id: Text;
  idempotency_key: NullableText;
  requester_id: Text;
  channel_id: Text;
  thread_channel_id: NullableText;
  thread_channel_kind: NullableText;
  response_url: NullableText;
  provider: Text;
  distribution: Text;
  architecture: Text;
  image_name: NullableText;
  share_summary: Text;
  compose_request: Text;
  state: Text;
  compose_id: NullableText;
  status: NullableText;
  progress_done: NullableInteger;
  progress_total: NullableInteger;
  final_image_status: NullableText;
  rejection: NullableText;
  created_at: Timestamp;
  submitted_at: NullableTimestamp;
  compose_created_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  next_poll_at: NullableTimestamp;
  poll_failures: ColumnType<number | string, number | undefined, number>;
  rebuilt_from: NullableText;
  expired_noted_at: NullableTimestamp;
  lease_owner: NullableText;
  lease_until: NullableTimestamp;
  /** Migration 7: the order a build belongs to, and the blueprint it was made from (all four null or all set). */
  order_id: NullableText;
  order_index: NullableInteger;
  blueprint_id: NullableText;
  blueprint_name: NullableText;
  blueprint_version: NullableInteger;
  blueprint_targets: NullableText;
  /** Migration 8: the provider's launch settings, as JSON text. */
  launch_settings: NullableText;
  /** Migration 9: why a request waits for approval (JSON), until when, and how it was decided. */
  approval: NullableText;
  approval_expires_at: NullableTimestamp;
  decision: NullableText;
  decided_by: NullableText;
  decided_at: NullableTimestamp;
  decision_reason: NullableText;
}

/** A build's Slack messages: one row per build, made with it and deleted with it (migration 6). */
export interface BuildMessagesTable {
  build_id: Text;
  parent_ts: NullableText;
  status_ts: NullableText;
  result_ts: NullableText;
  reminder_ts: NullableText;
  rendered_parent: NullableText;
  rendered_status: NullableText;
  /** Migration 9: the request’s message in the approvals channel. */
  approval_ts: NullableText;
  rendered_approval: NullableText;
}

export interface UserDefaultsTable {
  user_id: Text;
  provider: Text;
  values_json: Text;
  updated_at: Timestamp;
}

export interface AuditEventsTable {
  id: ColumnType<number | string, never, never>;
  at: Timestamp;
  kind: Text;
  actor_id: NullableText;
  request_id: NullableText;
  channel_id: NullableText;
  detail_json: Text;
}

export interface ReplicasTable {
  id: Text;
  last_seen: Timestamp;
}

/** The record earlier releases kept of the migrations applied, still kept for them (see migrate.ts). */
export interface SchemaMigrationsTable {
  version: Integer;
  applied_at: Timestamp;
}

export interface StoreSchema {
  build_requests: BuildRequestsTable;
  build_messages: BuildMessagesTable;
  user_defaults: UserDefaultsTable;
  audit_events: AuditEventsTable;
  replicas: ReplicasTable;
  schema_migrations: SchemaMigrationsTable;
}
