import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type BotApp } from '../../src/app';
import type { HttpLimits } from '../../src/slack/httpLimits';
import { systemClock, type Clock } from '../../src/platform/clock';
import { buildDispatchers, parseBotConfig, type BotConfig } from '../../src/config/config';
import { imageBuilderFromConfig } from '../../src/imageBuilder/fromConfig';
import type { ImageBuilderClient } from '../../src/imageBuilder';
import { createMetrics, type Metrics } from '../../src/platform/metrics';
import { createLogger } from '../../src/platform/logger';
import { openStore } from '../../src/store/openStore';
import type { Store } from '../../src/store/store';
import type { SlackPace } from '../../src/slack/thread/projection';
import { loadPolicy } from '../../src/policy';
import {
  startFakeImageBuilder,
  type FakeImageBuilder,
  type FakeImageBuilderOptions,
} from '../fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions, type SlackView } from '../fakes/slackApi';
import { KNOWN_HTTPS_PROXY, KNOWN_SECRETS } from '../support/knownSecrets';
import {
  signedPost,
  slashCommandBody,
  submitModalBody,
  type AppAnswer,
  type FillValue,
  type SlashCommandInput,
  type SlackUserInput,
} from '../support/slackRequests';

/*
 * The bot as a user meets it: started in HTTP mode from environment variables, a fake Slack Web API and a fake
 * Image Builder on loopback, a real SQLite file, and signed requests into /slack/events.
 */

/** The suite's known secrets (test/support/knownSecrets.ts): the secret sentinel fails any test that lets one out. */
export const SIGNING_SECRET = KNOWN_SECRETS.SLACK_SIGNING_SECRET;
export const BOT_TOKEN = KNOWN_SECRETS.SLACK_BOT_TOKEN;

export interface Harness {
  slack: FakeSlack;
  imageBuilder: FakeImageBuilder;
  databasePath: string;
  /** Where /slack/events is served (HTTP mode); empty in Socket Mode, which listens on no port. */
  appUrl: string;
  /** Where /healthz, /readyz and /metrics are served. */
  healthUrl: string;
  /** Every log line the app wrote, parsed. */
  logLines: string[];
  command(text: string, input?: Partial<SlashCommandInput>): Promise<AppAnswer>;
  /** Submits the modal the app opened most recently, filled as a person would. */
  submitModal(fills: Record<string, FillValue>, user?: SlackUserInput, view?: SlackView): Promise<AppAnswer>;
  post(body: Parameters<typeof signedPost>[2], options?: Parameters<typeof signedPost>[3]): Promise<AppAnswer>;
  /** Starts the app again on the same database (after stop or a simulated crash). */
  restart(): Promise<void>;
  /** Stops the app without waiting for anything, as a crash would leave the store. */
  crash(): Promise<void>;
  store(): Store;
  close(): Promise<void>;
}

export interface HarnessOptions {
  slack?: FakeSlackOptions;
  imageBuilder?: FakeImageBuilderOptions;
  env?: Record<string, string>;
  /** The policy file's text (YAML); none is the open policy. */
  policy?: string;
  /** The app's clock (expiry, reminders); the real one by default. */
  clock?: Clock;
  /** Runs after the fakes start and before the app does (e.g. to set a fake's answers). */
  beforeStart?: (slack: FakeSlack, imageBuilder: FakeImageBuilder) => void;
  /** Spacing of thread posts and edits; none by default, so tests do not wait on Slack's pace. */
  slackPace?: SlackPace;
  /** HTTP mode's limits on clients; the app's defaults otherwise. */
  httpLimits?: Partial<HttpLimits>;
  /**
   * The organisation's blueprints: `listBlueprints` answers in place of the client's GET /blueprints (for as long as
   * the fake has no blueprint endpoints), `refreshMs` how often the app asks again.
   */
  blueprints?: { listBlueprints?: ImageBuilderClient['listBlueprints']; refreshMs?: number };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const slack = await startFakeSlack({ botToken: BOT_TOKEN, ...options.slack });
  const imageBuilder = await startFakeImageBuilder(options.imageBuilder);
  const dir = mkdtempSync(path.join(tmpdir(), 'ibb-e2e-'));
  const databasePath = path.join(dir, 'bot.sqlite');
  const logLines: string[] = [];
  const policyFile = path.join(dir, 'policy.yaml');
  if (options.policy) writeFileSync(policyFile, options.policy);

