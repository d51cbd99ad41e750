import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { PurgeCounts, RetentionPurge } from './store';

/*
 * RETENTION_DAYS: finished builds and audit events older than the retention period are deleted, at start and then on
 * a timer, and each purge is logged with its counts. Without the setting nothing is deleted. With several replicas
 * each purges on its own; the deletes are idempotent, so that costs nothing but a query.
 */

export interface RetentionOptions {
  store: RetentionPurge;
  clock: Clock;
  logger: Logger;
  /** How long finished builds and audit events are kept. */
  keepMs: number;
  /** How often to purge. */
  intervalMs: number;
}

export interface Retention {
  /** One purge now (tests, and at start); undefined when it failed (logged) or the purger has stopped. */
  runOnce(): Promise<PurgeCounts | undefined>;
  stop(): Promise<void>;
}

export function startRetention(options: RetentionOptions): Retention {
  const { store, clock, logger, keepMs } = options;
  let running: Promise<PurgeCounts | undefined> | undefined;
  let stopped = false;

  async function purge(): Promise<PurgeCounts> {
    const before = new Date(clock.now().getTime() - keepMs);
    const counts = await store.purgeBefore(before);
    logger.info(
      { builds: counts.builds, auditEvents: counts.auditEvents, before: before.toISOString(), retentionDays: keepMs / 86_400_000 },
      `retention: deleted ${counts.builds} finished builds and ${counts.auditEvents} audit events from before ${before.toISOString()}`,
    );
    return counts;
  }

  function runOnce(): Promise<PurgeCounts | undefined> {
    // After stop the store may be closed: nothing more is started.
    if (stopped) return running ?? Promise.resolve(undefined);
    running ??= purge()
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'retention: the purge failed; will try again');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const timer = setInterval(() => void runOnce(), options.intervalMs);
  timer.unref();
  void runOnce();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
