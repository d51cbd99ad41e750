import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { BuildRequest, ExpiryQueries } from './store';

/*
 * AWS and GCP images are deleted by the service about 14 days after the build. Before that, the requester gets one
 * reminder in the build's thread; after it, the result message says the image is gone. Both are read from the
 * store at every round, so they survive restarts, and each is marked in the row once sent, so it is sent once.
 */

export interface ExpiryProjection {
  /** Posts the reminder reply and saves its ts (reminderTs). */
  remind(request: BuildRequest): Promise<BuildRequest>;
  /** Re-renders the result message as expired and records it (expiredNotedAt). */
  noteExpired(request: BuildRequest): Promise<BuildRequest>;
}

export interface ExpiryWatcherOptions {
  store: ExpiryQueries;
  projection: ExpiryProjection;
  clock: Clock;
  logger: Logger;
  /** How long before the deletion the reminder goes out (EXPIRY_REMINDER_DAYS). */
  remindBeforeMs: number;
  intervalMs: number;
  onReminded?: (request: BuildRequest) => void;
  onExpired?: (request: BuildRequest) => void;
}

export interface ExpiryWatcher {
  /** One round now (tests, and at start). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

export function startExpiryWatcher(options: ExpiryWatcherOptions): ExpiryWatcher {
  const { store, projection, clock, logger } = options;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function round() {
    const now = clock.now();
    for (const request of await store.listNeedingReminder(now, options.remindBeforeMs)) {
      if (stopped) return;
      const row = await projection.remind(request);
      logger.info({ requestId: row.id, composeId: row.composeId }, 'expiry reminder sent');
      options.onReminded?.(row);
    }
    for (const request of await store.listNewlyExpired(now)) {
      if (stopped) return;
      const row = await projection.noteExpired(request);
      options.onExpired?.(row);
    }
  }

  function runOnce(): Promise<void> {
    running ??= round()
      .catch((error: unknown) => logger.warn({ err: error }, 'expiry round failed; will try again'))
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
