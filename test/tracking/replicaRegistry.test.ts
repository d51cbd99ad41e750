import { spawnSync } from 'node:child_process';
import pino from 'pino';
import {
  isDeadIncarnation,
  isProcessAlive,
  newReplicaId,
  parseReplicaId,
  startReplicaRegistry,
  type ReplicaRegistry,
  type ThisProcess,
} from '../../src/tracking/replicas';
import { openSqliteStore } from '../../src/store/sqlite';
import type { ReplicaDirectory } from '../../src/store/store';
import { useTempFolder } from './helpers';

/*
 * Who the replicas on one database are: telling a dead earlier run of this replica from a live neighbour, and
 * counting the live replicas so that each takes its share of the deployment's budgets.
 */

const temp = useTempFolder();

describe('replica names', () => {
  it('are read back as the host, pid and nonce they were made of, also for a host name with colons', () => {
    const id = newReplicaId('build-host', 4242);

    expect(parseReplicaId(id)).toEqual({ hostname: 'build-host', pid: 4242, nonce: id.slice(-8) });
    expect(newReplicaId('build-host', 4242)).not.toBe(id);
    expect(parseReplicaId('fe80::1:77:0123abcd')).toEqual({ hostname: 'fe80::1', pid: 77, nonce: '0123abcd' });
  });

  it.each([
    'replica-a',
    'build-host:4242',
    'build-host:abc:0123abcd',
    'build-host:0:0123abcd',
    ':4242:0123abcd',
    'build-host:4242:XYZ',
  ])('are not recognised in %s, which newReplicaId did not make', (name) => {
    expect(parseReplicaId(name)).toBeUndefined();
  });
});

describe('telling a dead earlier run of this replica', () => {
  const self: ThisProcess = {
    replicaId: 'build-host:4242:0000aaaa',
    hostname: 'build-host',
    pid: 4242,
    isAlive: (pid) => pid === 4242 || pid === 5151,
  };

  it.each([
    ['a process on this host that no longer runs (kill -9, then a restart)', 'build-host:3131:deadbeef', true],
    ['a process with our pid under another name (a restarted container)', 'build-host:4242:0000bbbb', true],
    ['a live process on this host (another replica beside us)', 'build-host:5151:cafef00d', false],
    ['a process on another host, whatever its pid', 'other-host:3131:deadbeef', false],
    ['a process on another host with our pid', 'other-host:4242:0000bbbb', false],
    ['this very process', 'build-host:4242:0000aaaa', false],
    ['a name of another form', 'replica-a', false],
  ])('%s (%s) is dead: %s', (_, owner, dead) => {
    expect(isDeadIncarnation(owner, self)).toBe(dead);
  });

  it('is never decided by asking about a pid on another host', () => {
    const isAlive = jest.fn(() => false);

    expect(isDeadIncarnation('other-host:3131:deadbeef', { ...self, isAlive })).toBe(false);
    expect(isAlive).not.toHaveBeenCalled();
  });
});