  const config: BotConfig = parseBotConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    SLACK_RESPONSE_URL_PREFIXES: slack.responseUrlPrefix,
    PORT: '0',
    HEALTH_PORT: '0',
    DATABASE_URL: `sqlite://${databasePath}`,
    POLL_INTERVAL_SECONDS: '0.05',
    // Builds move twenty times faster than real ones here, so the request budget is raised to match.
    IMAGE_BUILDER_MAX_RPS: '200',
    LOG_LEVEL: 'debug',
    IMAGE_BUILDER_URL: imageBuilder.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: imageBuilder.tokenUrl,
    IMAGE_BUILDER_CLIENT_ID: imageBuilder.credentials.clientId,
    IMAGE_BUILDER_CLIENT_SECRET: imageBuilder.credentials.clientSecret,
    // Carried, never used: every fake is plain http, and HTTPS_PROXY covers only https.
    HTTPS_PROXY: KNOWN_HTTPS_PROXY,
    POLICY_FILE: options.policy ? policyFile : 'open',
    ...options.env,
  });

  let app: BotApp | undefined;
  let store: Store | undefined;
  let dispatchers: ReturnType<typeof buildDispatchers> | undefined;
  let appUrl = '';
  let healthUrl = '';
  let metrics: Metrics;

  async function start() {
    const logger = createLogger({
      level: config.logLevel,
      secrets: config.secrets,
      destination: { write: (line) => logLines.push(line) },
    });
    dispatchers = buildDispatchers(config);
    store = await openStore(config.databaseUrl, { workingDirectory: dir });
    metrics = createMetrics({ defaultMetrics: false });
    const client = imageBuilderFromConfig(config, {
      dispatcher: dispatchers.imageBuilder,
      logger: logger.child({ component: 'image-builder' }),
      onCall: (call) => metrics.imageBuilderCall(call.operation, call.outcome, call.durationMs),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    const listBlueprints = options.blueprints?.listBlueprints;
    app = createApp({
      config,
      logger,
      imageBuilder: listBlueprints ? { ...client, listBlueprints } : client,
      store,
      policy: await loadPolicy(config.policy),
      clock: options.clock ?? systemClock,
      outbound: dispatchers.outbound,
      metrics,
      slackRetryConfig: { retries: 0 },
      slackPace: options.slackPace ?? { postPerChannelMs: 0, updateMs: 0 },
      ...(options.httpLimits ? { httpLimits: options.httpLimits } : {}),
      ...(options.blueprints?.refreshMs ? { blueprintsRefreshMs: options.blueprints.refreshMs } : {}),
    });
    const { port, healthPort } = await app.start();
    appUrl = port === undefined ? '' : `http://127.0.0.1:${port}`;
    healthUrl = `http://127.0.0.1:${healthPort}`;
  }

  async function stop(graceful: boolean) {
    if (graceful) await app?.stop();
    else await app?.stop().catch(() => undefined);
    await store?.close();
    await dispatchers?.close();
    app = undefined;
    store = undefined;
    dispatchers = undefined;
  }

  options.beforeStart?.(slack, imageBuilder);
  try {
    await start();
  } catch (error) {
    // A harness that never started is never closed by the test: leave nothing running behind it.
    await stop(false).catch(() => undefined);
    await Promise.all([slack.close(), imageBuilder.close()]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let commands = 0;

  const harness: Harness = {
    slack,
    imageBuilder,
    databasePath,
    get appUrl() {
      return appUrl;
    },
    get healthUrl() {
      return healthUrl;
    },
    logLines,
    command(text, input = {}) {
      commands += 1;
      return signedPost(
        appUrl,
        SIGNING_SECRET,
        slashCommandBody({ text, response_url: slack.responseUrl(`command-${commands}`), ...input }),
      );
    },
    submitModal(fills, user = 'U1', view) {
      const opened = view ?? slack.views().at(-1);
      if (!opened) throw new Error('the app opened no modal');
      return signedPost(appUrl, SIGNING_SECRET, submitModalBody(opened, user, fills));
    },
    post(body, postOptions) {
      return signedPost(appUrl, SIGNING_SECRET, body, postOptions);
    },
    async restart() {
      await stop(true);
      await start();
    },
    crash: () => stop(false),
    store: () => store!,
    async close() {
      await stop(true);
      await Promise.all([slack.close(), imageBuilder.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/**
 * One harness per test, closed after it. A start that fails leaves nothing to close (startHarness cleans up after
 * itself), rather than the previous test's harness, already closed.
 */
export function useHarness(): { start(options?: HarnessOptions): Promise<Harness> } {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    async start(options = {}) {
      current = undefined;
      current = await startHarness(options);
      return current;
    },
  };
}
