// First: stops an older Node with a clear message before better-sqlite3 loads.
import './platform/requireSupportedNode';
import { createApp } from './app';
import { systemClock } from './platform/clock';
import { buildDispatchers, ConfigError, parseBotConfig } from './config/config';
import { loadEnvFile } from './config/envFile';
import { createRequestBudget } from './imageBuilder/budget';
import { imageBuilderFromConfig } from './imageBuilder/fromConfig';
import { dropStartupBytecodeSooner } from './platform/bytecodeAge';
import { encodeFormsNatively } from './platform/formEncoding';
import { createLogger } from './platform/logger';
import { nudgeMemoryReducer } from './platform/memoryReducer';
import { createMetrics } from './platform/metrics';
import { packageVersion } from './platform/version';
import { loadPolicy, PolicyError } from './policy';
import { SlackTokenError } from './slack/slackIdentity';
import { openStore } from './store/openStore';

/*
 * The bot's entry point: configuration first (every problem reported before anything connects), then the store,
 * then Slack. SIGTERM and SIGINT stop taking work, let in-flight steps finish and close the store.
 */

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  dropStartupBytecodeSooner();
  encodeFormsNatively();
  let config;
  let envFile;
  try {
    envFile = loadEnvFile(process.cwd());
    config = parseBotConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`image-builder-bot: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const configuredBy = envFile ? `${envFile} and the environment` : 'the environment';
  logger.info(
    { version: packageVersion(), envFile: envFile ?? null },
    `image-builder-bot starting, configured by ${configuredBy}`,
  );
  for (const warning of config.startupWarnings) logger.warn(warning);
  let policy;
  try {
    policy = await loadPolicy(config.policy);
  } catch (error) {
    if (error instanceof PolicyError) {
      process.stderr.write(`image-builder-bot: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.policy.kind === 'open') {
    logger.warn(
      'POLICY_FILE=open: everyone, guests and external users included, may request images and share them anywhere; admin-only commands are refused',
    );
  }
  const dispatchers = buildDispatchers(config);
  const store = await openStore(config.databaseUrl, {
    workingDirectory: process.cwd(),
    onIdleError: (error) => logger.warn({ err: error }, 'a database connection was lost; it will be replaced'),
  });
  const metrics = createMetrics();
  // IMAGE_BUILDER_MAX_RPS is for the whole deployment: the app gives this replica its share as replicas come and go.
  const imageBuilderBudget = createRequestBudget({ perSecond: config.imageBuilder.maxRequestsPerSecond });
  const imageBuilder = imageBuilderFromConfig(config, {
    budget: imageBuilderBudget,
    dispatcher: dispatchers.imageBuilder,
    logger: logger.child({ component: 'image-builder' }),
    onCall: (call) => metrics.imageBuilderCall(call.operation, call.outcome, call.durationMs),
  });
  const app = createApp({
    config,
    logger,
    imageBuilder,
    imageBuilderBudget,
    store,
    policy,
    clock: systemClock,
    outbound: dispatchers.outbound,
    metrics,
  });
  await app.start();
  const memoryReducer = nudgeMemoryReducer();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    forced.unref();
    memoryReducer.stop();
    app
      .stop()
      .then(() => store.close())
      .then(() => dispatchers.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  // A promise some library forgot to handle must not end the process and every build it follows with it; the
  // builds are in the store either way, but a crash loop would help nobody.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'an unhandled promise rejection'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`image-builder-bot: ${error instanceof Error ? error.message : String(error)}\n`);
  // A refused token is the configuration's fault, like a malformed variable; anything else is a failure to start.
  process.exit(error instanceof SlackTokenError ? 2 : 1);
});
