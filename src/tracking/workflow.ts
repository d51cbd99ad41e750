import type { Logger } from 'pino';
import type { BuildAudit } from '../audit/recorder';
import type { BotConfig } from '../config/config';
import type { Clock } from '../platform/clock';
import type { Metrics } from '../platform/metrics';
import type { Store } from '../store/store';
import {
  EXPIRY_SCAN_POLL_INTERVALS,
  startExpiryWatcher,
  type ExpiryProjection,
  type ExpiryWatcher,
} from './expiryWatcher';
import {
  leaseFencedStore,
  leaseMsFor,
  MAX_TICK_MS,
  newReplicaId,
  POLL_CONCURRENCY,
  startPoller,
  SUBMIT_CONCURRENCY,
  type Poller,
} from './poller';
import {
  isDeadIncarnation,
  replicaHeartbeatMs,
  startReplicaRegistry,
  thisProcess,
  type ReplicaRegistry,
} from './replicas';
import { RETENTION_PURGE_INTERVAL_MS, startRetention, type Retention } from './retention';
import { createTracker, type ApprovalProjection, type ThreadProjection, type TrackerOptions } from './tracker';

/** Looks for due work per poll interval (at most one a MAX_TICK_MS): at 15 s, one a second. */
const TICKS_PER_POLL_INTERVAL = 15;

/*
 * The workflow that carries each build from request to result, put together: the tracker (one step of one build),
 * the poller that hands it due builds, the expiry watcher, the replica registry and the retention purges.
 */

/**
 * This replica's name in leases and the store as the tracker writes through it. Several replicas may share the
 * database: this one advances only the requests it holds a lease on, and every write the tracker makes is refused
 * once the lease has passed to another replica (so a stalled replica cannot post what the new owner posts).
 */
export interface ReplicaLease {
  owner: string;
  leaseMs: number;
  fencedStore: Store;
}

export function replicaLease(store: Store, pollIntervalMs: number): ReplicaLease {
  const owner = newReplicaId();
  return { owner, leaseMs: leaseMsFor(pollIntervalMs), fencedStore: leaseFencedStore(store, owner) };
}

export interface Tracking {
  /** Looks for due work now (a request was just written). */
  wake(): void;
  /** Joins the replicas (counted before the first step, so it does not start on the whole budget), then polls. */
  start(): Promise<void>;
  /** Stops taking work and waits for the steps in hand. */
  stopWork(): Promise<void>;
  /** Leaves the replicas: the others take this replica's share from their next heartbeat. */
  leave(): Promise<void>;
}

export function createTracking(deps: {
  settings: Pick<BotConfig, 'pollIntervalMs' | 'expiryReminderMs' | 'retentionMs' | 'registration'>;
  store: Store;
  lease: ReplicaLease;
  imageBuilder: TrackerOptions['imageBuilder'];
  projection: ThreadProjection;
  approvals: ApprovalProjection;
  expiryProjection: ExpiryProjection;
  audit: BuildAudit;
  clock: Clock;
  logger: Logger;
  metrics: Pick<Metrics, 'composeFinished' | 'setInFlight' | 'pollLag'>;
  /** Told how many replicas are alive whenever that changes, to share out the deployment's budgets. */
  onReplicaCount: (count: number) => void;
}): Tracking {
  const { settings, store, lease, clock, logger, metrics, audit } = deps;
  const { pollIntervalMs } = settings;
  const tracker = createTracker({
    store: lease.fencedStore,
    ...(settings.registration ? { registration: settings.registration } : {}),
    imageBuilder: deps.imageBuilder,
    projection: deps.projection,
    approvals: deps.approvals,
    clock,
    logger,
    pollIntervalMs,
    onSubmitted: (request) => audit.submitted(request),
    onApprovalExpired: (request) => audit.approvalExpired(request),
    onFinished: (request, outcome) => {
      metrics.composeFinished(request.provider, outcome);
      audit.finished(request, outcome);
    },
  });
  let registry: ReplicaRegistry | undefined;
  let poller: Poller | undefined;
  let expiryWatcher: ExpiryWatcher | undefined;
  let retention: Retention | undefined;

  return {
    wake: () => poller?.wake(),
    async start() {
      registry = startReplicaRegistry({
        store,
        owner: lease.owner,
        clock,
        logger,
        intervalMs: replicaHeartbeatMs(pollIntervalMs),
        isDeadIncarnation: (replica) => isDeadIncarnation(replica, thisProcess(lease.owner)),
        onCount: deps.onReplicaCount,
      });
      await registry.ready;
      poller = startPoller({
        store,
        tracker,
        clock,
        logger,
        owner: lease.owner,
        leaseMs: lease.leaseMs,
        concurrency: POLL_CONCURRENCY,
        submitConcurrency: SUBMIT_CONCURRENCY,
        // A due build waits up to one look for it: a small part of its interval, whatever the pace.
        tickMs: Math.min(MAX_TICK_MS, pollIntervalMs / TICKS_PER_POLL_INTERVAL),
        onScan: (unfinished) => metrics.setInFlight(unfinished),
        onLag: (lagMs) => metrics.pollLag(lagMs),
      });
      expiryWatcher = startExpiryWatcher({
        store,
        owner: lease.owner,
        leaseMs: lease.leaseMs,
        projection: deps.expiryProjection,
        clock,
        logger,
        remindBeforeMs: settings.expiryReminderMs,
        intervalMs: pollIntervalMs * EXPIRY_SCAN_POLL_INTERVALS,
        onReminded: (request) => audit.reminded(request),
        onExpired: (request) => audit.expired(request),
        onApprovalsExpired: (requests) => {
          for (const request of requests) audit.approvalExpired(request);
          poller?.wake();
        },
      });
      if (settings.retentionMs !== undefined) {
        retention = startRetention({
          store,
          clock,
          logger,
          keepMs: settings.retentionMs,
          intervalMs: RETENTION_PURGE_INTERVAL_MS,
        });
      }
    },
    async stopWork() {
      await Promise.all([poller?.stop(), expiryWatcher?.stop(), retention?.stop()]);
    },
    async leave() {
      await registry?.stop();
    },
  };
}
