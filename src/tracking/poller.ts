import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { BuildRequest, BuildRequestStore } from './store';
import type { Tracker } from './tracker';

/*
 * Reads unfinished requests from the store — never from memory — so a restart resumes every build, and hands
 * each one that is due to the tracker. A request is worked on by one task at a time.
 */

export interface PollerOptions {
  store: BuildRequestStore;
  tracker: Tracker;
  clock: Clock;
  logger: Logger;
  /** How often the store is read for due work. */
  tickMs: number;
  /** Requests advanced at once. */
  concurrency?: number;
  /** Told how many requests are unfinished after each read of the store (metrics). */
  onScan?: (unfinished: number) => void;
  /** Told how late each request was advanced compared to when it was due (metrics). */
  onLag?: (lagMs: number) => void;
}

export interface Poller {
  /** Looks for due work now (a new request was just written). */
  wake(): void;
  /** Stops taking new work and waits for the requests in hand to finish their step. */
  stop(): Promise<void>;
  /** Resolves when nothing is in hand; for tests and shutdown. */
  idle(): Promise<void>;
}

export function startPoller(options: PollerOptions): Poller {
  const { store, tracker, clock, logger, tickMs } = options;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }
  const inHand = new Map<string, Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let scanning: Promise<void> | undefined;
  let rescan = false;

  const isDue = (request: BuildRequest) =>
    request.nextPollAt === null || request.nextPollAt.getTime() <= clock.now().getTime();
  const isUnfinished = (request: BuildRequest) => request.state === 'submitting' || request.state === 'tracking';

  /**
   * Advances the request as the store has it now. The listing it was picked from may be stale: a step that was in
   * hand when the list was read may have finished since (a submitting row that became tracking would otherwise
   * be submitted again), and waiting for a free slot takes time.
   */
  async function advanceCurrent(id: string): Promise<void> {
    const request = await store.get(id);
    if (request && isUnfinished(request) && isDue(request)) {
      if (request.nextPollAt) options.onLag?.(clock.now().getTime() - request.nextPollAt.getTime());
      await tracker.advance(request);
    }
  }

  async function scan(): Promise<void> {
    const unfinished = await store.listUnfinished();
    options.onScan?.(unfinished.length);
    const due = unfinished.filter((r) => !inHand.has(r.id) && isDue(r));
    // Oldest due first; the store already orders by age.
    for (const { id } of due) {
      while (inHand.size >= concurrency && !stopped) await Promise.race(inHand.values());
      if (stopped) return;
      if (inHand.has(id)) continue;
      const work = advanceCurrent(id)
        .catch((error: unknown) => logger.error({ err: error, requestId: id }, 'advancing a request failed'))
        .finally(() => inHand.delete(id));
      inHand.set(id, work);
    }
  }

  function runScan() {
    if (stopped) return;
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = scan()
      .catch((error: unknown) => logger.error({ err: error }, 'reading unfinished requests failed'))
      .finally(() => {
        scanning = undefined;
        if (rescan) {
          rescan = false;
          runScan();
        }
      });
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      runScan();
      schedule();
    }, tickMs);
    timer.unref?.();
  }

  runScan();
  schedule();

  async function idle() {
    while (scanning || inHand.size > 0) {
      await scanning;
      await Promise.all(inHand.values());
    }
  }

  return {
    wake: runScan,
    idle,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await idle();
    },
  };
}
