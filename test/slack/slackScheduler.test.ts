import { AGING_SLOTS, SlackScheduler } from '../../src/slack/thread/scheduler';

/** A call that records when it started and finishes when told. */
function controllable(log: string[], name: string) {
  let finish!: (value: string) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    call: () => {
      log.push(name);
      return done;
    },
    finish: () => finish(name),
    fail: (error: Error) => fail(error),
  };
}

describe('SlackScheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  const flush = () => jest.advanceTimersByTimeAsync(0);

  it('spaces the starts of calls in one lane, and lets another lane through at once', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: (lane) => (lane === 'update' ? 1000 : 500) });
    const call = (name: string) => async () => void started.push(name);
    void scheduler.schedule({ lane: 'update', call: call('edit 1') });
    void scheduler.schedule({ lane: 'update', call: call('edit 2') });
    void scheduler.schedule({ lane: 'post:C1', call: call('post 1') });
    await flush();
    expect(started).toEqual(['edit 1', 'post 1']);
    await jest.advanceTimersByTimeAsync(999);
    expect(started).toEqual(['edit 1', 'post 1']);
    await jest.advanceTimersByTimeAsync(1);
    expect(started).toEqual(['edit 1', 'post 1', 'edit 2']);
  });

  it('sends the highest priority first, then the oldest', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 100 });
    const call = (name: string) => async () => void started.push(name);
    void scheduler.schedule({ lane: 'update', call: call('first') });
    void scheduler.schedule({ lane: 'update', priority: 0, call: call('progress A') });
    void scheduler.schedule({ lane: 'update', priority: 0, call: call('progress B') });
    void scheduler.schedule({ lane: 'update', priority: 2, call: call('final') });
    await jest.advanceTimersByTimeAsync(1000);
    expect(started).toEqual(['first', 'final', 'progress A', 'progress B']);
  });

  it('tells how many calls of a priority or above wait in a lane, so a caller knows whether its call goes next', async () => {
    const scheduler = new SlackScheduler({ spacingMs: () => 100 });
    const call = async () => undefined;
    void scheduler.schedule({ lane: 'update', priority: 2, call });
    expect(scheduler.waitingAtLeast('update', 2)).toBe(0);
    void scheduler.schedule({ lane: 'update', priority: 0, call });
    void scheduler.schedule({ lane: 'update', priority: 2, call });
    void scheduler.schedule({ lane: 'post:C1', priority: 2, call });
    void scheduler.schedule({ lane: 'post:C1', priority: 2, call });

    expect(scheduler.waitingAtLeast('update', 2)).toBe(1);
    expect(scheduler.waitingAtLeast('update', 0)).toBe(2);
    expect(scheduler.waitingAtLeast('post:C2', 0)).toBe(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(scheduler.waitingAtLeast('update', 0)).toBe(0);
  });

  it('lets a call that waited AGING_SLOTS turns per level go before newer calls of higher priority, so none starves', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 10 });
    const call = (name: string) => async () => void started.push(name);
    void scheduler.schedule({ lane: 'update', priority: 2, call: call('final 0') });
    void scheduler.schedule({ lane: 'update', priority: 0, call: call('progress') });
    // A steady stream of final states, one new every turn.
    for (let i = 1; i <= 3 * AGING_SLOTS; i++) {
      void scheduler.schedule({ lane: 'update', priority: 2, call: call(`final ${i}`) });
      await jest.advanceTimersByTimeAsync(10);
    }
    await jest.advanceTimersByTimeAsync(10 * 4 * AGING_SLOTS);
    const at = started.indexOf('progress');
    // Two levels to make up: it goes after about 2 × AGING_SLOTS turns, ahead of the finals asked for after it.
    expect(at).toBeGreaterThanOrEqual(2 * AGING_SLOTS - 1);
    expect(at).toBeLessThanOrEqual(2 * AGING_SLOTS + 1);
    expect(started).toHaveLength(3 * AGING_SLOTS + 2);
  });

  it('sends only the newest of calls that replace each other while they wait, answering every caller', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 100 });
    void scheduler.schedule({ lane: 'update', call: async () => void started.push('other build') });
    const older = scheduler.schedule({
      lane: 'update',
      replaces: 'status:R1',
      call: async () => (started.push('building'), 'building'),
    });
    const newer = scheduler.schedule({
      lane: 'update',
      replaces: 'status:R1',
      call: async () => (started.push('uploading'), 'uploading'),
    });
    await jest.advanceTimersByTimeAsync(1000);
    expect(started).toEqual(['other build', 'uploading']);
    await expect(older).resolves.toBe('uploading');
    await expect(newer).resolves.toBe('uploading');
  });

  it('keeps a replacing call’s place in line but raises it to the higher priority', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 100 });
    const call = (name: string) => async () => void started.push(name);
    void scheduler.schedule({ lane: 'update', call: call('first') });
    void scheduler.schedule({ lane: 'update', priority: 0, replaces: 'status:R1', call: call('R1 building') });
    void scheduler.schedule({ lane: 'update', priority: 1, call: call('R2 new thread') });
    void scheduler.schedule({ lane: 'update', priority: 2, replaces: 'status:R1', call: call('R1 ready') });
    await jest.advanceTimersByTimeAsync(1000);
    expect(started).toEqual(['first', 'R1 ready', 'R2 new thread']);
  });

  it('never starts a call while an earlier one with the same key is under way, so edits of one message arrive in order', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 10 });
    const building = controllable(started, 'building');
    const first = scheduler.schedule({ lane: 'update', replaces: 'status:R1', call: building.call });
    await flush();
    const second = scheduler.schedule({
      lane: 'update',
      replaces: 'status:R1',
      call: async () => void started.push('ready'),
    });
    void scheduler.schedule({ lane: 'update', call: async () => void started.push('another message') });
    await jest.advanceTimersByTimeAsync(1000);
    expect(started).toEqual(['building', 'another message']);
    building.finish();
    await expect(first).resolves.toBe('building');
    await jest.advanceTimersByTimeAsync(10);
    await second;
    expect(started).toEqual(['building', 'another message', 'ready']);
  });

  it('hands a failure to every caller of the call and goes on with the next', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 0 });
    const failing = controllable(started, 'fails');
    const first = scheduler.schedule({ lane: 'update', replaces: 'k', call: failing.call });
    await flush();
    const after = scheduler.schedule({ lane: 'update', call: async () => 'next' });
    failing.fail(new Error('ratelimited'));
    await expect(first).rejects.toThrow('ratelimited');
    await expect(after).resolves.toBe('next');
  });

  it('is idle only when nothing waits and nothing is under way', async () => {
    const started: string[] = [];
    const scheduler = new SlackScheduler({ spacingMs: () => 100 });
    const slow = controllable(started, 'slow');
    void scheduler.schedule({ lane: 'update', call: slow.call });
    void scheduler.schedule({ lane: 'update', call: async () => void started.push('later') });
    let idle = false;
    void scheduler.idle().then(() => (idle = true));
    await jest.advanceTimersByTimeAsync(500);
    expect(started).toEqual(['slow', 'later']);
    expect(idle).toBe(false);
    slow.finish();
    await flush();
    expect(idle).toBe(true);
  });

  it('reads the spacing each time, so it follows a change made while running', async () => {
    const started: number[] = [];
    let spacing = 1000;
    const scheduler = new SlackScheduler({ spacingMs: () => spacing });
    const call = async () => void started.push(Date.now());
    void scheduler.schedule({ lane: 'update', call });
    await flush();
    spacing = 2000;
    void scheduler.schedule({ lane: 'update', call });
    void scheduler.schedule({ lane: 'update', call });
    await jest.advanceTimersByTimeAsync(5000);
    expect(started.map((at) => at - started[0]!)).toEqual([0, 1000, 3000]);
  });
});
