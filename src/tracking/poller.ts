import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { isDeadIncarnation, newReplicaId, thisProcess } from './replicas';
import { isStoreError } from '../store/rows';
import type { BuildRequest, BuildRequestStore } from '../store/store';
import type { Tracker } from './tracker';

/*
 * Takes due requests from the store — never from memory — so a restart resumes every build, and hands each to the
 * tracker for one step. Several replicas may poll one database: a request is taken with a lease (claimDue), so it
 * is advanced by one replica, one step at a time. The lease is renewed while the step runs and released after
 * it; a replica that dies stops renewing, and once its leases have ended another replica takes the requests over.
 *
 * Duplicates. A Slack message is posted, then its ts saved: a step cut off in between is the one way a message can
 * be posted twice, and leases do not change that. What they add is a replica that stalls (a frozen VM, a long
 * pause) past its lease while another one takes over. Renewal makes that a matter of a whole lease without a
 * word from the stalled replica; and when the tracker writes through `leaseFencedStore`, the stalled replica's
 * next write is refused (`lease-lost`) and its step ends there, before it posts anything further. What it had
 * already posted unsaved at that moment is the window that remains.
 */

export interface PollerOptions {
  store: BuildRequestStore;
  tracker: Tracker;
  clock: Clock;
  logger: Logger;
  /** How often the store is asked for due work. */
  tickMs: number;
  /** Requests advanced at once, of any kind. */
  concurrency?: number;
  /**
   * Slots of their own for submissions, on top of `concurrency`: steps that wait for Slack (threads posted at a
   * channel's pace) never keep a new request from being sent. None by default.
   */
  submitConcurrency?: number;
  /** This replica's name in leases, unique per process (`newReplicaId()` when absent). */
  owner?: string;
  /**
   * How long a lease lasts without renewal: how soon another replica takes over the requests of one that died.
   * Renewed every third of it while a step runs, so a step may take longer; a few poll intervals is plenty.
   */
  leaseMs?: number;
  /**
   * Whether a lease owner is an earlier run of this replica that is certainly dead (killed, its container
   * restarted); at start its leases are released, so its builds move on at once instead of a lease later. By
   * default `isDeadIncarnation` of replicas.ts, for this host and process.
   */
  isDeadIncarnation?: (owner: string) => boolean;
  /** Told how many requests are unfinished, at every look for due work (metrics). */
  onScan?: (unfinished: number) => void;
  /** Told how late each request was advanced compared to when it was due (metrics). */
  onLag?: (lagMs: number) => void;
}

