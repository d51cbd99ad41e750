/*
 * A global budget of requests per second to Image Builder, shared by everything one process sends (polls, submits,
 * lists, token refreshes). The service publishes no limit, so the budget is ours to keep it polite; waiting callers
 * are served in arrival order, so no compose is starved while a burst of others is polled.
 *
 * The rate may change while the process runs: with several replicas, each takes its share of the deployment's
 * budget, and the share changes as replicas come and go. A change applies to the callers already waiting too,
 * still in arrival order.
 *
 * Ours, not a library's: p-queue's rate (interval, intervalCap) is fixed when the queue is made, so a new share
 * would not reach the callers already waiting. Bottleneck could (minTime with updateSettings), but it is no longer
 * maintained (2.19.5, from 2019, is its last release), and ours is sixty lines.
 */

export interface RequestBudget {
  /** Resolves when one more request may be sent. */
  take(): Promise<void>;
}

export interface AdjustableRequestBudget extends RequestBudget {
  /** The current rate. */
  readonly perSecond: number;
  /**
   * Changes the rate from now on, for the callers already waiting as well. Without an explicit `burst`, the burst
   * follows the rate (one second's worth).
   */
  setPerSecond(perSecond: number): void;
}

export function createRequestBudget(options: {
  perSecond: number;
  /** Requests that may go at once after a quiet spell; one second's worth by default. */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}): AdjustableRequestBudget {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let perSecond = checkRate(options.perSecond);
  let intervalMs = 1000 / perSecond;
  const burstFor = (rate: number) => Math.max(1, options.burst ?? Math.ceil(rate));
  let burst = burstFor(perSecond);
  // When the last request went, on a virtual clock that advances one interval per request: the same as a token
  // bucket, without a timer. Unused capacity accumulates only up to the burst.
  let lastAt = now() - burst * intervalMs;
  const waiting: Array<() => void> = [];
  let serving = false;

  /**
   * Lets the waiting callers go, first come first served, one interval apart. It sleeps until the first one's
   * turn and then works the turn out again, so a rate changed meanwhile counts (a faster rate after at most the
   * sleep already begun).
   */
  async function serve(): Promise<void> {
    serving = true;
    try {
      while (waiting.length > 0) {
        const current = now();
        const turn = Math.max(lastAt, current - burst * intervalMs) + intervalMs;
        if (turn > current) {
          await sleep(turn - current);
          continue;
        }
        lastAt = turn;
        waiting.shift()?.();
      }
    } finally {
      serving = false;
    }
  }

  return {
    get perSecond() {
      return perSecond;
    },
    setPerSecond(rate: number) {
      perSecond = checkRate(rate);
      intervalMs = 1000 / perSecond;
      burst = burstFor(perSecond);
    },
    take() {
      const turn = new Promise<void>((resolve) => waiting.push(resolve));
      // The sleep is the only thing that can fail, and a caller must not wait forever because it did.
      if (!serving) void serve().catch(() => waiting.splice(0).forEach((release) => release()));
      return turn;
    },
  };
}

function checkRate(perSecond: number): number {
  if (!Number.isFinite(perSecond) || perSecond <= 0) {
    throw new RangeError(`perSecond must be a number > 0, got ${perSecond}`);
  }
  return perSecond;
}
