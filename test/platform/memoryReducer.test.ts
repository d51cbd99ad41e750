import { nudgeMemoryReducer } from '../../src/platform/memoryReducer';

/*
 * The nudge that lets V8 shrink an idle heap on Node.js 24: an allocation at once and then on every interval, on a
 * timer that neither keeps the process alive nor outlives stop(). Whether the heap shrinks is measured by
 * `npm run bench` (idle RSS), not here.
 */

afterEach(() => jest.useRealTimers());

it('allocates at once, then once per interval, until stopped', () => {
  jest.useFakeTimers();
  const allocate = jest.fn();
  const nudge = nudgeMemoryReducer({ intervalMs: 1000, allocate });
  expect(allocate).toHaveBeenCalledTimes(1);
  jest.advanceTimersByTime(3500);
  expect(allocate).toHaveBeenCalledTimes(4);
  nudge.stop();
  jest.advanceTimersByTime(5000);
  expect(allocate).toHaveBeenCalledTimes(4);
});

it('does not keep the process alive', () => {
  const spy = jest.spyOn(global, 'setInterval');
  const nudge = nudgeMemoryReducer({ allocate: () => undefined });
  const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
  expect(timer.hasRef()).toBe(false);
  nudge.stop();
  spy.mockRestore();
});
