import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { startRounds, type Rounds } from './rounds';
import type { PurgeCounts, RetentionPurge } from '../store/store';

/*
 * RETENTION_DAYS: finished builds and audit events older than the retention period are deleted, at start and then on
 * a timer, and each purge is logged with its counts. Without the setting nothing is deleted. With several replicas
 * each purges on its own; the deletes are idempotent, so that costs nothing but a query.
 */

/** Retention is counted in days; purging every hour keeps nothing more than an hour past it. */
export const RETENTION_PURGE_INTERVAL_MS = 60 * 60 * 1000;

export interface RetentionOptions {
  store: RetentionPurge;
  clock: Clock;
  logger: Logger;
  /** How long finished builds and audit events are kept. */
  keepMs: number;
  /** How often to purge. */
  intervalMs: number;
}

/** `runOnce` purges now (tests, and at start); undefined when it failed (logged) or the purges have stopped. */
export type Retention = Rounds<PurgeCounts>;

export function startRetention(options: RetentionOptions): Retention {
  const { store, clock, logger, keepMs } = options;
  return startRounds({
    intervalMs: options.intervalMs,
    async round() {
      const before = new Date(clock.now().getTime() - keepMs);
      const counts = await store.purgeBefore(before);
      logger.info(
        {
          builds: counts.builds,
          auditEvents: counts.auditEvents,
          before: before.toISOString(),
          retentionDays: keepMs / 86_400_000,
        },
        `retention: deleted ${counts.builds} finished builds and ${counts.auditEvents} audit events from before ${before.toISOString()}`,
      );
      return counts;
    },
    onError: (error) => logger.warn({ err: error }, 'retention: the purge failed; will try again'),
  });
}
