import { createRequestBudget } from '../../src/imageBuilder/budget';

/* The request budget, on a virtual clock: a burst goes at once, then requests are spaced evenly, in order. */

function virtualTime() {
  let now = 0;
  const sent: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    sent,
    mark: () => sent.push(now),
  };
}

it('lets a burst through, then spaces requests at the configured rate', async () => {
  const time = virtualTime();
  const budget = createRequestBudget({ perSecond: 4, burst: 2, now: time.now, sleep: time.sleep });
  for (let i = 0; i < 6; i++) {
    await budget.take();
    time.mark();
  }
  // Two at once (the burst), then one every 250 ms.
  expect(time.sent).toEqual([0, 0, 250, 500, 750, 1000]);
});

it('does not save up more than the burst during a quiet spell', async () => {
  const time = virtualTime();
  const budget = createRequestBudget({ perSecond: 10, burst: 3, now: time.now, sleep: time.sleep });
  await time.sleep(60_000);
  const start = time.now();
  for (let i = 0; i < 5; i++) {
    await budget.take();
    time.mark();
  }
  expect(time.sent.map((t) => t - start)).toEqual([0, 0, 0, 100, 200]);
});

describe('changing the rate while requests wait', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Starts `count` requests at once and records, in order, which went when. */
  function waitingRequests(budget: { take(): Promise<void> }, count: number) {
    const sent: Array<{ request: number; at: number }> = [];
    for (let request = 0; request < count; request++) {
      void budget.take().then(() => sent.push({ request, at: Date.now() }));
    }
    return sent;
  }

  it('slows down the requests already waiting when the rate is lowered, in the order they came', async () => {
    const budget = createRequestBudget({ perSecond: 10, burst: 1 });
    const sent = waitingRequests(budget, 5);
    await jest.advanceTimersByTimeAsync(150);
    expect(sent.map((s) => s.at)).toEqual([0, 100]);

    // A second replica joined: this one takes half of the budget from now on.
    budget.setPerSecond(5);
    await jest.advanceTimersByTimeAsync(2000);

    expect(sent).toEqual([
      { request: 0, at: 0 },
      { request: 1, at: 100 },
      { request: 2, at: 300 },
      { request: 3, at: 500 },
      { request: 4, at: 700 },
    ]);
    expect(budget.perSecond).toBe(5);
  });

  it('speeds up the requests already waiting when the rate is raised, once the wait under way is over', async () => {
    const budget = createRequestBudget({ perSecond: 2, burst: 1 });
    const sent = waitingRequests(budget, 4);
    await jest.advanceTimersByTimeAsync(100);

    // The other replica stopped: this one has the whole budget again.
    budget.setPerSecond(10);
    await jest.advanceTimersByTimeAsync(2000);

    expect(sent).toEqual([
      { request: 0, at: 0 },
      { request: 1, at: 500 },
      { request: 2, at: 600 },
      { request: 3, at: 700 },
    ]);
  });

  it('lets a burst of the new rate through after a quiet spell when no burst was set', async () => {
    const budget = createRequestBudget({ perSecond: 2 });
    budget.setPerSecond(4);
    await jest.advanceTimersByTimeAsync(10_000);

    const sent = waitingRequests(budget, 6);
    await jest.advanceTimersByTimeAsync(1000);

    expect(sent.map((s) => s.at - 10_000)).toEqual([0, 0, 0, 0, 250, 500]);
  });

  it('refuses a rate that is not a number above zero, and keeps the one it had', () => {
    const budget = createRequestBudget({ perSecond: 3 });

    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => budget.setPerSecond(rate)).toThrow(RangeError);
    }
    expect(() => createRequestBudget({ perSecond: 0 })).toThrow(RangeError);
    expect(budget.perSecond).toBe(3);
  });
});
