import type { WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { createBuildAudit } from './audit/recorder';
import type { BotConfig } from './config/config';
import type { ImageBuilderClient } from './imageBuilder';
import type { AdjustableRequestBudget } from './imageBuilder/budget';
import { BLUEPRINTS_REFRESH_MS, startBlueprintCatalog } from './imageBuilder/blueprintCatalog';
import { DISTRIBUTIONS_REFRESH_MS, startDistributionCatalog } from './imageBuilder/distributionCatalog';
import { createPackageChecker } from './imageBuilder/packageCheck';
import type { Clock } from './platform/clock';
import type { Metrics } from './platform/metrics';
import { SlackConnectionHealth, startOperationsServer, type OperationsServer } from './platform/operations';
import type { PolicyDocument } from './policy';
import { createSlackClients } from './slack/clients';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './slack/httpLimits';
import { mountListeners } from './slack/listeners';
import { createPolicyGate } from './slack/policyGate';
import { createResponder } from './slack/responseUrl';
import { createSlackApp } from './slack/slackApp';
import { createThreadPipeline, slackPaceOf } from './slack/thread/pipeline';
import type { SlackPace } from './slack/thread/projection';
import type { Store } from './store/store';
import { createTracking, replicaLease } from './tracking/workflow';

/*
 * The composition root: every dependency is built once here, by one builder per concern, and passed down. Nothing
 * below reads the environment or holds a module-level singleton, so tests build the same app around fakes.
 */

export interface AppDependencies {
  config: BotConfig;
  logger: Logger;
  imageBuilder: ImageBuilderClient;
  store: Store;
  /** The policy file's content (OPEN_POLICY without POLICY_FILE). */
  policy: PolicyDocument;
  clock: Clock;
  /** Dispatcher for Slack and response_url calls (HTTPS_PROXY / NO_PROXY applied). */
  outbound: Dispatcher;
  /** The app's metrics; the same object must be given to the Image Builder client's `onCall`. */
  metrics: Metrics;
  /** Slack Web API retry policy; tests pass `{ retries: 0 }`. */
  slackRetryConfig?: WebClientOptions['retryConfig'];
  /** Spacing of thread posts and edits; tests shorten it. */
  slackPace?: SlackPace;
  /**
   * The Image Builder client's request budget, set to this replica's share of IMAGE_BUILDER_MAX_RPS as replicas
   * come and go; without it the client keeps the whole rate (tests).
   */
  imageBuilderBudget?: Pick<AdjustableRequestBudget, 'setPerSecond'>;
  /** HTTP mode's limits on clients; DEFAULT_HTTP_LIMITS for what is not given (tests make them small). */
  httpLimits?: Partial<HttpLimits>;
  /** How often the organisation's blueprints are asked again; BLUEPRINTS_REFRESH_MS by default (tests shorten it). */
  blueprintsRefreshMs?: number;
}

export interface BotApp {
  /**
   * Starts listening (HTTP or Socket Mode) and resumes every unfinished build. Resolves with the port of
   * /slack/events (HTTP mode only) and that of the health and metrics routes.
   */
  start(): Promise<{ port?: number; healthPort: number }>;
  /** Stops taking new work, lets in-flight steps finish, and disconnects. */
  stop(): Promise<void>;
}

/** Slack: the connection's health, the Web API clients, Bolt and its receiver, and response_url replies. */
function createSlackSide(deps: AppDependencies) {
  const { config, logger, outbound, metrics } = deps;
  const slackHealth = new SlackConnectionHealth();
  const clients = createSlackClients({
    slack: config.slack,
    logger,
    outbound,
    metrics,
    health: slackHealth,
    retryConfig: deps.slackRetryConfig,
  });
  const httpLimits = { ...DEFAULT_HTTP_LIMITS, ...deps.httpLimits };
  const slack = createSlackApp({ config, logger, clients, outbound, httpLimits, health: slackHealth });
  const respond = createResponder({ dispatcher: outbound, allowedPrefixes: config.slack.responseUrlPrefixes, logger });
  return { slackHealth, clients, slack, respond };
}

/**
 * What the forms offer, kept from Image Builder's answers and refreshed in the background: never asked in Slack's 3 s;
 * and the one lookup a submission waits for (extra packages), bounded to fit in them.
 */
function startCatalogs({ imageBuilder, logger, clock, blueprintsRefreshMs }: AppDependencies) {
  return {
    catalog: startDistributionCatalog({ imageBuilder, logger, refreshMs: DISTRIBUTIONS_REFRESH_MS }),
    packages: createPackageChecker({ imageBuilder, logger, clock }),
    blueprints: startBlueprintCatalog({
      imageBuilder,
      logger,
      clock,
      refreshMs: blueprintsRefreshMs ?? BLUEPRINTS_REFRESH_MS,
    }),
  };
}

export function createApp(deps: AppDependencies): BotApp {
  const { config, logger, imageBuilder, store, clock, metrics } = deps;
  const { slackHealth, clients, slack, respond } = createSlackSide(deps);
  const { catalog, blueprints, packages } = startCatalogs(deps);
  const lease = replicaLease(store, config.pollIntervalMs);
  const thread = createThreadPipeline({
    client: clients.background,
    store,
    fencedStore: lease.fencedStore,
    launch: config.launch,
    clock,
    logger,
    respond,
    metrics,
    pace: deps.slackPace ?? slackPaceOf(config.slackPaceScale),
  });
  const audit = createBuildAudit({ store, clock, logger });
  const tracking = createTracking({
    settings: config,
    store,
    lease,
    imageBuilder,
    projection: thread.projection,
    approvals: thread.approvals,
    expiryProjection: thread.expiryProjection,
    audit,
    clock,
    logger,
    metrics,
    onReplicaCount: (count) => {
      thread.setReplicas(count);
      metrics.setReplicas(count);
      deps.imageBuilderBudget?.setPerSecond(config.imageBuilder.maxRequestsPerSecond / count);
    },
  });
  const gate = createPolicyGate({ document: deps.policy, lookups: clients.lookups, store, clock, logger });
  mountListeners(slack.bolt, {
    command: config.slack.command,
    home: slack.identity,
    externalTeams: deps.policy.externalTeams ?? [],
    catalog,
    blueprints,
    packages,
    imageBuilder,
    store,
    gate,
    launch: config.launch,
    ...(config.registration ? { registration: config.registration } : {}),
    clock,
    logger,
    respond,
    onRequest: () => tracking.wake(),
  });
  let operations: OperationsServer | undefined;

  return {
    async start() {
      await slack.verifyTokens();
      const sources = { slack: slackHealth, store, imageBuilderCredentials: () => imageBuilder.credentialsHealth() };
      operations = await startOperationsServer({ ...config.health, sources, metrics });
      const port = await slack.listen().catch(async (error: unknown) => {
        await operations?.close();
        throw error;
      });
      await tracking.start();
      const listening = { ...(port === undefined ? {} : { port }), healthPort: operations.port };
      logger.info({ ...listening, mode: config.slack.appToken ? 'socket' : 'http' }, 'image-builder-bot is running');
      return listening;
    },
    async stop() {
      catalog.stop();
      blueprints.stop();
      await tracking.stopWork();
      await thread.drain();
      await tracking.leave();
      await slack.stop();
      await operations?.close();
    },
  };
}
