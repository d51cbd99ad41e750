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

it('keeps that shape at a faster base pace, counting age in base intervals', () => {
  // 1.5 s is the default 15 s compressed ten times: the tiers come ten times sooner.
  expect(pollDelay(89_000, 1_500)).toBe(1_500);
  expect(pollDelay(90_000, 1_500)).toBe(3_000);
  expect(pollDelay(4.5 * MINUTE, 1_500)).toBe(6_000);
});
