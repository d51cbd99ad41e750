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

it('waits out half of what a status typically lasts once a build has just entered it, never less than by age', () => {
  // Building steps and uploading last about 8 intervals: the next change is not due before half of that, less the
  // half interval by which it was seen late on average.
  expect(pollDelay(0, 15_000, 'building')).toBe(52_500);
  expect(pollDelay(0, 15_000, 'uploading')).toBe(52_500);
  // Pending lasts about 4.
  expect(pollDelay(0, 15_000, 'pending')).toBe(22_500);
  // A status it knows nothing of, or a final one, keeps the pace by age.
  expect(pollDelay(0, 15_000, 'queued')).toBe(15_000);
  expect(pollDelay(0, 15_000, 'success')).toBe(15_000);
  // Whatever word the service sends, even one an object has a property for.
  expect(pollDelay(0, 15_000, 'constructor')).toBe(15_000);
  expect(pollDelay(0, 15_000, '__proto__')).toBe(15_000);
  // An old build is already polled slower than that.
  expect(pollDelay(45 * MINUTE, 15_000, 'building')).toBe(60_000);
  // Compressed time keeps the shape.
  expect(pollDelay(0, 150, 'registering')).toBe(525);
});
