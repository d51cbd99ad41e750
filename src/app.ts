import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { App, HTTPModuleFunctions, HTTPReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from './platform/clock';
import type { BotConfig } from './config/config';
import { startDistributionCatalog } from './imageBuilder/distributionCatalog';
import type { ImageBuilderClient } from './imageBuilder';
import type { AdjustableRequestBudget } from './imageBuilder/budget';
import type { Metrics } from './platform/metrics';
import { SlackConnectionHealth, startOperationsServer, type OperationsServer } from './platform/operations';
import { createPolicy, type PolicyDocument } from './policy';
import { createGatekeeper } from './slack/authorization';
import { createHomePublisher } from './slack/homePublisher';
import { registerListeners } from './slack/listeners';
import { auditSubcommand } from './slack/listeners/commands/auditCommand';
import { createResponder } from './slack/responseUrl';
import { verifyAppToken, verifyBotToken, type SlackIdentity } from './slack/slackIdentity';
import { slackLogger } from './slack/slackLogger';
import { teamBoundary } from './slack/teamBoundary';
import { SlackScheduler } from './slack/thread/scheduler';
import { createThreadProjection, DEFAULT_SLACK_PACE, SLACK_LANES, type SlackPace } from './slack/thread/projection';
import { slackFetch } from './slack/webApiFetch';
import { DEFAULT_LEASE_MS, leaseFencedStore, newReplicaId, startPoller, type Poller } from './tracking/poller';
import type { AuditEvent, BuildRequest, Store } from './store/store';
import { isDeadIncarnation, startReplicaRegistry, thisProcess, type ReplicaRegistry } from './tracking/replicas';
import { createTracker } from './tracking/tracker';
import { startExpiryWatcher, type ExpiryWatcher } from './tracking/expiryWatcher';
import { startRetention, type Retention } from './tracking/retention';

/*
 * The composition root: every dependency is built once here and passed down. Nothing below reads the
 * environment or holds a module-level singleton, so tests build the same app around fakes.
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
}

/**
 * What HTTP mode lets a client do before its request's signature can be checked, which needs the whole body. Slack's
 * requests are a few kilobytes and arrive at once; without these limits, slow or huge requests (Bolt reads up to
 * 4 MiB each, and Node waits 300 s for one) would hold memory and connections for anyone who can reach the port.
 */
export interface HttpLimits {
  /** The largest request body read; a larger one is answered 413 once that much has come, and its connection closed. */
  maxBodyBytes: number;
  /** How long a client may take to send a whole request, headers and body; then it gets 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** Connections open at once (idle keep-alive ones included); those beyond are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  // A modal's submission with every field at its longest is some tens of kilobytes.
  maxBodyBytes: 1024 * 1024,
  requestTimeoutMs: 10_000,
  // Slack's deliveries finish in milliseconds; a few probes and a metrics scraper share the port.
  maxConnections: 50,
});

/** Node's options for the HTTP server: `limits` in its terms. */
function httpServerOptions(limits: HttpLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    // Not later than the whole request: Node refuses a headers timeout longer than the request timeout.
    headersTimeout: limits.requestTimeoutMs,
    // Node looks for requests past their time only this often (every 30 s by default).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.round(limits.requestTimeoutMs / 4))),
  };
}

/** What the server's options cannot say: how many connections it takes, and that a refused request is not read on. */
function limitClients(server: Server, limits: HttpLimits): void {
  server.maxConnections = limits.maxConnections;
  // Answered before its body was read whole (413): the rest is not wanted, and the connection, with its unread
  // bytes, would otherwise stay open until the request timeout.
  server.on('request', (request: IncomingMessage, response: ServerResponse) =>
    response.once('finish', () => {
      if (!request.complete) request.socket.destroy();
    }),
  );
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

/**
 * A signed request whose payload lacks what its type promises (a view_submission without its view) makes Bolt
 * throw a TypeError while routing it: that is the sender's fault, so it gets a 400 rather than Bolt's 500. Other
 * errors keep Bolt's handling. Either way the error is logged.
 */
const answerMalformedWith400: NonNullable<ConstructorParameters<typeof HTTPReceiver>[0]['processEventErrorHandler']> = async (
  args,
) => {
  const error: unknown = args.error;
  const originals = (error as { originals?: unknown[] }).originals;
  // Several listeners may have failed on the same malformed payload; Bolt then wraps their errors in one.
  const malformed = error instanceof TypeError || (Array.isArray(originals) && originals.length > 0 && originals.every((e) => e instanceof TypeError));
  if (malformed && !args.response.headersSent) {
    args.logger.warn(`Refused a malformed Slack payload: ${String((originals?.[0] as Error | undefined)?.message ?? (error as Error).message)}`);
    args.response.writeHead(400);
    args.response.end();
    return false;
  }
  return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
};

const SLASH_COMMAND = '/image-builder';
const SOCKET_CLOSE_GRACE_MS = 500;
const SCHEDULER_DRAIN_MS = 5000;
const DISTRIBUTIONS_REFRESH_MS = 60 * 60 * 1000;
/** Retention is counted in days; purging every hour keeps nothing more than an hour past it. */
const RETENTION_PURGE_INTERVAL_MS = 60 * 60 * 1000;
/**
 * How often a replica says it is alive (one silent for three times as long is no longer counted): two thirds of the
 * poll interval, so a replica joining is counted by the others before they poll much on the whole budget; 10 s at
 * the default pace.
 */
const replicaHeartbeatMs = (pollIntervalMs: number) => Math.min(10_000, Math.max(100, (2 * pollIntervalMs) / 3));

export function createApp(deps: AppDependencies): BotApp {
  const { config, logger, imageBuilder, store, clock, outbound, metrics } = deps;
  const slackHealth = new SlackConnectionHealth();
  const clientOptions: WebClientOptions = {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    fetch: slackFetch({ dispatcher: outbound, metrics, health: slackHealth }),
    ...(deps.slackRetryConfig ? { retryConfig: deps.slackRetryConfig } : {}),
  };
  const httpLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...deps.httpLimits };
  const boltLogger = slackLogger(logger, 'bolt');
  // Health, readiness and metrics are not Bolt's custom routes: they have their own server (startOperationsServer),
  // so /slack/events' port carries nothing else, and Socket Mode opens no HTTP port at all.
  const receiver: Receiver = config.slack.appToken
    ? new SocketModeReceiver({
        appToken: config.slack.appToken,
        logger: boltLogger,
        dispatcher: outbound,
        installerOptions: { clientOptions },
      })
    : new HTTPReceiver({
        signingSecret: config.slack.signingSecret!,
        endpoints: '/slack/events',
        port: config.port,
        logger: boltLogger,
        processEventErrorHandler: answerMalformedWith400,
        bodyLimit: httpLimits.maxBodyBytes,
      });
  // No conversation store: the bot keeps no per-conversation state in Bolt, and the default one builds an Error
  // ("Conversation not found") for every command, button and submission before a listener runs.
  // No token here: with one, Bolt's constructor calls auth.test and nothing can catch its refusal. start() asks
  // Slack itself first (slackIdentity.ts), and Bolt takes the answer from `authorize`.
  let identity: SlackIdentity | undefined;
  const bolt = new App({
    receiver,
    clientOptions,
    logger: boltLogger,
    convoStore: false,
    authorize: async ({ isEnterpriseInstall }) => {
      if (!identity) throw new Error('a Slack request arrived before the bot had started');
      return { isEnterpriseInstall, botToken: config.slack.botToken, botId: identity.botId, botUserId: identity.botUserId };
    },
  });

  // Status updates have their own client and queue: when Slack rate-limits a burst of them, the listeners'
  // client (which opens modals within a 3-second trigger window) is not held up behind them.
  const background = new WebClient(config.slack.botToken, {
    ...clientOptions,
    logger: slackLogger(logger, 'slack-updates'),
    maxRequestConcurrency: 3,
  });
  const respond = createResponder({ dispatcher: outbound, allowedPrefixes: config.slack.responseUrlPrefixes, logger });
  const catalog = startDistributionCatalog({ imageBuilder, logger, refreshMs: DISTRIBUTIONS_REFRESH_MS });
  // Several replicas may share the database: this one advances only the requests it holds a lease on, and every
  // write the tracker makes is refused once the lease has passed to another replica (so a stalled replica cannot
  // post what the new owner posts).
  const replicaId = newReplicaId();
  const leaseMs = Math.max(DEFAULT_LEASE_MS, 4 * config.pollIntervalMs);
  const fencedStore = leaseFencedStore(store, replicaId);
  const slackPace = deps.slackPace ?? {
    postPerChannelMs: DEFAULT_SLACK_PACE.postPerChannelMs / config.slackPaceScale,
    updateMs: DEFAULT_SLACK_PACE.updateMs / config.slackPaceScale,
  };
  // One scheduler for everything the background client sends, so thread updates and reminders share one budget.
  // Slack's limits are the workspace's, shared by every replica: with n alive, each spaces its calls n times wider.
  let liveReplicas = 1;
  const slackScheduler = new SlackScheduler({ spacingMs: (lane) => SLACK_LANES.spacingMs(lane, slackPace) * liveReplicas });
  metrics.watchSlackBacklog(() => slackScheduler.backlog);
  let registry: ReplicaRegistry | undefined;
  const projectionOptions = {
    client: background,
    editLog: store,
    launch: config.launch,
    clock,
    logger,
    notify: (url: string, text: string) => respond(url, text),
    scheduler: slackScheduler,
  };
  const projection = createThreadProjection({ ...projectionOptions, store: fencedStore });
  // The expiry watcher claims each row itself before it posts (a finished row is never the poller's), and writes
  // through the plain store.
  const expiryProjection = createThreadProjection({ ...projectionOptions, store });
  /** Records what happened to a request; a failure to record never stops the build. */
  const audit = (kind: AuditEvent['kind'], request: BuildRequest, detail: Record<string, unknown>) =>
    void store
      .appendAudit({ at: clock.now(), kind, actorId: null, requestId: request.id, channelId: request.channelId, detail })
      .catch((error: unknown) => logger.error({ err: error, requestId: request.id, kind }, 'could not write the audit log'));
  const tracker = createTracker({
    store: fencedStore,
    imageBuilder,
    projection,
    clock,
    logger,
    pollIntervalMs: config.pollIntervalMs,
    onSubmitted: (request) => audit('submitted', request, { composeId: request.composeId, provider: request.provider, shareSummary: request.shareSummary }),
    onFinished: (request, outcome) => {
      metrics.composeFinished(request.provider, outcome);
      audit(outcome === 'rejected' ? 'rejected' : 'finished', request, {
        outcome,
        composeId: request.composeId,
        ...(request.rejection ? { rejection: JSON.parse(request.rejection) as unknown } : {}),
        ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
      });
    },
  });
  let poller: Poller | undefined;
  let expiryWatcher: ExpiryWatcher | undefined;
  let operations: OperationsServer | undefined;
  let retention: Retention | undefined;

  // User-group lookups sit on the interactive path (a form must open within 3 seconds): their own client, no
  // retries and a short timeout, never queued behind rate-limited thread updates. The policy caches the answers.
  const lookups = new WebClient(config.slack.botToken, {
    ...clientOptions,
    logger: slackLogger(logger, 'slack-lookups'),
    retryConfig: { retries: 0 },
    timeout: 2000,
  });
  const policy = createPolicy(deps.policy, {
    usergroupMembers: async (usergroup) => (await lookups.usergroups.users.list({ usergroup })).users ?? [],
    clock,
    logger: logger.child({ component: 'policy' }),
  });
  const gate = createGatekeeper({ policy, audit: store, store, clock, logger });
  const publishHome = createHomePublisher({ store, gate, clock, logger });

  bolt.use(teamBoundary({ home: () => identity, externalTeams: deps.policy.externalTeams ?? [], audit: store, clock, logger }));
  registerListeners(bolt, SLASH_COMMAND, {
    catalog,
    imageBuilder,
    store,
    gate,
    launch: config.launch,
    clock,
    logger,
    respond,
    publishHome,
    auditReport: auditSubcommand({
      audit: store,
      isAdmin: (userId) => gate.isAdmin(userId),
      adminConfigured: gate.adminConfigured,
      clock,
      logger,
      respond,
    }),
    onRequest: () => poller?.wake(),
  });

  return {
    async start() {
      identity = await verifyBotToken(background);
      if (config.slack.appToken) {
        await verifyAppToken(new WebClient(config.slack.appToken, { ...clientOptions, logger: slackLogger(logger, 'slack-socket') }));
      }
      const { host, port: wantedHealthPort } = config.health;
      operations = await startOperationsServer({
        host,
        port: wantedHealthPort,
        sources: { slack: slackHealth, store, imageBuilderCredentials: () => imageBuilder.credentialsHealth() },
        metrics,
      }).catch((error: unknown) => {
        // Not `instanceof Error`: errors from another realm (a test runner's) are errors too.
        const reason = String((error as { message?: unknown } | undefined)?.message ?? error);
        throw new Error(`cannot serve /healthz, /readyz and /metrics on ${host}:${wantedHealthPort} (HEALTH_HOST, HEALTH_PORT): ${reason}`);
      });
      const starting = receiver instanceof SocketModeReceiver ? bolt.start(config.port) : bolt.start(config.port, httpServerOptions(httpLimits));
      const started = (await starting.catch(async (error: unknown) => {
        await operations?.close();
        throw error;
      })) as unknown;
      // HTTP mode returns its server; Socket Mode listens on no port.
      const server = receiver instanceof SocketModeReceiver ? undefined : (started as Server);
      if (server) limitClients(server, httpLimits);
      if (server && !server.listening) await new Promise((resolve) => server.once('listening', resolve));
      const port = server ? ((server.address() as AddressInfo | null)?.port ?? config.port) : undefined;
      const healthPort = operations.port;
      if (receiver instanceof SocketModeReceiver) {
        // Readiness follows the WebSocket itself, not only the Web API answers.
        slackHealth.socketState(true);
        receiver.client.on('connected', () => slackHealth.socketState(true));
        receiver.client.on('disconnected', () => slackHealth.socketState(false));
      }
      registry = startReplicaRegistry({
        store,
        owner: replicaId,
        clock,
        logger,
        intervalMs: replicaHeartbeatMs(config.pollIntervalMs),
        isDeadIncarnation: (replica) => isDeadIncarnation(replica, thisProcess(replicaId)),
        onCount: (count) => {
          liveReplicas = count;
          metrics.setReplicas(count);
          deps.imageBuilderBudget?.setPerSecond(config.imageBuilder.maxRequestsPerSecond / count);
        },
      });
      // Counted before the first step, so a replica joining others does not start on the whole budget.
      await registry.ready;
      poller = startPoller({
        store,
        tracker,
        clock,
        logger,
        owner: replicaId,
        leaseMs,
        // A step waits for Image Builder (within the request budget) and, when the build starts or ends, for its
        // turn to post in the channel; edits in between do not hold it. Enough steps at once that builds ending
        // together in one channel do not keep the others from being polled.
        concurrency: 16,
        tickMs: Math.min(1000, config.pollIntervalMs),
        onScan: (unfinished) => metrics.setInFlight(unfinished),
        onLag: (lagMs) => metrics.pollLag(lagMs),
      });
      expiryWatcher = startExpiryWatcher({
        store,
        owner: replicaId,
        leaseMs,
        projection: expiryProjection,
        clock,
        logger,
        remindBeforeMs: config.expiryReminderMs,
        // Two indexed queries; once a minute at the default pace is plenty for a reminder days ahead.
        intervalMs: config.pollIntervalMs * 4,
        onReminded: (request) => audit('reminded', request, { expiresAt: request.expiresAt?.toISOString() }),
        onExpired: (request) => audit('expired', request, { expiresAt: request.expiresAt?.toISOString() }),
      });
      if (config.retentionMs !== undefined) {
        retention = startRetention({ store, clock, logger, keepMs: config.retentionMs, intervalMs: RETENTION_PURGE_INTERVAL_MS });
      }
      const listening = { ...(port === undefined ? {} : { port }), healthPort };
      logger.info({ ...listening, mode: config.slack.appToken ? 'socket' : 'http' }, 'image-builder-bot is running');
      return listening;
    },
    async stop() {
      catalog.stop();
      await Promise.all([poller?.stop(), expiryWatcher?.stop(), retention?.stop()]);
      // Edits still waiting their turn are sent if they can be soon; any left are redone from the rows on restart.
      await Promise.race([slackScheduler.idle(), setTimeout(SCHEDULER_DRAIN_MS, undefined, { ref: false })]);
      // The others take this replica's share from their next heartbeat.
      await registry?.stop();
      await bolt.stop();
      await operations?.close();
      // Socket Mode's stop resolves before the WebSocket has closed; give it a moment to say goodbye.
      if (receiver instanceof SocketModeReceiver) await setTimeout(SOCKET_CLOSE_GRACE_MS);
    },
  };
}