export interface Poller {
  /** The name this poller takes leases under. */
  readonly owner: string;
  /** Looks for due work now (a new request was just written). */
  wake(): void;
  /** Stops taking new work and waits for the requests in hand to finish their step. */
  stop(): Promise<void>;
  /** Resolves when nothing is in hand; for tests and shutdown. */
  idle(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 60_000;

/** A lease lasts this many poll intervals (at least DEFAULT_LEASE_MS), so a slow step is not taken over. */
export const LEASE_POLL_INTERVALS = 4;

/** The lease a replica polling every `pollIntervalMs` takes. */
export const leaseMsFor = (pollIntervalMs: number) => Math.max(DEFAULT_LEASE_MS, LEASE_POLL_INTERVALS * pollIntervalMs);

/** The longest the poller waits between looks for due work. */
export const MAX_TICK_MS = 1000;

/**
 * Steps run at once. A step waits for Image Builder (within the request budget) and, when the build's thread is
 * posted or it ends, for its turn to post in the channel; edits in between do not hold it. Enough steps at once that
 * builds ending together in one channel do not keep the others from being polled.
 */
export const POLL_CONCURRENCY = 16;

/**
 * Further steps only for submissions. A plain build's submission sends it and ends, its thread posted by the next
 * step, so these slots are held only while Image Builder answers; 8 is more than a 10-requests-a-second budget
 * keeps busy. (A request held for approval, or a blueprint order, posts first and so holds one longer.)
 */
export const SUBMIT_CONCURRENCY = 8;

export { newReplicaId };

/**
 * The store as the tracker and its thread projection should write through: every `update` is made only while
 * `owner` still holds the request's lease, and fails with a `lease-lost` StoreError once another replica has taken
 * the request over. Only for code that runs inside a poller's step, which holds the lease; anything else (the
 * listeners, a watcher that claims nothing) must write through the plain store.
 */
export function leaseFencedStore<S extends Pick<BuildRequestStore, 'update'>>(store: S, owner: string): S {
  const update: BuildRequestStore['update'] = (id, patch, options) =>
    store.update(id, patch, { ifLeasedBy: owner, ...options });
  return new Proxy(store, {
    get(target, property) {
      if (property === 'update') return update;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The options' values with their defaults, checked. */
function settingsOf(options: PollerOptions) {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }
  const submitConcurrency = options.submitConcurrency ?? 0;
  if (!Number.isInteger(submitConcurrency) || submitConcurrency < 0) {
    throw new RangeError(`submitConcurrency must be a whole number ≥ 0, got ${submitConcurrency}`);
  }
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be a number > 0, got ${leaseMs}`);
  const owner = options.owner ?? newReplicaId();
  const isDead =
    options.isDeadIncarnation ?? ((leaseOwner: string) => isDeadIncarnation(leaseOwner, thisProcess(owner)));
  return { slots: { any: concurrency, submit: submitConcurrency }, leaseMs, owner, isDead };
}

/** The poller's slots: for any due request, and for submissions only. */
type Slot = 'any' | 'submit';

type LeaseStore = Pick<BuildRequestStore, 'renewClaim' | 'releaseClaim'>;

/** Releases a lease after a step; when that fails the lease ends by itself. */
function releaseLease(store: LeaseStore, logger: Logger, requestId: string, owner: string): Promise<void> {
  return store
    .releaseClaim(requestId, owner)
    .catch((error: unknown) =>
      logger.warn({ err: error, requestId }, 'could not release a lease; it will end by itself'),
    );
}

/** Renews the lease every third of its length until stopped; says so once if the lease was lost. */
function keepLease(
  store: LeaseStore,
  clock: Clock,
  logger: Logger,
  lease: { owner: string; leaseMs: number },
  request: BuildRequest,
) {
  const { owner, leaseMs } = lease;
  const renewal = setInterval(() => {
    store.renewClaim(request.id, owner, clock.now(), leaseMs).then(
      (held) => {
        if (held) return;
        clearInterval(renewal);
        logger.warn({ requestId: request.id, owner }, 'lost the lease of a request while advancing it');
      },
      (error: unknown) => logger.warn({ err: error, requestId: request.id }, 'could not renew a lease; will try again'),
    );
  }, leaseMs / 3);
  renewal.unref?.();
  return () => clearInterval(renewal);
}

/** Releases the leases of earlier runs of this replica that died; the first scan then claims their requests. */
async function takeBackFromDeadIncarnations(
  store: Pick<BuildRequestStore, 'listLeaseOwners' | 'releaseAllClaims'>,
  logger: Logger,
  owner: string,
  isDead: (leaseOwner: string) => boolean,
): Promise<void> {
  try {
    const dead = (await store.listLeaseOwners()).filter((leaseOwner) => leaseOwner !== owner && isDead(leaseOwner));
    if (dead.length === 0) return;
    let released = 0;
    for (const leaseOwner of dead) released += await store.releaseAllClaims(leaseOwner);
    logger.info(
      { owner, deadOwners: dead, requests: released },
      'took back the requests leased to an earlier run of this replica that is no longer alive',
    );
  } catch (error) {
    logger.warn({ err: error, owner }, "could not look for an earlier run's leases; they will end by themselves");
  }
}

/**
 * Tells `onScan` how many requests are unfinished, at most once per tick, as it reads every unfinished row (a scan
 * runs each time a slot frees). Failing to count must not keep the builds from moving on.
 */
function unfinishedCounter(options: PollerOptions): () => Promise<void> {
  const { store, clock, logger, tickMs, onScan } = options;
  let countedAt = -Infinity;
  return async () => {
    const now = clock.now().getTime();
    if (!onScan || now - countedAt < tickMs) return;
    countedAt = now;
    await store
      .countUnfinished()
      .then(onScan, (error: unknown) => logger.warn({ err: error }, 'could not count the unfinished requests'));
  };
}

/** One step of a request while this replica holds its lease, kept alive for as long as the step runs. */
async function advanceUnderLease(
  options: PollerOptions,
  lease: { owner: string; leaseMs: number },
  request: BuildRequest,
): Promise<void> {
  const { store, tracker, clock, logger } = options;
  if (request.nextPollAt) options.onLag?.(clock.now().getTime() - request.nextPollAt.getTime());
  const stopRenewing = keepLease(store, clock, logger, lease, request);
  try {
    await tracker.advance(request);
  } finally {
    stopRenewing();
    await releaseLease(store, logger, request.id, lease.owner);
  }
}

function logStepFailure(logger: Logger, error: unknown, requestId: string, owner: string): void {
  if (isStoreError(error, 'lease-lost')) {
    logger.warn({ requestId, owner }, 'another replica took this request over; this step stopped');
  } else {
    logger.error({ err: error, requestId }, 'advancing a request failed');
  }
}

/** The steps in hand, by request id, and the slot each holds. */
type InHand = Map<string, { work: Promise<void>; slot: Slot }>;

/** What filling a slot needs of the poller that owns it. */
interface SlotFilling {
  options: PollerOptions;
  lease: { owner: string; leaseMs: number };
  slots: Record<Slot, number>;
  inHand: InHand;
  stopped(): boolean;
  begin(request: BuildRequest, slot: Slot): void;
}

/** Claims as many due requests as `slot` has free (only submissions for its own) and starts them; full or not. */
async function fill(poller: SlotFilling, slot: Slot): Promise<boolean> {
  const { options, lease, slots, inHand } = poller;
  const { store, clock, logger } = options;
  const free = slots[slot] - [...inHand.values()].filter((step) => step.slot === slot).length;
  if (free <= 0) return slots[slot] > 0;
  // Only as many as can start now: a request leased here but waiting for a slot would wait for nothing while
  // another replica could have taken it.
  // The store also hands back a request leased to this replica whose lease is still running: a step that could
  // not release it (the store was down) is over, and the request must not wait a lease for nobody. What is in
  // hand is left out, so a long step does not take a slot from other due work at every scan.
  const claimed = await store.claimDue(lease.owner, clock.now(), lease.leaseMs, free, {
    except: [...inHand.keys()],
    ...(slot === 'submit' ? { state: 'submitting' as const } : {}),
  });
  for (const request of claimed) {
    const running = inHand.get(request.id);
    if (running) {
      // Not expected (what is in hand is left out of the claim, and scans run one at a time), but should our own
      // step still have it in hand, the step goes on and the claim is released once it is over, or the request
      // would wait a whole lease for nobody.
      void running.work.then(() => releaseLease(store, logger, request.id, lease.owner));
      continue;
    }
    if (poller.stopped()) {
      await store.releaseClaim(request.id, lease.owner).catch(() => undefined);
      continue;
    }
    poller.begin(request, slot);
  }
  return claimed.length === free;
}

export function startPoller(options: PollerOptions): Poller {
  const { store, logger, tickMs } = options;
  const { slots, leaseMs, owner, isDead } = settingsOf(options);
  const countUnfinished = unfinishedCounter(options);
  const inHand: InHand = new Map();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let scanning: Promise<void> | undefined;
  let rescan = false;
  /** The last look for work filled every free slot of a kind, so more may be due as soon as a slot frees. */
  let saturated = false;
  let scanQueued = false;

  /**
   * Looks for due work at the event loop's next turn. A step that asks no one anything (a build waiting for its final
   * edits) and SQLite's synchronous calls are only promises: looking again straight from a finished step would chain
   * scans and steps for as long as work is due, and Slack's paced calls (timers), the HTTP server and signals would
   * never get their turn.
   */
  function scanSoon() {
    if (scanQueued || stopped) return;
    scanQueued = true;
    setImmediate(() => {
      scanQueued = false;
      runScan();
    });
  }

  function begin(request: BuildRequest, slot: Slot) {
    const { id } = request;
    const work = advanceUnderLease(options, { owner, leaseMs }, request)
      .catch((error: unknown) => logStepFailure(logger, error, id, owner))
      .finally(() => {
        inHand.delete(id);
        if (saturated) scanSoon();
      });
    inHand.set(id, { work, slot });
  }

  /** Settled before the first look for work, and for good after it. */
  const takenBack = takeBackFromDeadIncarnations(store, logger, owner, isDead);

  async function scan(): Promise<void> {
    await takenBack;
    await countUnfinished();
    if (stopped) return;
    // Submissions first, into their own slots; then whatever is due, new requests first, into the others.
    const filling: SlotFilling = { options, lease: { owner, leaseMs }, slots, inHand, stopped: () => stopped, begin };
    const submitFull = await fill(filling, 'submit');
    const anyFull = await fill(filling, 'any');
    saturated = submitFull || anyFull;
  }

  function runScan() {
    if (stopped) return;
    if (scanning) {
      rescan = true;
      return;
    }
    scanning = scan()
      .catch((error: unknown) => logger.error({ err: error }, 'looking for due requests failed'))
      .finally(() => {
        scanning = undefined;
        if (rescan) {
          rescan = false;
          scanSoon();
        }
      });
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      runScan();
      schedule();
    }, tickMs);
    timer.unref?.();
  }

  runScan();
  schedule();

  async function idle() {
    while (scanning || scanQueued || inHand.size > 0) {
      await scanning;
      await Promise.all([...inHand.values()].map((step) => step.work));
      if (scanQueued) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return {
    owner,
    wake: runScan,
    idle,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await idle();
    },
  };
}
