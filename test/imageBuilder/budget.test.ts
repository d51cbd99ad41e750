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
