import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { ReplicaDirectory } from '../store/store';

/*
 * Who the replicas sharing one database are. Each process names itself `host:pid:nonce` in leases and in the
 * `replicas` table. From that name a process can tell that a lease owner was an earlier run of the bot on its own
 * machine that has since died (kill -9, a container restart), and take its requests back at once rather than wait
 * for its leases to end. And by heartbeats every replica counts the live ones, to take its share of the limits kept
 * for the whole deployment.
 */

/** A name for this process in leases: readable in the database (host, pid) and unique however often it restarts. */
export function newReplicaId(host: string = hostname(), pid: number = process.pid): string {
  return `${host}:${pid}:${randomUUID().slice(0, 8)}`;
}

export interface ReplicaName {
  hostname: string;
  pid: number;
  nonce: string;
}

/** The parts of a name `newReplicaId` made; undefined for any other name (a test's 'replica-a', say). */
export function parseReplicaId(id: string): ReplicaName | undefined {
  // From the right: the pid and the nonce never hold a colon, a host name (in principle) may.
  const match = /^(.+):([1-9][0-9]{0,9}):([0-9a-f]{8})$/.exec(id);
  if (!match) return undefined;
  const [, host, pid, nonce] = match as unknown as [string, string, string, string];
  return { hostname: host, pid: Number(pid), nonce };
}

/** This process, as `isDeadIncarnation` needs to know it. */
export interface ThisProcess {
  /** The name this process holds leases under. */
  replicaId: string;
  hostname: string;
  pid: number;
  /** Whether a process with this pid runs on this machine now. */
  isAlive(pid: number): boolean;
}

/**
 * Whether the lease owner `owner` is certainly an earlier run of the bot on this machine that is no longer alive:
 * same host name, and either no process has its pid any more, or its pid is this very process's under another name
 * (a restarted container, whose process gets the same pid again). Owners on other hosts, and live processes on
 * this one (another replica on the same machine), are left alone; so is any name `newReplicaId` did not make.
 *
 * This relies on host names telling machines apart, and on processes with the same host name seeing each other's
 * pids. Containers that share a host name but not a pid namespace (host networking, a fixed `hostname:`) would
 * take each other's live replicas for dead when they start: give each a host name of its own.
 */
export function isDeadIncarnation(owner: string, self: ThisProcess): boolean {
  if (owner === self.replicaId) return false;
  const name = parseReplicaId(owner);
  if (!name || name.hostname !== self.hostname) return false;
  if (name.pid === self.pid) return true;
  return !self.isAlive(name.pid);
}

/**
 * Whether a process with this pid exists: signal 0 checks without sending anything. ESRCH means there is none;
 * EPERM means there is one that belongs to someone else. Anything else is taken as alive: a lease is released
 * only when its owner is certainly gone.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pid must be a whole number > 0, got ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}

/** This process under the name `replicaId`, with the real host name, pid and process table. */
export function thisProcess(replicaId: string): ThisProcess {
  return { replicaId, hostname: hostname(), pid: process.pid, isAlive: isProcessAlive };
}

/**
 * How often a replica says it is alive (one silent for three times as long is no longer counted): two thirds of the
 * poll interval, so a replica joining is counted by the others before they poll much on the whole budget; 10 s at
 * the default pace.
 */
export const replicaHeartbeatMs = (pollIntervalMs: number) => Math.min(10_000, Math.max(100, (2 * pollIntervalMs) / 3));

export interface ReplicaRegistryOptions {
  store: ReplicaDirectory;
  /** This replica's name, the one its leases are taken under. */
  owner: string;
  clock: Clock;
  logger: Logger;
  /** How often this replica says it is alive; a replica silent for three times as long is forgotten. */
  intervalMs: number;
  /**
   * Told how many replicas are alive (at least 1: this one) whenever the number changes. Until the first heartbeat
   * answers, the count is taken to be 1.
   */
  onCount?: (count: number) => void;
  /**
   * Whether a replica in the directory is an earlier run of this one that is certainly dead (see
   * `isDeadIncarnation`); such entries are removed before the first count, so a restart after a crash does not
   * share the budgets with its own ghost until it goes stale. None are removed without it.
   */
  isDeadIncarnation?: (replica: string) => boolean;
}

export interface ReplicaRegistry {
  /** The live replicas as last counted, this one included. */
  readonly count: number;
  /** Resolves once the first heartbeat has been answered (or has failed). */
  readonly ready: Promise<void>;
  /** Stops the heartbeats and removes this replica from the count, so the others take its share at once. */
  stop(): Promise<void>;
}

/**
 * Says every `intervalMs` that this replica is alive and counts the live ones, telling `onCount` of every change.
 * When the store cannot be reached the last count is kept (the replicas are most likely all still there) and the
 * failure is logged once until a heartbeat gets through again.
 */
export function startReplicaRegistry(options: ReplicaRegistryOptions): ReplicaRegistry {
  const { store, owner, clock, logger, intervalMs } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`intervalMs must be a number > 0, got ${intervalMs}`);
  }
  const staleAfterMs = 3 * intervalMs;
  let count = 1;
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;

  async function beat(): Promise<void> {
    try {
      const live = Math.max(1, await store.heartbeat(owner, clock.now(), staleAfterMs));
      if (failing) {
        failing = false;
        logger.info({ owner }, 'the replica heartbeat reaches the store again');
      }
      if (live !== count && !stopped) {
        const previous = count;
        count = live;
        logger.info({ owner, replicas: live, previous }, 'the number of live replicas changed');
        options.onCount?.(live);
      }
    } catch (error) {
      if (!failing) {
        failing = true;
        logger.warn(
          { err: error, owner, replicas: count },
          'could not record the replica heartbeat; keeping the last count of live replicas',
        );
      }
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      beating = beat().finally(() => {
        beating = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref?.();
  }

  /** Forgets the entries of this replica's dead earlier runs; a failure only leaves them to go stale. */
  async function forgetDeadIncarnations(): Promise<void> {
    const isDead = options.isDeadIncarnation;
    if (!isDead) return;
    try {
      const dead = (await store.listReplicas()).filter((replica) => isDead(replica));
      for (const replica of dead) await store.retire(replica);
      if (dead.length > 0)
        logger.info(
          { owner, forgotten: dead.length },
          'forgot the heartbeats of earlier runs of this replica that are no longer alive',
        );
    } catch (error) {
      logger.warn({ err: error, owner }, 'could not look for the heartbeats of earlier runs; they will go stale');
    }
  }

  const ready = forgetDeadIncarnations().then(beat);
  beating = ready.finally(() => {
    beating = undefined;
    schedule();
  });

  return {
    get count() {
      return count;
    },
    ready,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // A heartbeat under way finishes first (and, being stopped, arms no other), so it cannot follow the retirement.
      await beating;
      await store
        .retire(owner)
        .catch((error: unknown) =>
          logger.warn(
            { err: error, owner },
            'could not remove this replica from the store; it will be forgotten once stale',
          ),
        );
    },
  };
}
