import pino from 'pino';
import {
  startExpiryWatcher,
  type ExpiryProjection,
  type ExpiryWatcher,
  type ExpiryWatcherOptions,
} from '../../src/tracking/expiryWatcher';
import { EXPIRY_BATCH_SIZE, openSqliteStore } from '../../src/store/sqlite';
import type { BuildRequest, BuildRequestPatch, Store } from '../../src/store/store';
import { newRequest, useTempFolder } from './helpers';

/*
 * The expiry watcher over the real SQLite store (its queries decide what is due, in which order, in what batches)
 * with a projection that records what it was asked to show instead of talking to Slack.
 */

const temp = useTempFolder();

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const NOW = new Date('2025-03-15T09:00:00.000Z');
const REMIND_BEFORE = 2 * DAY;

let store: Store;
const watchers: ExpiryWatcher[] = [];
let logLines: Record<string, unknown>[];

beforeEach(async () => {
  store = await openSqliteStore({ path: temp.file() });
  logLines = [];
});
afterEach(async () => {
  // Stopped before the store closes: a round in hand still reads and writes it.
  await Promise.all(watchers.splice(0).map((w) => w.stop()));
  await store.close();
});

const later = (ms: number) => new Date(NOW.getTime() + ms);

/** A successful build whose image expires at `expiresAt`, named so the test can tell builds apart. */
async function finishedBuild(name: string, expiresAt: Date, patch: BuildRequestPatch = {}): Promise<BuildRequest> {
  const { request } = await store.insert(newRequest({ imageName: name }));
  return store.update(request.id, {
    state: 'done',
    status: 'success',
    composeId: `compose-${name}`,
    expiresAt,
    ...patch,
  });
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Records what it was asked to do, by image name, and marks the row as the real projection does. */
function recordingProjection() {
  const calls: string[] = [];
  const failRemind = new Set<string>();
  let holdRemind: Promise<void> | undefined;
  let sent = true;
  const projection: ExpiryProjection = {
    async remind(request) {
      calls.push(`remind ${request.imageName}`);
      if (holdRemind) await holdRemind;
      if (failRemind.delete(request.imageName!)) throw new Error('Slack is unavailable');
      return {
        request: await store.update(request.id, { reminderTs: sent ? `ts-${request.imageName}` : 'none' }),
        sent,
      };
    },
    async noteExpired(request) {
      calls.push(`expired ${request.imageName}`);
      return store.update(request.id, { expiredNotedAt: NOW });
    },
  };
  return {
    projection,
    calls,
    /** The next reminder of this build throws, as a Slack outage would make it. */
    failNextReminder: (name: string) => failRemind.add(name),
    /** Every reminder waits until the returned function is called. */
    holdReminders() {
      const held = deferred();
      holdRemind = held.promise;
      return () => {
        holdRemind = undefined;
        held.resolve();
      };
    },
    /** The projection finds nothing to remind of (no thread, not a success). */
    sendNothing() {
      sent = false;
    },
  };
}

function watch(projection: ExpiryProjection, options: Partial<ExpiryWatcherOptions> = {}) {
  const reminded: string[] = [];
  const expired: string[] = [];
  const watcher = startExpiryWatcher({
    store,
    owner: 'replica-test',
    leaseMs: 60_000,
    projection,
    clock: { now: () => NOW },
    logger: pino(
      { level: 'debug' },
      { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) },
    ),
    remindBeforeMs: REMIND_BEFORE,
    // Long, so that only the round at start and those a test asks for run, unless a test sets it.
    intervalMs: 60_000,
    onReminded: (request) => reminded.push(`${request.imageName} ${request.reminderTs}`),
    onExpired: (request) => expired.push(`${request.imageName} ${request.expiredNotedAt?.toISOString()}`),
    ...options,
  });
  watchers.push(watcher);
  return { watcher, reminded, expired };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('the expiry watcher', () => {
  it('reminds of each image inside the window once and notes each expired one once, soonest expiry first', async () => {
    await finishedBuild('in-a-day', later(DAY));
    await finishedBuild('in-half-a-day', later(12 * HOUR));
    await finishedBuild('in-three-days', later(3 * DAY));
    await finishedBuild('already-reminded', later(HOUR), { reminderTs: '1741942800.000100' });
    await finishedBuild('gone-an-hour-ago', later(-HOUR));
    await finishedBuild('gone-two-hours-ago', later(-2 * HOUR));
    const { projection, calls } = recordingProjection();
    const { watcher, reminded, expired } = watch(projection);

    await watcher.runOnce();
    await watcher.runOnce();

    // Reminders before notes, each in the order the images go.
    expect(calls).toEqual([
      'remind in-half-a-day',
      'remind in-a-day',
      'expired gone-two-hours-ago',
      'expired gone-an-hour-ago',
    ]);
    expect(reminded).toEqual(['in-half-a-day ts-in-half-a-day', 'in-a-day ts-in-a-day']);
    expect(expired).toEqual([`gone-two-hours-ago ${NOW.toISOString()}`, `gone-an-hour-ago ${NOW.toISOString()}`]);
  });

  it('runs a round as soon as it starts, for what fell due while the bot was down', async () => {
    await finishedBuild('due-while-down', later(DAY));
    const { projection, calls } = recordingProjection();

    watch(projection);

    await waitFor(() => calls.length === 1, 'the reminder due at start was sent');
    expect(calls).toEqual(['remind due-while-down']);
  });

  it('works through a backlog bigger than one batch of the store in a single round', async () => {
    const names = Array.from({ length: EXPIRY_BATCH_SIZE + 5 }, (_, i) => `build-${String(i).padStart(3, '0')}`);
    // Latest expiry first, so the order can only come from the expiry.
    for (const [i, name] of [...names.entries()].reverse()) await finishedBuild(name, later(HOUR + i * 1000));
    const { projection, calls } = recordingProjection();
    const { watcher } = watch(projection);

    await watcher.runOnce();

    expect(calls).toEqual(names.map((name) => `remind ${name}`));
    expect(await store.listNeedingReminder(NOW, REMIND_BEFORE)).toEqual([]);
  });

  it('tries a reminder that failed again in the next round, and holds up none of the others meanwhile', async () => {
    await finishedBuild('slack-fails', later(HOUR));
    await finishedBuild('fine', later(2 * HOUR));
    await finishedBuild('gone', later(-HOUR));
    const { projection, calls, failNextReminder } = recordingProjection();
    failNextReminder('slack-fails');
    const { watcher, reminded } = watch(projection);

    await watcher.runOnce();
    expect(calls).toEqual(['remind slack-fails', 'remind fine', 'expired gone']);
    expect(reminded).toEqual(['fine ts-fine']);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'sending an expiry reminder failed; will try again',
        composeId: 'compose-slack-fails',
      }),
    );

    await watcher.runOnce();
    expect(calls.slice(3)).toEqual(['remind slack-fails']);
    expect(reminded).toEqual(['fine ts-fine', 'slack-fails ts-slack-fails']);
  });

  it('keeps going after a round that failed altogether', async () => {
    await finishedBuild('in-a-day', later(DAY));
    const { projection, calls } = recordingProjection();
    let reads = 0;
    const flakyStore: ExpiryWatcherOptions['store'] = {
      listNeedingReminder: (now, withinMs) => {
        reads += 1;
        return reads === 1
          ? Promise.reject(new Error('SQLITE_BUSY: database is locked'))
          : store.listNeedingReminder(now, withinMs);
      },
      listNewlyExpired: (now) => store.listNewlyExpired(now),
      claim: (...args) => store.claim(...args),
      releaseClaim: (...args) => store.releaseClaim(...args),
      expireApprovals: (now) => store.expireApprovals(now),
    };

    watch(projection, { store: flakyStore, intervalMs: 5 });

    await waitFor(() => calls.length === 1, 'a later round sent the reminder');
    expect(calls).toEqual(['remind in-a-day']);
    expect(logLines).toContainEqual(expect.objectContaining({ level: 40, msg: 'expiry round failed; will try again' }));
  });

  it('does not report a reminder the projection had nothing to send for', async () => {
    await finishedBuild('no-thread', later(DAY));
    const { projection, calls, sendNothing } = recordingProjection();
    sendNothing();
    const { watcher, reminded } = watch(projection);

    await watcher.runOnce();
    await watcher.runOnce();

    expect(calls).toEqual(['remind no-thread']);
    expect(reminded).toEqual([]);
    expect(logLines.map((l) => l.msg)).not.toContain('expiry reminder sent');
  });

  it('never runs two rounds at once', async () => {
    await finishedBuild('in-a-day', later(DAY));
    const { projection, calls, holdReminders } = recordingProjection();
    const release = holdReminders();
    const { watcher } = watch(projection);

    await waitFor(() => calls.length === 1, 'the first round is sending');
    const second = watcher.runOnce();
    const third = watcher.runOnce();
    release();
    await Promise.all([second, third]);

    expect(second).toBe(third);
    expect(calls).toEqual(['remind in-a-day']);
  });

  it('on stop, finishes the reminder in hand, starts no other, and runs no more rounds', async () => {
    await finishedBuild('first', later(HOUR));
    await finishedBuild('second', later(2 * HOUR));
    await finishedBuild('gone', later(-HOUR));
    const { projection, calls, holdReminders } = recordingProjection();
    const release = holdReminders();
    const { watcher, reminded } = watch(projection, { intervalMs: 5 });
    await waitFor(() => calls.length === 1, 'the first reminder is in hand');

    let stopped = false;
    const stopping = watcher.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // It waits for the reminder in hand rather than leaving it half done.
    expect(stopped).toBe(false);
    release();
    await stopping;

    expect(reminded).toEqual(['first ts-first']);
    await watcher.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toEqual(['remind first']);
  });
});

it('sends one reminder when two replicas share the database', async () => {
  await finishedBuild('shared', later(DAY));
  const first = recordingProjection();
  const second = recordingProjection();
  const a = startExpiryWatcher({
    store,
    owner: 'replica-a',
    leaseMs: 60_000,
    projection: first.projection,
    clock: { now: () => NOW },
    logger: pino({ level: 'silent' }),
    remindBeforeMs: REMIND_BEFORE,
    intervalMs: 60_000,
  });
  const b = startExpiryWatcher({
    store,
    owner: 'replica-b',
    leaseMs: 60_000,
    projection: second.projection,
    clock: { now: () => NOW },
    logger: pino({ level: 'silent' }),
    remindBeforeMs: REMIND_BEFORE,
    intervalMs: 60_000,
  });
  await Promise.all([a.runOnce(), b.runOnce()]);
  await Promise.all([a.runOnce(), b.runOnce()]);
  await Promise.all([a.stop(), b.stop()]);
  expect([...first.calls, ...second.calls]).toEqual(['remind shared']);
});
