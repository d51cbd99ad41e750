import pino from 'pino';
import { startPoller, type Poller, type PollerOptions } from '../../src/tracking/poller';
import { isDeadIncarnation } from '../../src/tracking/replicas';
import { openSqliteStore } from '../../src/store/sqlite';
import type { BuildRequest, BuildRequestPatch, BuildRequestStore } from '../../src/store/store';
import type { Tracker } from '../../src/tracking/tracker';
import { newRequest, useTempFolder } from './helpers';

const temp = useTempFolder();

const TICK_MS = 5;
const MINUTE_MS = 60_000;

function manualClock(start = '2025-03-01T10:00:05.000Z') {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits until `condition` holds, checking between turns of the event loop; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The real SQLite store, seen through a wrapper that counts (and can hold up) the poller's claims of due work. */
function observedStore(store: BuildRequestStore) {
  let gate: Promise<void> | undefined;
  const claimDue = jest.fn(async (...args: Parameters<BuildRequestStore['claimDue']>) => {
    const rows = await store.claimDue(...args);
    // The claim is made; the answer arrives later, as it would from a slow database.
    if (gate) await gate;
    return rows;
  });
  const releaseClaim = jest.fn((id: string, owner: string) => store.releaseClaim(id, owner));
  const observed: BuildRequestStore = {
    insert: (request) => store.insert(request),
    get: (id) => store.get(id),
    getByIdempotencyKey: (key) => store.getByIdempotencyKey(key),
    update: (id, patch, options) => store.update(id, patch, options),
    listUnfinished: () => store.listUnfinished(),
    countUnfinished: () => store.countUnfinished(),
    listRecent: (filter) => store.listRecent(filter),
    listNewest: (filter) => store.listNewest(filter),
    findByComposeId: (composeId) => store.findByComposeId(composeId),
    listOrder: (orderId) => store.listOrder(orderId),
    addToOrder: (leadId, leadPatch, companions, options) => store.addToOrder(leadId, leadPatch, companions, options),
    countForRequester: (requesterId, since) => store.countForRequester(requesterId, since),
    insertWithinLimits: (request, limits) => store.insertWithinLimits(request, limits),
    decideApproval: (id, verdict) => store.decideApproval(id, verdict),
    expireApprovals: (now) => store.expireApprovals(now),
    listAwaitingApproval: (limit) => store.listAwaitingApproval(limit),
    claimDue,
    claim: (id, owner, now, leaseMs) => store.claim(id, owner, now, leaseMs),
    renewClaim: (id, owner, now, leaseMs) => store.renewClaim(id, owner, now, leaseMs),
    releaseClaim,
    listLeaseOwners: () => store.listLeaseOwners(),
    releaseAllClaims: (owner) => store.releaseAllClaims(owner),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  return {
    store: observed,
    scans: () => claimDue.mock.calls.length,
    /** Holds the answer of every read from now until the returned function is called. */
    holdReads() {
      const held = deferred();
      gate = held.promise;
      return () => {
        gate = undefined;
        held.resolve();
      };
    },
    /** The next release of a lease fails, as it would while the store is down. */
    failNextRelease(error: Error) {
      releaseClaim.mockImplementationOnce(async () => {
        throw error;
      });
    },
    failNextRead(error: Error) {
      claimDue.mockImplementationOnce(async () => {
        throw error;
      });
    },
  };
}

/**
 * Stands in for the tracker: records every step and who was being advanced at the same time. By default a step
 * schedules the next one a minute later, as a real poll would; while `hold` is on, steps wait to be released.
 */
function fakeTracker(store: BuildRequestStore, clock: { now(): Date }) {
  const advanced: BuildRequest[] = [];
  const active = new Set<string>();
  const waiting: Array<() => void> = [];
  const control = {
    hold: false,
    maxActive: 0,
    /** Set when a request was advanced while it was already being advanced. */
    overlapped: false,
    patch: (): BuildRequestPatch => ({ nextPollAt: new Date(clock.now().getTime() + MINUTE_MS) }),
  };
  const tracker: Tracker = {
    async advance(request) {
      advanced.push(request);
      if (active.has(request.id)) control.overlapped = true;
      active.add(request.id);
      control.maxActive = Math.max(control.maxActive, active.size);
      try {
        if (control.hold) await new Promise<void>((resolve) => waiting.push(resolve));
        return await store.update(request.id, control.patch());
      } finally {
        active.delete(request.id);
      }
    },
  };
  return {
    tracker,
    control,
    advanced,
    active,
    advancedIds: () => advanced.map((r) => r.id),
    waiting: () => waiting.length,
    releaseOne: () => waiting.shift()?.(),
    releaseLatest: () => waiting.pop()?.(),
    releaseAll: () => waiting.splice(0).forEach((release) => release()),
  };
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; [field: string]: unknown }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, errors: () => lines.filter((line) => line.level === 50) };
}