describe('whether a process is alive', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('is true for this process and false for one that has exited', () => {
    const exited = spawnSync(process.execPath, ['-e', '']);

    expect(isProcessAlive(process.pid)).toBe(true);
    expect(exited.pid).toBeGreaterThan(0);
    expect(isProcessAlive(exited.pid)).toBe(false);
  });

  it.each([
    ['ESRCH (no such process)', false, 'ESRCH'],
    ["EPERM (someone else's process)", true, 'EPERM'],
    ['any other failure', true, 'EINVAL'],
  ])('takes %s to mean alive: %s', (_, alive, code) => {
    jest.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error(code), { code });
    });

    expect(isProcessAlive(31337)).toBe(alive);
  });

  it('refuses a pid that would signal a group of processes', () => {
    const kill = jest.spyOn(process, 'kill');

    expect(() => isProcessAlive(0)).toThrow(RangeError);
    expect(() => isProcessAlive(-1)).toThrow(RangeError);
    expect(kill).not.toHaveBeenCalled();
  });
});

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; [field: string]: unknown }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('the replica registry', () => {
  const INTERVAL_MS = 1000;
  const clock = { now: () => new Date() };
  const registries: ReplicaRegistry[] = [];

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2025-03-01T10:00:00.000Z') });
  });
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((registry) => registry.stop()));
    jest.useRealTimers();
  });

  function start(store: ReplicaDirectory, owner: string, isDeadIncarnation?: (replica: string) => boolean) {
    const counts: number[] = [];
    const log = capturingLogger();
    const registry = startReplicaRegistry({
      store,
      owner,
      clock,
      logger: log.logger,
      intervalMs: INTERVAL_MS,
      onCount: (count) => counts.push(count),
      ...(isDeadIncarnation ? { isDeadIncarnation } : {}),
    });
    registries.push(registry);
    return { registry, counts, log };
  }

  it('tells each replica how many are alive as replicas start and stop', async () => {
    const store = temp.closeLater(await openSqliteStore({ path: temp.file() }));
    const a = start(store, 'replica-a');
    await a.registry.ready;
    expect(a.registry.count).toBe(1);

    const b = start(store, 'replica-b');
    await b.registry.ready;
    expect(b.counts).toEqual([2]);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(a.counts).toEqual([2]);

    await b.registry.stop();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    expect(a.counts).toEqual([2, 1]);
    expect(a.registry.count).toBe(1);
    expect(b.counts).toEqual([2]);
  });

  it('stops counting a replica that died without a word three intervals after its last heartbeat', async () => {
    const store = temp.closeLater(await openSqliteStore({ path: temp.file() }));
    // All a replica killed with -9 leaves behind.
    await store.heartbeat('killed-replica', clock.now(), 3 * INTERVAL_MS);

    const a = start(store, 'replica-a');
    await a.registry.ready;
    await jest.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(a.counts).toEqual([2]);

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(a.counts).toEqual([2, 1]);
  });

  it('forgets the heartbeats of its own dead earlier runs before it counts, and no one else’s', async () => {
    const store = temp.closeLater(await openSqliteStore({ path: temp.file() }));
    // A run killed a moment ago, and a live neighbour; both beat within the staleness.
    await store.heartbeat('host-1:100:dead0000', clock.now(), 3 * INTERVAL_MS);
    await store.heartbeat('host-1:200:alive000', clock.now(), 3 * INTERVAL_MS);

    const restarted = start(store, 'host-1:300:new00000', (replica) => replica === 'host-1:100:dead0000');
    await restarted.registry.ready;

    expect(restarted.registry.count).toBe(2);
    expect((await store.listReplicas()).sort()).toEqual(['host-1:200:alive000', 'host-1:300:new00000']);
    expect(restarted.log.lines.map((line) => line.msg)).toContain(
      'forgot the heartbeats of earlier runs of this replica that are no longer alive',
    );
  });

  it('keeps the last count while the store cannot be reached, saying so once, and follows it again after', async () => {
    const answers: Array<number | Error> = [2, new Error('connection refused'), new Error('connection refused'), 3];
    const store: ReplicaDirectory = {
      heartbeat: jest.fn(async () => {
        const answer = answers.shift() ?? 3;
        if (answer instanceof Error) throw answer;
        return answer;
      }),
      retire: jest.fn(async () => undefined),
      listReplicas: jest.fn(async () => []),
    };

    const a = start(store, 'replica-a');
    await a.registry.ready;
    await jest.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(a.registry.count).toBe(2);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    expect(a.counts).toEqual([2, 3]);
    expect(a.log.lines.filter((line) => line.level === 40)).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('could not record the replica heartbeat'), replicas: 2 }),
    ]);
    expect(a.log.lines.map((line) => line.msg)).toContain('the replica heartbeat reaches the store again');
  });

  it('lets a heartbeat under way finish before it retires, and beats no more once stopped', async () => {
    const calls: string[] = [];
    let answer!: (count: number) => void;
    const store: ReplicaDirectory = {
      heartbeat: async (owner) => {
        calls.push(`heartbeat ${owner}`);
        return calls.length === 1 ? 1 : new Promise<number>((resolve) => (answer = resolve));
      },
      retire: async (owner) => {
        calls.push(`retire ${owner}`);
      },
      listReplicas: async () => [],
    };
    const a = start(store, 'replica-a');
    await a.registry.ready;
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    const stopping = a.registry.stop();
    answer(2);
    await stopping;
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);

    expect(calls).toEqual(['heartbeat replica-a', 'heartbeat replica-a', 'retire replica-a']);
    expect(a.counts).toEqual([]);
  });

  it('refuses an interval of no length', async () => {
    const store = temp.closeLater(await openSqliteStore({ path: temp.file() }));

    expect(() =>
      startReplicaRegistry({ store, owner: 'replica-b', clock, logger: capturingLogger().logger, intervalMs: 0 }),
    ).toThrow(RangeError);
  });
});
