/*
 * A global budget of requests per second to Image Builder, shared by everything one process sends (polls, submits,
 * lists, token refreshes). The service publishes no limit, so the budget is ours to keep it polite; waiting callers
 * are served in arrival order, so no compose is starved while a burst of others is polled.
 */

export interface RequestBudget {
  /** Resolves when one more request may be sent. */
  take(): Promise<void>;
}

export function createRequestBudget(options: {
  perSecond: number;
  /** Requests that may go at once after a quiet spell; one second's worth by default. */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}): RequestBudget {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const intervalMs = 1000 / options.perSecond;
  const burst = Math.max(1, options.burst ?? Math.ceil(options.perSecond));
  // The earliest moment the next request may go, advanced by one interval per request (a virtual clock): the
  // same as a token bucket, without a timer.
  let nextAt = now() - burst * intervalMs;

  return {
    async take() {
      const current = now();
      // Unused capacity accumulates only up to the burst.
      nextAt = Math.max(nextAt, current - burst * intervalMs) + intervalMs;
      const wait = nextAt - current;
      if (wait > 0) await sleep(wait);
    },
  };
}
