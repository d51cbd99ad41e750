import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { startRounds } from './rounds';
import type { BuildRequest, BuildRequestStore, ExpiryQueries } from '../store/store';

/*
 * A request that waited for approval longer than the policy allows is handed back to the tracker to end, here too:
 * the same rounds, the same injected clock.
 *
 * AWS and GCP images are deleted by the service about 14 days after the build. Before that, the requester gets one
 * reminder in the build's thread; after it, the result message says the image is gone. Both are read from the
 * store at every round, so they survive restarts, and each is marked in the row once sent, so it is sent once.
 * With several replicas on one database, a row is leased (claim) before anything is posted for it and read again
 * under the lease, so two replicas never send the same reminder.
 */

export interface ExpiryProjection {
  /**
   * Posts the reminder reply and saves its ts (reminderTs). `sent` is false when there was nothing to remind of, or
   * Slack will never take it (an archived channel): the row is then marked so that it is not looked at again.
   */
  remind(request: BuildRequest): Promise<{ request: BuildRequest; sent: boolean }>;
  /** Re-renders the result message as expired and records it (expiredNotedAt). */
  noteExpired(request: BuildRequest): Promise<BuildRequest>;
}

/**
 * The watcher looks once every this many poll intervals: two indexed queries, and once a minute at the default pace
 * is plenty for a reminder days ahead.
 */
export const EXPIRY_SCAN_POLL_INTERVALS = 4;

export interface ExpiryWatcherOptions {
  store: ExpiryQueries & Pick<BuildRequestStore, 'claim' | 'releaseClaim' | 'expireApprovals'>;
  /** This replica's name in leases (the poller's). */
  owner: string;
  leaseMs: number;
  projection: ExpiryProjection;
  clock: Clock;
  logger: Logger;
  /** How long before the deletion the reminder goes out (EXPIRY_REMINDER_DAYS). */
  remindBeforeMs: number;
  intervalMs: number;
  onReminded?: (request: BuildRequest) => void;
  onExpired?: (request: BuildRequest) => void;
  /**
   * Requests nobody approved in time, handed back to the tracker to end (each to one replica only, the store's
   * statement deciding): wake it, and record them.
   */
  onApprovalsExpired?: (requests: readonly BuildRequest[]) => void;
}

export interface ExpiryWatcher {
  /** One round now (tests, and at start). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startExpiryWatcher(options: ExpiryWatcherOptions): ExpiryWatcher {
  const { store, projection, clock, logger } = options;

  /**
   * Works through everything due, batch after batch (the store answers a bounded batch). A request that fails is
   * logged and left for the next round, and never holds up the others; it is not fetched again in this round, so
   * a batch of nothing new ends the work, and so does the watcher stopping.
   */
  async function drain(
    list: () => Promise<BuildRequest[]>,
    handle: (request: BuildRequest) => Promise<void>,
    doing: string,
    stopped: () => boolean,
  ) {
    const attempted = new Set<string>();
    for (;;) {
      const batch = (await list()).filter((request) => !attempted.has(request.id));
      if (batch.length === 0) return;
      for (const request of batch) {
        if (stopped()) return;
        attempted.add(request.id);
        await handle(request).catch((error: unknown) =>
          logger.warn(
            { err: error, requestId: request.id, composeId: request.composeId },
            `${doing} failed; will try again`,
          ),
        );
      }
    }
  }

  /**
   * Runs `work` on the row as it is under this replica's lease, if it still needs it; another replica holding the
   * lease, or having done it since the list was read, means there is nothing to do here.
   */
  async function underLease(
    listed: BuildRequest,
    stillNeeded: (row: BuildRequest) => boolean,
    work: (row: BuildRequest) => Promise<void>,
  ) {
    const row = await store.claim(listed.id, options.owner, clock.now(), options.leaseMs);
    if (!row) return;
    try {
      if (stillNeeded(row)) await work(row);
    } finally {
      await store.releaseClaim(row.id, options.owner).catch(() => undefined);
    }
  }

  async function round(stopped: () => boolean) {
    const now = clock.now();
    const undecided = await store.expireApprovals(now);
    if (undecided.length > 0) {
      logger.info({ requestIds: undecided.map((r) => r.id) }, 'nobody approved these requests in time');
      options.onApprovalsExpired?.(undecided);
    }
    await drain(
      () => store.listNeedingReminder(now, options.remindBeforeMs),
      (listed) =>
        underLease(
          listed,
          (row) => row.reminderTs === null,
          async (row) => {
            const { request, sent } = await projection.remind(row);
            if (!sent) return;
            logger.info({ requestId: request.id, composeId: request.composeId }, 'expiry reminder sent');
            options.onReminded?.(request);
          },
        ),
      'sending an expiry reminder',
      stopped,
    );
    if (stopped()) return;
    await drain(
      () => store.listNewlyExpired(now),
      (listed) =>
        underLease(
          listed,
          (row) => row.expiredNotedAt === null,
          async (row) => {
            options.onExpired?.(await projection.noteExpired(row));
          },
        ),
      'noting an expired image',
      stopped,
    );
  }

  return startRounds({
    intervalMs: options.intervalMs,
    round,
    onError: (error) => logger.warn({ err: error }, 'expiry round failed; will try again'),
  });
}