describe('poller', () => {
  const running: Poller[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((poller) => poller.stop()));
  });

  async function setUp(options: { file?: string } = {}) {
    const sqlite = temp.closeLater(await openSqliteStore({ path: options.file ?? temp.file() }));
    const observed = observedStore(sqlite);
    const clock = manualClock();
    const fake = fakeTracker(sqlite, clock);
    const log = capturingLogger();
    const start = (
      settings: Pick<
        PollerOptions,
        'concurrency' | 'submitConcurrency' | 'leaseMs' | 'onScan' | 'isDeadIncarnation'
      > & {
        tickMs?: number;
        owner?: string;
      } = {},
    ) => {
      const poller = startPoller({
        store: observed.store,
        tracker: fake.tracker,
        clock,
        logger: log.logger,
        tickMs: settings.tickMs ?? TICK_MS,
        owner: settings.owner ?? 'this-replica',
        ...(settings.isDeadIncarnation === undefined ? {} : { isDeadIncarnation: settings.isDeadIncarnation }),
        ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }),
        ...(settings.submitConcurrency === undefined ? {} : { submitConcurrency: settings.submitConcurrency }),
        ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
        ...(settings.onScan === undefined ? {} : { onScan: settings.onScan }),
      });
      running.push(poller);
      return poller;
    };
    /** A new request, due now unless told otherwise. */
    const request = async (patch: BuildRequestPatch = {}) => {
      const { request: row } = await sqlite.insert(newRequest({ createdAt: clock.now() }));
      return Object.keys(patch).length === 0 ? row : sqlite.update(row.id, patch);
    };
    return { sqlite, observed, clock, fake, log, start, request };
  }

  it('resumes every unfinished request in the store when it starts', async () => {
    const file = temp.file();
    const before = await setUp({ file });
    const submitting = await before.request();
    const resubmitting = await before.request({ submittedAt: before.clock.now() });
    const tracking = await before.request({ state: 'tracking', composeId: 'c-1', status: 'building' });
    const overdue = await before.request({
      state: 'tracking',
      composeId: 'c-2',
      nextPollAt: new Date(before.clock.now().getTime() - MINUTE_MS),
    });
    const done = await before.request({ state: 'done', composeId: 'c-3', status: 'success', resultTs: '1.2' });
    const rejected = await before.request({ state: 'rejected', rejection: '{"kind":"forbidden"}', resultTs: '1.3' });
    await before.sqlite.close();

    const restarted = await setUp({ file });
    const poller = restarted.start();
    const unfinished = [submitting, resubmitting, tracking, overdue].map((r) => r.id);
    await waitFor(() => restarted.fake.advanced.length >= unfinished.length, 'every unfinished request was advanced');
    await poller.idle();

    expect(restarted.fake.advancedIds()).toEqual(unfinished);
    expect(restarted.fake.advancedIds()).not.toEqual(expect.arrayContaining([done.id]));
    expect(restarted.fake.advancedIds()).not.toEqual(expect.arrayContaining([rejected.id]));
  });

  it('hands the tracker each request as the store has it', async () => {
    const t = await setUp();
    const row = await t.request({ state: 'tracking', composeId: 'c-1', status: 'uploading', pollFailures: 2 });

    t.start();
    await waitFor(() => t.fake.advanced.length === 1, 'the request was advanced');

    expect(t.fake.advanced[0]).toEqual(row);
  });

  it('advances only requests that are due, and the others once their time comes', async () => {
    const t = await setUp();
    const due = await t.request({ state: 'tracking', composeId: 'c-1' });
    const later = await t.request({
      state: 'tracking',
      composeId: 'c-2',
      nextPollAt: new Date(t.clock.now().getTime() + 30_000),
    });

    t.start();
    await waitFor(() => t.fake.advanced.length === 1, 'the due request was advanced');
    const scans = t.observed.scans();
    await waitFor(() => t.observed.scans() >= scans + 5, 'five more ticks');

    expect(t.fake.advancedIds()).toEqual([due.id]);

    t.clock.advance(30_000);
    await waitFor(() => t.fake.advanced.length === 2, 'the other request came due and was advanced');
    expect(t.fake.advancedIds()).toEqual([due.id, later.id]);
  });

  it('never advances the same request twice at once', async () => {
    const t = await setUp();
    // A step that leaves the request due again at once, so every tick would take it if it could.
    t.fake.control.patch = () => ({ nextPollAt: null });
    t.fake.control.hold = true;
    await t.request();

    const poller = t.start();
    await waitFor(() => t.fake.waiting() === 1, 'the first step started');
    const scans = t.observed.scans();
    poller.wake();
    poller.wake();
    await waitFor(() => t.observed.scans() >= scans + 5, 'five more scans');
    expect(t.fake.advanced).toHaveLength(1);

    t.fake.releaseOne();
    await waitFor(() => t.fake.waiting() === 1 && t.fake.advanced.length === 2, 'the next step started');
    t.fake.control.hold = false;
    t.fake.releaseAll();

    expect(t.fake.control.overlapped).toBe(false);
  });

  it('never advances a request from a claim answered while its previous step was still running', async () => {
    const t = await setUp();
    // Like a submission: the step turns the request into one that is followed, and due only later.
    t.fake.control.patch = () => ({
      state: 'tracking',
      composeId: 'c-1',
      nextPollAt: new Date(t.clock.now().getTime() + MINUTE_MS),
    });
    t.fake.control.hold = true;
    await t.request();

    const poller = t.start({ tickMs: MINUTE_MS });
    await waitFor(() => t.fake.waiting() === 1, 'the submission started');
    const releaseReads = t.observed.holdReads();
    const scans = t.observed.scans();
    poller.wake();
    // This claim was made while the step in hand held the request; its answer arrives after the step finished.
    await waitFor(() => t.observed.scans() === scans + 1, 'a scan read the store');
    t.fake.control.hold = false;
    t.fake.releaseOne();
    await waitFor(() => t.fake.active.size === 0, 'the step finished');
    await nextTurn();
    releaseReads();
    await poller.idle();

    expect(t.fake.advanced).toHaveLength(1);
  });

  it('advances no more requests at once than its concurrency allows, and all of them in the end', async () => {
    const t = await setUp();
    t.fake.control.hold = true;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await t.request()).id);

    const poller = t.start({ concurrency: 2 });
    await waitFor(() => t.fake.waiting() === 2, 'two steps started');
    poller.wake();
    await nextTurn();
    expect(t.fake.advanced).toHaveLength(2);

    t.fake.releaseOne();
    await waitFor(() => t.fake.advanced.length === 3, 'a third step started once a slot was free');
    t.fake.control.hold = false;
    t.fake.releaseAll();
    await waitFor(() => t.fake.advanced.length === 5, 'every request was advanced');
    await poller.idle();

    expect(t.fake.control.maxActive).toBe(2);
    expect(new Set(t.fake.advancedIds())).toEqual(new Set(ids));
  });

  it('sends new requests in slots of their own while every other slot waits (for Slack, say)', async () => {
    const t = await setUp();
    t.fake.control.hold = true;
    const waitingForSlack = [];
    for (let i = 0; i < 2; i++) {
      waitingForSlack.push((await t.request({ state: 'tracking', composeId: `c-${i}`, nextPollAt: t.clock.now() })).id);
    }
    const poller = t.start({ concurrency: 2, submitConcurrency: 1 });
    await waitFor(() => t.fake.waiting() === 2, 'both slots taken by builds');

    const first = await t.request();
    const second = await t.request();
    poller.wake();
    await waitFor(() => t.fake.waiting() === 3, 'a submission started beside them');
    expect(t.fake.advancedIds()).toEqual([...waitingForSlack, first.id]);

    // Its slot freed, the next submission takes it, though the other slots still wait.
    t.fake.releaseLatest();
    await waitFor(() => t.fake.advancedIds().includes(second.id), 'the second submission started');
    expect(t.fake.active).toEqual(new Set([...waitingForSlack, second.id]));
    t.fake.control.hold = false;
    t.fake.releaseAll();
    await poller.idle();
    expect(t.fake.control.maxActive).toBe(3);
  });

  it('lets timers, I/O and signals have their turn while due work keeps coming', async () => {
    const t = await setUp();
    const STEPS = 5000;
    // Steps that ask no one anything and leave the request due again (only the store's promises in between), until
    // STEPS have run, so that a poller that never yields still ends and the test fails instead of hanging.
    t.fake.control.patch = () => ({
      nextPollAt: new Date(t.clock.now().getTime() + (t.fake.advanced.length < STEPS ? 0 : MINUTE_MS)),
    });
    for (let i = 0; i < 20; i++) await t.request({ state: 'tracking', composeId: `c-${i}`, nextPollAt: t.clock.now() });
    const poller = t.start({ concurrency: 4, tickMs: 60_000 });

    const stepsWhenTimerFired = await new Promise<number>((resolve) =>
      setTimeout(() => resolve(t.fake.advanced.length), 1),
    );

    expect(stepsWhenTimerFired).toBeLessThan(STEPS);
    await poller.stop();
  });

  it('looks for work at once when woken, without waiting for the next tick', async () => {
    const t = await setUp();
    const poller = t.start({ tickMs: MINUTE_MS });
    await waitFor(() => t.observed.scans() === 1, 'the first scan');
    await poller.idle();

    const row = await t.request();
    poller.wake();

    await waitFor(() => t.fake.advanced.length === 1, 'the new request was advanced');
    expect(t.fake.advancedIds()).toEqual([row.id]);
  });

  it('stops only once the step in hand is finished', async () => {
    const t = await setUp();
    t.fake.control.hold = true;
    const row = await t.request();
    const poller = t.start();
    await waitFor(() => t.fake.waiting() === 1, 'the step started');

    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    await nextTurn();
    expect(stopped).toBe(false);

    t.fake.releaseOne();
    await stopping;
    expect(await t.sqlite.get(row.id)).toMatchObject({ nextPollAt: new Date(t.clock.now().getTime() + MINUTE_MS) });
  });

  it('starts nothing new once stopped, not even a request that was waiting for a free slot', async () => {
    const t = await setUp();
    t.fake.control.hold = true;
    const first = await t.request();
    await t.request();
    const poller = t.start({ concurrency: 1 });
    await waitFor(() => t.fake.waiting() === 1, 'the first step started');

    const stopping = poller.stop();
    t.fake.control.hold = false;
    t.fake.releaseAll();
    await stopping;
    await t.request();
    await nextTurn();

    expect(t.fake.advancedIds()).toEqual([first.id]);
  });

  it('keeps polling after a step or a read of the store fails', async () => {
    const t = await setUp();
    const failing = await t.request();
    const healthy = await t.request();
    const advance = t.fake.tracker.advance.bind(t.fake.tracker);
    t.fake.tracker.advance = async (request) => {
      if (request.id === failing.id) throw new Error('the database is locked');
      return advance(request);
    };
    t.observed.failNextRead(new Error('disk I/O error'));

    t.start();

    await waitFor(() => t.fake.advancedIds().includes(healthy.id), 'the healthy request was advanced');
    await waitFor(() => t.log.errors().length >= 2, 'both failures were logged');
    expect(t.log.errors().map((line) => line.msg)).toEqual(
      expect.arrayContaining(['looking for due requests failed', 'advancing a request failed']),
    );
  });

  it('refuses a concurrency below one, which would never advance anything, and a lease of no length', async () => {
    const t = await setUp();
    expect(() => t.start({ concurrency: 0 })).toThrow(RangeError);
    expect(() => t.start({ submitConcurrency: -1 })).toThrow(RangeError);
    expect(() => t.start({ leaseMs: 0 })).toThrow(RangeError);
  });

  describe('leases', () => {
    it('holds the request under its own name while the step runs, and lets it go after', async () => {
      const t = await setUp();
      t.fake.control.hold = true;
      const row = await t.request();

      const poller = t.start();
      await waitFor(() => t.fake.waiting() === 1, 'the step started');

      expect(poller.owner).toBe('this-replica');
      expect(await t.sqlite.claim(row.id, 'another-replica', t.clock.now(), MINUTE_MS)).toBeUndefined();
      t.fake.releaseAll();
      await poller.idle();
      expect(await t.sqlite.claim(row.id, 'another-replica', t.clock.now(), MINUTE_MS)).toMatchObject({ id: row.id });
    });

    it('keeps the lease of a request whose step outlasts it, by renewing it', async () => {
      const t = await setUp();
      t.fake.control.hold = true;
      const row = await t.request();
      const leaseMs = 30;

      const poller = t.start({ leaseMs });
      await waitFor(() => t.fake.waiting() === 1, 'the step started');
      t.clock.advance(20);
      // Renewals come every third of the lease; let a few go by.
      await new Promise((resolve) => setTimeout(resolve, 4 * leaseMs));
      t.clock.advance(20);

      try {
        // Past the first lease's end, but not the renewed one's.
        expect(await t.sqlite.claim(row.id, 'another-replica', t.clock.now(), MINUTE_MS)).toBeUndefined();
      } finally {
        t.fake.releaseAll();
        await poller.stop();
      }
    });

    it('advances a build whose lease it could not release (the store was down) when next due, not a lease later', async () => {
      const t = await setUp();
      const row = await t.request({ state: 'tracking', composeId: 'c-1' });
      t.observed.failNextRelease(new Error('the database is read-only'));

      const poller = t.start({ leaseMs: 10 * MINUTE_MS });
      await waitFor(() => t.fake.advanced.length === 1, 'the first step');
      await poller.idle();
      t.clock.advance(MINUTE_MS);

      await waitFor(() => t.fake.advanced.length === 2, 'the next step, a minute later');
      expect(t.fake.advancedIds()).toEqual([row.id, row.id]);
      expect(t.fake.control.overlapped).toBe(false);
    });

    it('does not let a long step take a slot from other due work at every look for work', async () => {
      const t = await setUp();
      t.fake.control.hold = true;
      const long = await t.request();
      const poller = t.start({ concurrency: 2 });
      await waitFor(() => t.fake.waiting() === 1, 'the long step started');
      // Still due, and leased to this replica: the claims must leave it to the step that has it.
      const others = [await t.request(), await t.request()];

      poller.wake();
      await waitFor(() => t.fake.waiting() === 2, 'a second step started');
      t.fake.control.hold = false;
      t.fake.releaseAll();
      await waitFor(() => t.fake.advanced.length === 3, 'every request was advanced');
      await poller.idle();

      expect(t.fake.advancedIds()).toEqual([long.id, others[0]!.id, others[1]!.id]);
      expect(t.fake.control.overlapped).toBe(false);
    });

    it("advances at once, on start, the builds leased by an earlier run of it that died, and no live replica's", async () => {
      const t = await setUp();
      const self = {
        replicaId: 'build-host:4242:0000aaaa',
        hostname: 'build-host',
        pid: 4242,
        isAlive: (pid: number) => pid === 4242 || pid === 5151,
      };
      const killed = await t.request();
      const beforeContainerRestart = await t.request();
      const siblingOnThisHost = await t.request();
      const onAnotherHost = await t.request();
      const lease = (row: BuildRequest, owner: string) => t.sqlite.claim(row.id, owner, t.clock.now(), MINUTE_MS);
      await lease(killed, 'build-host:3131:deadbeef');
      await lease(beforeContainerRestart, 'build-host:4242:0000bbbb');
      await lease(siblingOnThisHost, 'build-host:5151:cafef00d');
      await lease(onAnotherHost, 'other-host:3131:deadbeef');

      const poller = t.start({
        owner: self.replicaId,
        isDeadIncarnation: (owner) => isDeadIncarnation(owner, self),
      });
      await waitFor(() => t.fake.advanced.length === 2, "the dead runs' builds were advanced");
      await poller.idle();

      expect(new Set(t.fake.advancedIds())).toEqual(new Set([killed.id, beforeContainerRestart.id]));
      expect(await t.sqlite.listLeaseOwners()).toEqual(['build-host:5151:cafef00d', 'other-host:3131:deadbeef']);
      const tookBack = t.log.lines.filter((line) => /earlier run of this replica/.test(line.msg));
      expect(tookBack).toEqual([expect.objectContaining({ level: 30, requests: 2 })]);
    });

    it('counts the unfinished requests for the metrics at every look for work', async () => {
      const t = await setUp();
      await t.request();
      await t.request({
        state: 'tracking',
        composeId: 'c-1',
        nextPollAt: new Date(t.clock.now().getTime() + MINUTE_MS),
      });
      await t.request({ state: 'done', composeId: 'c-2', status: 'success', resultTs: '1.1' });
      const counts: number[] = [];

      const poller = t.start({ onScan: (unfinished) => counts.push(unfinished) });
      await waitFor(() => t.fake.advanced.length === 1, 'the due request was advanced');
      await poller.stop();

      expect(counts[0]).toBe(2);
    });
  });

  describe('ticking', () => {
    beforeEach(() => {
      jest.useFakeTimers({
        doNotFake: ['Date', 'setImmediate', 'nextTick', 'queueMicrotask', 'performance', 'hrtime'],
      });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('reads the store once per tick until stopped, and not at all after', async () => {
      const t = await setUp();
      const poller = t.start({ tickMs: 1000 });
      await poller.idle();
      expect(t.observed.scans()).toBe(1);

      await jest.advanceTimersByTimeAsync(3000);
      expect(t.observed.scans()).toBe(4);

      await poller.stop();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(t.observed.scans()).toBe(4);
    });
  });
});
