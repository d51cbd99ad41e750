import { pollDelay } from '../../src/tracking/tracker';

const MINUTE = 60_000;

it('polls a young build at the base pace and an older one less often, up to four times slower', () => {
  expect(pollDelay(0, 15_000)).toBe(15_000);
  expect(pollDelay(14 * MINUTE, 15_000)).toBe(15_000);
  expect(pollDelay(15 * MINUTE, 15_000)).toBe(30_000);
  expect(pollDelay(31 * MINUTE, 15_000)).toBe(45_000);
  expect(pollDelay(45 * MINUTE, 15_000)).toBe(60_000);
  expect(pollDelay(10 * 60 * MINUTE, 15_000)).toBe(60_000);
  // A clock that went backwards does not make it poll faster than the base.
  expect(pollDelay(-5 * MINUTE, 15_000)).toBe(15_000);
});
