import { Throttle } from '../../src/slack/throttle';

describe('Throttle', () => {
  it('spaces calls with the same key and lets other keys through at once', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const throttle = new Throttle(
      () => now,
      async (ms) => {
        waits.push(ms);
      },
    );
    const order: string[] = [];
    await Promise.all([
      throttle.run('post:C1', 1000, async () => order.push('C1 first')),
      throttle.run('post:C1', 1000, async () => order.push('C1 second')),
      throttle.run('post:C2', 1000, async () => order.push('C2 first')),
    ]);
    expect(waits).toEqual([1000]);
    expect(order).toContain('C2 first');
    now += 5_000;
    await throttle.run('post:C1', 1000, async () => order.push('C1 later'));
    expect(waits).toEqual([1000]);
  });
});
