import { sql, type Kysely } from 'kysely';
import type { MigrationTarget } from './migrate';
import type { SqlDialect } from './migrations';
import type { StoreError } from './rows';
import type { StoreSchema } from './schema';
import type { ClaimableState } from './store';

/*
 * What the one store (sqlStore.ts) needs of each database beyond the SQL they share: how the database is named and
 * its failures explained, how a writer waits for another, and — the one place where statements differ by dialect —
 * the claims that lease due requests, which lean on what each database has for concurrent writers (SQLite's single
 * write lock and its partial-index hint, PostgreSQL's SKIP LOCKED).
 */

export type StoreDb = Kysely<StoreSchema>;

export interface ClaimDueParams {
  owner: string;
  /** When the lease ends, and now, as stored (ISO text). */
  until: string;
  now: string;
  limit: number;
  except: readonly string[];
  /** Only requests in this state, when given. */
  state?: ClaimableState;
}

/** The claim's extra condition for `state`, or nothing. */
const inState = (state: ClaimableState | undefined) => (state ? sql`AND state = ${state}` : sql``);

export interface StoreDialect {
  kind: SqlDialect;
  /** The database as messages name it: the file, or the URL without its secrets. */
  name: string;
  /** The column that keeps insertion order, which breaks ties between rows of the same millisecond. */
  insertionOrder: 'rowid' | 'seq';
  /** A StoreError naming the database for a failure of the database itself; undefined for a mistake in a call. */
  failure(failure: string, error: unknown): StoreError | undefined;
  /** Runs a submission's write (SQLite waits longer for a lock then: Slack is waiting for the answer). */
  whileSubmitting<T>(db: StoreDb, work: (db: StoreDb) => Promise<T>): Promise<T>;
  /** Readiness: why the database cannot serve though it opened (SQLite: damage found at start), if it cannot. */
  damage(): string | undefined;
  /** Runs `work` in a transaction that is then rolled back, whatever `work` did (the readiness probe). */
  rolledBack(db: StoreDb, work: (db: StoreDb) => Promise<unknown>): Promise<void>;
  migration: MigrationTarget;

  /** Leases the due requests of claimDue (store.ts), returning their rows with `row_order`, insertion order. */
  claimDue(db: StoreDb, params: ClaimDueParams): Promise<Record<string, unknown>[]>;
  /** Runs a claim's read-and-write so that no other writer comes in between. */
  atomically<T>(db: StoreDb, work: (db: StoreDb) => Promise<T>): Promise<T>;
  /** Within a submission's transaction: makes a second submission of the same requester wait until it ends. */
  lockRequester(trx: StoreDb, requesterId: string): Promise<void>;
  /** Whether row locks can be skipped (FOR UPDATE SKIP LOCKED), which only PostgreSQL has. */
  skipsLockedRows: boolean;
}

/*
 * ─── The claim statements, one per dialect ──────────────────────────────────────────────────────────────────────
 * Both take brand-new requests first (no next_poll_at), then the most overdue, then the oldest; both repeat the WHERE
 * of the partial index `build_requests_due` (migration 4) word for word, as SQLite needs to use a partial index.
 */

/**
 * SQLite: one UPDATE in an IMMEDIATE transaction, so a second process waits (busy timeout) instead of claiming
 * from a snapshot the first is about to change. Without statistics SQLite would rather read `build_requests_state`
 * (an equality) and sort every unfinished row, hence INDEXED BY: the index holds the unfinished rows in the claim's
 * order, so the claim reads the due ones and stops at the limit. Ascending, SQLite puts NULLs first; NULLS FIRST
 * says so for the reader. Text comparison of the fixed-width ISO dates is chronological.
 */
export function claimDueSqlite(db: StoreDb, p: ClaimDueParams) {
  return db.transaction().execute(
    async (trx) =>
      (
        await sql<Record<string, unknown>>`
          UPDATE build_requests SET lease_owner = ${p.owner}, lease_until = ${p.until}
          WHERE rowid IN (
            SELECT rowid FROM build_requests INDEXED BY build_requests_due
            WHERE state IN ('submitting', 'tracking')
              AND (next_poll_at IS NULL OR next_poll_at <= ${p.now})
              AND (lease_owner = ${p.owner} OR lease_until IS NULL OR lease_until <= ${p.now})
              AND id NOT IN (SELECT value FROM json_each(${JSON.stringify(p.except)}))
              ${inState(p.state)}
            ORDER BY next_poll_at NULLS FIRST, created_at, rowid LIMIT ${p.limit})
          RETURNING *, rowid AS row_order`.execute(trx)
      ).rows,
  );
}

/**
 * PostgreSQL: SKIP LOCKED makes concurrent claims pass over each other's rows instead of queueing behind them;
 * under READ COMMITTED a row changed by a claim that committed meanwhile is checked again against the WHERE, so a
 * lease just taken by another owner is never taken twice. MATERIALIZED: the rows are picked once, whatever the
 * planner would like to do with the CTE.
 */
export async function claimDuePostgres(db: StoreDb, p: ClaimDueParams) {
  const { rows } = await sql<Record<string, unknown>>`
    WITH due AS MATERIALIZED (
      SELECT id FROM build_requests
      WHERE state IN ('submitting', 'tracking')
        AND (next_poll_at IS NULL OR next_poll_at <= ${p.now})
        AND (lease_owner = ${p.owner} OR lease_until IS NULL OR lease_until <= ${p.now})
        AND id <> ALL (${[...p.except]}::text[])
        ${inState(p.state)}
      ORDER BY next_poll_at NULLS FIRST, created_at, seq
      LIMIT ${p.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE build_requests AS request SET lease_owner = ${p.owner}, lease_until = ${p.until}
    FROM due WHERE request.id = due.id
    RETURNING request.*, request.seq AS row_order`.execute(db);
  return rows;
}
