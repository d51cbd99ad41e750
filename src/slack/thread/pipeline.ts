import { setTimeout } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock';
import type { Metrics } from '../../platform/metrics';
import type { LaunchDefaults } from '../../providers';
import type { BuildRequestStore } from '../../store/store';
import type { ExpiryProjection } from '../../tracking/expiryWatcher';
import type { ApprovalProjection, ThreadProjection } from '../../tracking/tracker';
import { createApprovalProjection } from './approvalMessage';
import type { Responder } from '../responseUrl';
import { createThreadProjection, DEFAULT_SLACK_PACE, SLACK_LANES, type SlackPace } from './projection';
import { SlackScheduler } from './scheduler';

/*
 * What keeps builds' threads up to date: one scheduler for everything the background client sends, so thread
 * updates and reminders share one budget, and the projections that render rows into it.
 */

/** How long stopping waits for edits still waiting their turn; any left are redone from the rows on restart. */
export const SCHEDULER_DRAIN_MS = 5000;

export interface ThreadPipeline {
  /** The tracker's: writes through the lease-fenced store, within a poller's step. */
  projection: ThreadProjection & ExpiryProjection;
  /** The expiry watcher's: it claims each row itself before it posts (a finished row is never the poller's). */
  expiryProjection: ThreadProjection & ExpiryProjection;
  /** The tracker's too: the message of a request waiting for approval in the approvals channel. */
  approvals: ApprovalProjection;
  /** Slack's limits are the workspace's, shared by every replica: with n alive, each spaces its calls n times wider. */
  setReplicas(count: number): void;
  /** Sends what waits if it can be soon (at most SCHEDULER_DRAIN_MS). */
  drain(): Promise<void>;
}

/** DEFAULT_SLACK_PACE made `scale` times faster (SLACK_PACE_SCALE). */
export function slackPaceOf(scale: number): SlackPace {
  return {
    postPerChannelMs: DEFAULT_SLACK_PACE.postPerChannelMs / scale,
    updateMs: DEFAULT_SLACK_PACE.updateMs / scale,
  };
}

export function createThreadPipeline(deps: {
  client: WebClient;
  /** The plain store: scheduled edits and the expiry watcher write through it. */
  store: BuildRequestStore;
  /** The lease-fenced store the tracker's posts write through. */
  fencedStore: BuildRequestStore;
  launch: LaunchDefaults;
  clock: Clock;
  logger: Logger;
  respond: Responder;
  metrics: Pick<Metrics, 'watchSlackBacklog'>;
  pace: SlackPace;
}): ThreadPipeline {
  let liveReplicas = 1;
  const scheduler = new SlackScheduler({ spacingMs: (lane) => SLACK_LANES.spacingMs(lane, deps.pace) * liveReplicas });
  deps.metrics.watchSlackBacklog(() => scheduler.backlog);
  const options = {
    client: deps.client,
    editLog: deps.store,
    launch: deps.launch,
    clock: deps.clock,
    logger: deps.logger,
    respond: deps.respond,
    scheduler,
  };
  return {
    projection: createThreadProjection({ ...options, store: deps.fencedStore }),
    expiryProjection: createThreadProjection({ ...options, store: deps.store }),
    approvals: createApprovalProjection({
      client: deps.client,
      store: deps.fencedStore,
      scheduler,
      logger: deps.logger,
    }),
    setReplicas: (count) => {
      liveReplicas = count;
    },
    drain: () => Promise.race([scheduler.idle(), setTimeout(SCHEDULER_DRAIN_MS, undefined, { ref: false })]),
  };
}
