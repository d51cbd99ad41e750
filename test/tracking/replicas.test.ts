import pino from 'pino';
import { openSqliteStore } from '../../src/store/sqlite';
import { leaseFencedStore, startPoller, type Poller } from '../../src/tracking/poller';
import type { BuildRequest, BuildRequestPatch, Store } from '../../src/store/store';
import type { Tracker } from '../../src/tracking/tracker';
import { newRequest, useTempFolder } from './helpers';
import { usePostgresSchema } from './postgresHelpers';

/*
 * Several replicas of the bot on one database: each request is advanced by one replica at a time, exactly once per
 * step, and a replica that dies or stalls has its requests taken over once its leases end. Run against PostgreSQL
 * (the deployment with replicas) and SQLite (two processes on one file behave the same).
 */

const temp = useTempFolder();
const pg = usePostgresSchema();

const MINUTE_MS = 60_000;
const LEASE_MS = MINUTE_MS;
const TICK_MS = 5;

function manualClock(start = '2025-03-01T10:00:00.000Z') {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** What a step of a replica's tracker writes. */
type StepPatch = (request: BuildRequest) => Promise<BuildRequestPatch>;

interface Step {
  requestId: string;
  replica: string;
}

/**
 * The replicas' trackers: every step is recorded, takes a moment (so replicas overlap), counts itself on the row
 * (`pollFailures`, which nothing else touches here) and schedules the next step a minute later, writing, as the
 * real tracker does, through the store fenced with its replica's lease.
 */
function world(clock: ReturnType<typeof manualClock>) {
  const steps: Step[] = [];
  const active = new Set<string>();
  const state = { overlapped: false };
  const pollers: Poller[] = [];

  const countedStep: StepPatch = async (request) => {
    await pause(1);
    return { pollFailures: request.pollFailures + 1, nextPollAt: new Date(clock.now().getTime() + MINUTE_MS) };
  };

  function tracker(store: Store, replica: string, step: StepPatch): Tracker {
    const fenced = leaseFencedStore(store, replica);
    return {
      async advance(request) {
        if (active.has(request.id)) state.overlapped = true;
        active.add(request.id);
        steps.push({ requestId: request.id, replica });
        try {
          return await fenced.update(request.id, await step(request));
        } finally {
          active.delete(request.id);
        }
      },
    };
  }

  function replica(store: Store, name: string, options: { step?: StepPatch } = {}) {
    const log = capturingLogger();
    const poller = startPoller({
      store,
      tracker: tracker(store, name, options.step ?? countedStep),
      clock,
      logger: log.logger,
      tickMs: TICK_MS,
      concurrency: 3,
      owner: name,
      leaseMs: LEASE_MS,
    });
    pollers.push(poller);
    return { poller, log };
  }

  const stepsOf = (id: string) => steps.filter((step) => step.requestId === id);
  return { steps, stepsOf, state, replica, stopAll: () => Promise.all(pollers.splice(0).map((p) => p.stop())) };
}

describe.each([
  ['PostgreSQL', () => pg.open()],
  ['SQLite', async () => temp.closeLater(await openSqliteStore({ path: temp.file() }))],
])('replicas sharing one %s database', (_, open: () => Promise<Store>) => {
  let stopAll: () => Promise<unknown> = async () => undefined;
  afterEach(async () => {
    await stopAll();
  });

  async function requests(store: Store, count: number, clock: ReturnType<typeof manualClock>) {
    const rows = [];
    for (let i = 0; i < count; i += 1) rows.push((await store.insert(newRequest({ createdAt: clock.now() }))).request);
    return rows;
  }

  it('advance every request exactly once per step, leaving none behind', async () => {
    const clock = manualClock();
    const w = world(clock);
    stopAll = w.stopAll;
    const [storeA, storeB] = [await open(), await open()];
    const rows = await requests(storeA, 20, clock);

    const a = w.replica(storeA, 'replica-a');
    const b = w.replica(storeB, 'replica-b');
    await waitFor(() => w.steps.length >= rows.length, 'every request was advanced once');
    await Promise.all([a.poller.idle(), b.poller.idle()]);
    await pause(10 * TICK_MS);

    expect(rows.map((row) => w.stepsOf(row.id).length)).toEqual(rows.map(() => 1));
    expect(new Set(w.steps.map((step) => step.replica))).toEqual(new Set(['replica-a', 'replica-b']));
    expect((await storeB.listUnfinished()).map((row) => row.pollFailures)).toEqual(rows.map(() => 1));

    clock.advance(MINUTE_MS);
    await waitFor(() => w.steps.length >= 2 * rows.length, 'every request was advanced a second time');
    await Promise.all([a.poller.idle(), b.poller.idle()]);
    await pause(10 * TICK_MS);

    expect(rows.map((row) => w.stepsOf(row.id).length)).toEqual(rows.map(() => 2));
    expect((await storeA.listUnfinished()).map((row) => row.pollFailures)).toEqual(rows.map(() => 2));
    expect(w.state.overlapped).toBe(false);
    expect([...a.log.lines, ...b.log.lines].filter((line) => line.level >= 40)).toEqual([]);
  });

  it("take over a dead replica's requests once its leases have ended, and not before", async () => {
    const clock = manualClock();
    const w = world(clock);
    stopAll = w.stopAll;
    const [dead, survivor] = [await open(), await open()];
    const rows = await requests(dead, 5, clock);
    // What a replica leaves behind when it dies mid-step: leases nobody renews or releases.
    expect(await dead.claimDue('dead-replica', clock.now(), LEASE_MS, 10)).toHaveLength(rows.length);
    await dead.close();

    const b = w.replica(survivor, 'replica-b');
    await pause(20 * TICK_MS);
    expect(w.steps).toEqual([]);

    clock.advance(LEASE_MS);
    await waitFor(() => w.steps.length >= rows.length, 'every request was taken over');
    await b.poller.idle();
    await pause(10 * TICK_MS);

    expect(rows.map((row) => w.stepsOf(row.id).map((step) => step.replica))).toEqual(rows.map(() => ['replica-b']));
    expect((await survivor.listUnfinished()).map((row) => row.pollFailures)).toEqual(rows.map(() => 1));
  });

  it('refuse the writes of a replica that stalled past its lease, so it cannot undo what the new owner did', async () => {
    const clock = manualClock();
    const w = world(clock);
    stopAll = w.stopAll;
    const [storeA, storeB] = [await open(), await open()];
    const [row] = await requests(storeA, 1, clock);
    let resume!: () => void;
    const stalled = new Promise<void>((resolve) => {
      resume = resolve;
    });

    // Frozen means nothing of A runs, its poller included: left ticking, it would find its own lease ended and
    // claim the request again before B could.
    let frozen = false;
    const frozenStoreA: Store = Object.assign(Object.create(storeA) as Store, {
      claimDue: async (...args: Parameters<Store['claimDue']>) => {
        if (frozen) await stalled;
        return storeA.claimDue(...args);
      },
    });
    const a = w.replica(frozenStoreA, 'replica-a', {
      step: async () => {
        // Frozen (a paused VM, say): no renewal, no write, until long after its lease ended.
        frozen = true;
        await stalled;
        return { status: 'building', nextPollAt: new Date(clock.now().getTime() + MINUTE_MS) };
      },
    });
    await waitFor(() => w.steps.length === 1, 'replica A started its step');
    clock.advance(LEASE_MS);
    const b = w.replica(storeB, 'replica-b', {
      step: async () => ({ status: 'success', nextPollAt: new Date(clock.now().getTime() + MINUTE_MS) }),
    });
    await waitFor(() => w.steps.length === 2, 'replica B took the request over');
    await b.poller.idle();

    resume();
    await a.poller.idle();

    expect(w.steps.map((step) => step.replica)).toEqual(['replica-a', 'replica-b']);
    expect(await storeA.get(row!.id)).toMatchObject({ status: 'success' });
    const takenOver = { level: 40, msg: 'another replica took this request over; this step stopped' };
    expect(a.log.lines).toEqual(expect.arrayContaining([expect.objectContaining(takenOver)]));
  });
});
