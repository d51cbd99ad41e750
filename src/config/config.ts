import * as z from 'zod';
import { EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici';
import type { ConnectionOptions } from 'node:tls';
import path from 'node:path';
import type { ImageBuilderAuth } from '../imageBuilder';
import { DEFAULT_LAUNCH_DEFAULTS, type LaunchDefaults, type Registration } from '../providers/types';
import { OPEN_POLICY_SETTING, type PolicySource } from '../policy/loadPolicy';
import { DatabaseUrlError, databaseUrlSecrets, parseDatabaseUrl, plaintextDatabaseWarning } from './databaseUrl';
import { MALFORMED_ESCAPE, urlCredentials } from './urlCredentials';

export type { ImageBuilderAuth };

/*
 * The one place that reads the environment. Everything else receives a typed Config.
 * Every problem is reported at once, each naming its variable, so a bad deployment is fixed in one go.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ImageBuilderConfig {
  baseUrl: string;
  tokenUrl: string;
  auth: ImageBuilderAuth;
  /** IMAGE_BUILDER_PROXY: used for Image Builder and its token endpoint, whatever NO_PROXY says. */
  proxyUrl?: string;
  requestTimeoutMs: number;
  /**
   * IMAGE_BUILDER_MAX_RPS: requests per second the whole deployment may send to Image Builder, retries included; each
   * replica takes its share (the app divides it by the replicas alive).
   */
  maxRequestsPerSecond: number;
}

/** HTTPS_PROXY / HTTP_PROXY / NO_PROXY: every other outbound call, and Image Builder without IMAGE_BUILDER_PROXY. */
export interface NetworkConfig {
  httpsProxy?: string;
  httpProxy?: string;
  noProxy?: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface CoreConfig {
  imageBuilder: ImageBuilderConfig;
  network: NetworkConfig;
  launch: LaunchDefaults;
  logLevel: LogLevel;
  /**
   * IMAGE_REGISTRATION_ORG_ID and IMAGE_REGISTRATION_ACTIVATION_KEY: what RHEL images register with at first boot;
   * absent, no image is registered. The key is a secret (in `secrets`).
   */
  registration?: Registration;
  /** Every secret value in the configuration, so the logger can redact it wherever it appears. */
  secrets: string[];
}

export const DEFAULT_IMAGE_BUILDER_URL = 'https://console.redhat.com/api/image-builder/v1';
export const DEFAULT_TOKEN_URL = 'https://sso.redhat.com/auth/realms/redhat-external/protocol/openid-connect/token';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Unset and empty mean the same: a blank line in an env file must not count as "set". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine, which plain http cannot expose. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * An endpoint the bot sends credentials (or a capability) to: https, or plain http to a loopback host only (tests, a
 * local proxy), so that a typo of `http` for `https` is a startup error rather than a secret sent in clear.
 */
const secureUrl = httpUrl.refine(
  (url) => {
    // Zod runs this check after a failed one too; a malformed URL has been reported already.
    if (!URL.canParse(url)) return true;
    const { protocol, hostname } = new URL(url);
    return protocol === 'https:' || isLoopbackHost(hostname);
  },
  {
    error: 'must be an https:// URL (http:// is allowed only for loopback hosts: 127.0.0.0/8, ::1, localhost)',
  },
);
const proxyUrl = z
  .url({ protocol: /^https?$/, error: 'must be a proxy URL such as http://proxy.example.com:3128' })
  .refine((value) => !URL.canParse(value) || !urlCredentials(new URL(value)).malformedEscape, {
    error: MALFORMED_ESCAPE,
  });
const machineName = z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'must be a machine type such as t3.micro');
const zoneName = z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be a zone such as us-east4-a');

const coreSchema = z.object({
  IMAGE_BUILDER_URL: optional(secureUrl),
  IMAGE_BUILDER_TOKEN_URL: optional(secureUrl),
  IMAGE_BUILDER_CLIENT_ID: optional(z.string()),
  IMAGE_BUILDER_CLIENT_SECRET: optional(z.string()),
  IMAGE_BUILDER_OFFLINE_TOKEN: optional(z.string()),
  IMAGE_BUILDER_USERNAME: optional(z.string()),
  IMAGE_BUILDER_PASSWORD: optional(z.string()),
  IMAGE_BUILDER_PROXY: optional(proxyUrl),
  IMAGE_BUILDER_MAX_RPS: optional(
    z.coerce
      .number({ error: 'must be a number of requests per second' })
      .positive('must be more than 0')
      .max(1000, 'must be at most 1000'),
  ),
  IMAGE_BUILDER_TIMEOUT_SECONDS: optional(
    z.coerce
      .number({ error: 'must be a number of seconds' })
      .positive('must be more than 0')
      .max(600, 'must be at most 600'),
  ),
  HTTPS_PROXY: optional(proxyUrl),
  https_proxy: optional(proxyUrl),
  HTTP_PROXY: optional(proxyUrl),
  http_proxy: optional(proxyUrl),
  NO_PROXY: optional(z.string()),
  no_proxy: optional(z.string()),
  LOG_LEVEL: optional(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
  ),
  LAUNCH_AWS_INSTANCE_TYPE_X86_64: optional(machineName),
  LAUNCH_AWS_INSTANCE_TYPE_AARCH64: optional(machineName),
  LAUNCH_GCP_MACHINE_TYPE_X86_64: optional(machineName),
  LAUNCH_GCP_MACHINE_TYPE_AARCH64: optional(machineName),
  LAUNCH_GCP_ZONE_X86_64: optional(zoneName),
  LAUNCH_GCP_ZONE_AARCH64: optional(zoneName),
  IMAGE_REGISTRATION_ORG_ID: optional(
    z.coerce
      .number({ error: 'must be the number of a Red Hat organization, such as 12345678' })
      .int('must be the number of a Red Hat organization, such as 12345678')
      .positive('must be the number of a Red Hat organization, such as 12345678')
      .max(Number.MAX_SAFE_INTEGER, 'must be the number of a Red Hat organization, such as 12345678'),
  ),
  // Never repeated in a message: a wrong value is still the organization's secret.
  IMAGE_REGISTRATION_ACTIVATION_KEY: optional(z.string()),
  LAUNCH_AZURE_ADMIN_USERNAME: optional(
    z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Linux user name such as azureuser'),
  ),
});

/** Formats zod issues as "VARIABLE: what is wrong", one per variable problem. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const variable = String(issue.path[0] ?? 'environment');
    return `${variable}: ${issue.message}`;
  });
}

function chooseAuth(env: Record<string, string | undefined>, problems: string[]): ImageBuilderAuth | undefined {
  const modes = [
    { names: ['IMAGE_BUILDER_CLIENT_ID', 'IMAGE_BUILDER_CLIENT_SECRET'] as const, label: 'a service account' },
    { names: ['IMAGE_BUILDER_OFFLINE_TOKEN'] as const, label: 'an offline token' },
    {
      names: ['IMAGE_BUILDER_USERNAME', 'IMAGE_BUILDER_PASSWORD'] as const,
      label: 'a user name and password (staging only)',
    },
  ];
  const touched = modes.filter((m) => m.names.some((n) => env[n] !== undefined));
  if (touched.length === 0) {
    problems.push(
      'Image Builder credentials: set exactly one of IMAGE_BUILDER_CLIENT_ID + IMAGE_BUILDER_CLIENT_SECRET (service account), ' +
        'IMAGE_BUILDER_OFFLINE_TOKEN (offline token), or IMAGE_BUILDER_USERNAME + IMAGE_BUILDER_PASSWORD (basic auth, staging only)',
    );
    return undefined;
  }
  if (touched.length > 1) {
    const set = touched.flatMap((m) => m.names.filter((n) => env[n] !== undefined));
    problems.push(
      `Image Builder credentials: only one way to authenticate may be set, but ${set.join(', ')} are all set`,
    );
    return undefined;
  }
  const [mode] = touched as [(typeof modes)[number]];
  const missing = mode.names.filter((n) => env[n] === undefined);
  if (missing.length > 0) {
    problems.push(
      ...missing.map((n) => `${n}: is required with ${mode.names.filter((m) => m !== n).join(', ')} (${mode.label})`),
    );
    return undefined;
  }
  if (env.IMAGE_BUILDER_CLIENT_ID !== undefined) {
    return {
      kind: 'serviceAccount',
      clientId: env.IMAGE_BUILDER_CLIENT_ID,
      clientSecret: env.IMAGE_BUILDER_CLIENT_SECRET!,
    };
  }
  if (env.IMAGE_BUILDER_OFFLINE_TOKEN !== undefined) {
    return { kind: 'offlineToken', offlineToken: env.IMAGE_BUILDER_OFFLINE_TOKEN };
  }
  return { kind: 'basic', username: env.IMAGE_BUILDER_USERNAME!, password: env.IMAGE_BUILDER_PASSWORD! };
}

/** Both registration variables or neither: one alone would register nothing, which is a mistake to report. */
function chooseRegistration(env: Record<string, string | undefined>, problems: string[]): void {
  const orgSet = env.IMAGE_REGISTRATION_ORG_ID !== undefined;
  const keySet = env.IMAGE_REGISTRATION_ACTIVATION_KEY !== undefined;
  if (orgSet && !keySet)
    problems.push('IMAGE_REGISTRATION_ACTIVATION_KEY: is required with IMAGE_REGISTRATION_ORG_ID (registration)');
  if (keySet && !orgSet)
    problems.push('IMAGE_REGISTRATION_ORG_ID: is required with IMAGE_REGISTRATION_ACTIVATION_KEY (registration)');
}

function registrationOf(env: { IMAGE_REGISTRATION_ORG_ID?: number; IMAGE_REGISTRATION_ACTIVATION_KEY?: string }) {
  const organization = env.IMAGE_REGISTRATION_ORG_ID;
  const activationKey = env.IMAGE_REGISTRATION_ACTIVATION_KEY?.trim();
  return organization !== undefined && activationKey ? { registration: { organization, activationKey } } : {};
}

function secretsOf(auth: ImageBuilderAuth | undefined, urls: (string | undefined)[]): string[] {
  const secrets: string[] = [];
  if (auth?.kind === 'serviceAccount') secrets.push(auth.clientSecret);
  if (auth?.kind === 'offlineToken') secrets.push(auth.offlineToken);
  if (auth?.kind === 'basic')
    secrets.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
  for (const url of urls) if (url) secrets.push(...urlCredentials(new URL(url)).secrets);
  return [...new Set(secrets.filter((s) => s.length > 0))];
}

/**
 * Parses what the Image Builder client, the providers and the CLI need. Slack settings are not required here:
 * the CLI runs with only these.
 */
export function parseCoreConfig(environment: Environment): CoreConfig {
  const parsed = coreSchema.safeParse(environment);
  const problems = parsed.success ? [] : describeIssues(parsed.error.issues);
  // Credentials are plain strings, so they are checked from the raw environment even when another variable is
  // malformed: one run reports every problem.
  const auth = chooseAuth(nonEmpty(environment), problems);
  chooseRegistration(nonEmpty(environment), problems);
  if (!parsed.success || !auth || problems.length > 0) throw new ConfigError(problems);
  const env = parsed.data;

  const network: NetworkConfig = {
    // Lower case wins, as in curl and most tools.
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY,
    httpProxy: env.http_proxy ?? env.HTTP_PROXY,
    noProxy: env.no_proxy ?? env.NO_PROXY,
  };
  const d = DEFAULT_LAUNCH_DEFAULTS;
  return {
    imageBuilder: {
      baseUrl: (env.IMAGE_BUILDER_URL ?? DEFAULT_IMAGE_BUILDER_URL).replace(/\/+$/, ''),
      tokenUrl: env.IMAGE_BUILDER_TOKEN_URL ?? DEFAULT_TOKEN_URL,
      auth,
      proxyUrl: env.IMAGE_BUILDER_PROXY,
      requestTimeoutMs: (env.IMAGE_BUILDER_TIMEOUT_SECONDS ?? 30) * 1000,
      // The service publishes no limit; 10 a second follows ~150 builds at the default 15-second pace.
      maxRequestsPerSecond: env.IMAGE_BUILDER_MAX_RPS ?? 10,
    },
    network,
    launch: {
      aws: {
        instanceType: {
          x86_64: env.LAUNCH_AWS_INSTANCE_TYPE_X86_64 ?? d.aws.instanceType.x86_64,
          aarch64: env.LAUNCH_AWS_INSTANCE_TYPE_AARCH64 ?? d.aws.instanceType.aarch64,
        },
      },
      gcp: {
        machineType: {
          x86_64: env.LAUNCH_GCP_MACHINE_TYPE_X86_64 ?? d.gcp.machineType.x86_64,
          aarch64: env.LAUNCH_GCP_MACHINE_TYPE_AARCH64 ?? d.gcp.machineType.aarch64,
        },
        zone: {
          x86_64: env.LAUNCH_GCP_ZONE_X86_64 ?? d.gcp.zone.x86_64,
          aarch64: env.LAUNCH_GCP_ZONE_AARCH64 ?? d.gcp.zone.aarch64,
        },
      },
      azure: { adminUsername: env.LAUNCH_AZURE_ADMIN_USERNAME ?? d.azure.adminUsername },
    },
    logLevel: env.LOG_LEVEL ?? 'info',
    ...registrationOf(env),
    secrets: [
      ...secretsOf(auth, [env.IMAGE_BUILDER_PROXY, network.httpsProxy, network.httpProxy]),
      ...(env.IMAGE_REGISTRATION_ACTIVATION_KEY?.trim() ? [env.IMAGE_REGISTRATION_ACTIVATION_KEY.trim()] : []),
    ],
  };
}

function nonEmpty(environment: Environment): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value?.trim()));
}

export interface Dispatchers {
  /** For Image Builder and its token endpoint. */
  imageBuilder: Dispatcher;
  /** For everything else that leaves the process (Slack). */
  outbound: Dispatcher;
  close(): Promise<void>;
}

/**
 * Builds the HTTP dispatchers from the configuration. `tls` lets tests (and users with a private CA) add trust.
 * https always goes through a CONNECT tunnel; plain http is forwarded as a classic proxy request
 * (`proxyTunnel: false`), since proxies such as Squid refuse CONNECT to ports other than 443 by default.
 * Empty strings, not undefined, are passed to EnvHttpProxyAgent on purpose: with undefined it would read
 * process.env itself, and the configuration must stay the one source of truth.
 */
export function buildDispatchers(config: CoreConfig, tls: ConnectionOptions = {}): Dispatchers {
  const { network, imageBuilder } = config;
  const outbound = new EnvHttpProxyAgent({
    httpsProxy: network.httpsProxy ?? '',
    httpProxy: network.httpProxy ?? '',
    noProxy: network.noProxy ?? '',
    connect: tls,
    requestTls: tls,
    proxyTunnel: false,
  });
  const imageBuilderDispatcher = imageBuilder.proxyUrl
    ? new ProxyAgent({ uri: imageBuilder.proxyUrl, requestTls: tls, proxyTls: tls, proxyTunnel: false })
    : outbound;
  return {
    imageBuilder: imageBuilderDispatcher,
    outbound,
    async close() {
      await Promise.all([...new Set([outbound, imageBuilderDispatcher])].map((d) => d.close()));
    },
  };
}

export interface SlackConfig {
  botToken: string;
  /** Socket Mode when set; HTTP mode on `port` otherwise. */
  appToken?: string;
  /** Required in HTTP mode, where it verifies every request. */
  signingSecret?: string;
  /** Base URL of the Slack Web API (staging, tests); Slack's own when unset. */
  apiUrl?: string;
  /**
   * SLACK_RESPONSE_URL_PREFIXES: the only places a payload's `response_url` is posted to, each ending in `/` (a URL
   * starts with one when its origin is the same and its path begins with the prefix's).
   */
  responseUrlPrefixes: string[];
  /** SLACK_COMMAND: the slash command the app answers; the Slack app's manifest must declare the same. */
  command: string;
}

export const DEFAULT_SLACK_COMMAND = '/image-builder';

/** Where /healthz, /readyz and /metrics are served: apart from /slack/events, for the cluster only. */
export interface HealthConfig {
  /** HEALTH_HOST: the address to bind. */
  host: string;
  /** HEALTH_PORT. */
  port: number;
}

/**
 * Loopback outside a container: readiness details and metrics are unauthenticated, and a host's other addresses may
 * face a network. The image sets 0.0.0.0, since kubelet probes and Prometheus reach a pod on its own address and
 * the pod's network is its own.
 */
export const DEFAULT_HEALTH_HOST = '127.0.0.1';
export const DEFAULT_HEALTH_PORT = 9090;

/** Where Slack's response URLs live (commercial Slack); the government cloud's are under https://hooks.slack-gov.com/. */
export const DEFAULT_RESPONSE_URL_PREFIXES = ['https://hooks.slack.com/'];

export interface BotConfig extends CoreConfig {
  slack: SlackConfig;
  /** PORT: /slack/events in HTTP mode; unused in Socket Mode. */
  port: number;
  health: HealthConfig;
  /** `sqlite:…` or a path (SQLite), or `postgres://…` (PostgreSQL, for several replicas). */
  databaseUrl: string;
  pollIntervalMs: number;
  /**
   * POLICY_FILE: a policy file, or the open policy (everyone may request images and share them anywhere, nobody is an
   * admin), which must be asked for by name so that an unset or misspelt variable never turns the export control off.
   */
  policy: PolicySource;
  /** How long before AWS/GCP images are deleted the requester is reminded (EXPIRY_REMINDER_DAYS). */
  expiryReminderMs: number;
  /** SLACK_PACE_SCALE: how many times faster than Slack's tiers thread updates may go (benchmarks only). */
  slackPaceScale: number;
  /** Settings that work but are unsafe, each a sentence naming its variable, logged once at start. */
  startupWarnings: string[];
  /** RETENTION_DAYS: how long finished builds and audit events are kept; unset, for ever. */
  retentionMs?: number;
}

export const DEFAULT_DATABASE_URL = './data/image-builder-bot.sqlite';

const portNumber = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0)
  .max(65535, 'must be a port number');

const botSchema = z.object({
  SLACK_BOT_TOKEN: optional(z.string().regex(/^xoxb-/, 'must be a bot token (xoxb-…)')),
  SLACK_APP_TOKEN: optional(z.string().regex(/^xapp-/, 'must be an app-level token (xapp-…) with connections:write')),
  SLACK_SIGNING_SECRET: optional(z.string().min(8, 'must be the app’s signing secret')),
  SLACK_API_URL: optional(secureUrl),
  SLACK_RESPONSE_URL_PREFIXES: optional(
    z.preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((part) => part.trim())
              .filter(Boolean)
          : v,
      z.array(secureUrl).min(1, 'must list at least one URL prefix, such as https://hooks.slack.com/'),
    ),
  ),
  // Slack's own rule for a command name: a slash, then at most 31 more characters, lowercase.
  SLACK_COMMAND: optional(
    z
      .string()
      .regex(
        /^\/[a-z0-9_-]{1,31}$/,
        'must be a slash command such as /image-builder: a "/" then up to 31 lowercase letters, digits, "-" or "_"',
      ),
  ),
  PORT: optional(portNumber),
  HEALTH_PORT: optional(portNumber),
  HEALTH_HOST: optional(
    z.union([z.ipv4(), z.ipv6(), z.hostname()], {
      error: 'must be an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::',
    }),
  ),
  DATABASE_URL: optional(z.string()),
  POLL_INTERVAL_SECONDS: optional(
    z.coerce
      .number({ error: 'must be a number of seconds' })
      .positive('must be more than 0')
      .max(3600, 'must be at most 3600'),
  ),
  POLICY_FILE: optional(z.string()),
  SLACK_PACE_SCALE: optional(
    z.coerce
      .number({ error: 'must be a number' })
      .min(1, 'must be at least 1 (Slack’s own pace)')
      .max(1000, 'must be at most 1000'),
  ),
  EXPIRY_REMINDER_DAYS: optional(
    z.coerce
      .number({ error: 'must be a number of days' })
      .positive('must be more than 0')
      .max(13, 'must be less than the 14 days images live'),
  ),
  RETENTION_DAYS: optional(
    z.coerce
      .number({ error: 'must be a number of days (leave it unset to keep everything)' })
      .positive('must be more than 0 (leave it unset to keep everything)')
      .max(36_500, 'must be at most 36500 (leave it unset to keep everything)'),
  ),
});

/** Everything the Slack bot needs: the core settings plus Slack, HTTP, storage and polling. */
export function parseBotConfig(environment: Environment): BotConfig {
  const problems: string[] = [];
  let core: CoreConfig | undefined;
  try {
    core = parseCoreConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const parsed = botSchema.safeParse(environment);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues));
  // Presence is checked on the raw environment, so a malformed neighbour does not hide a missing variable.
  const raw = nonEmpty(environment);
  if (!raw.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: is required (the bot token, xoxb-…)');
  if (!raw.POLICY_FILE) {
    problems.push(
      `POLICY_FILE: is required: set it to your policy file (see src/policy/example-policy.yaml), or to ` +
        `"${OPEN_POLICY_SETTING}" to let everyone, guests and external users included, request images and share them anywhere`,
    );
  }
  if (!raw.SLACK_APP_TOKEN && !raw.SLACK_SIGNING_SECRET) {
    problems.push('SLACK_SIGNING_SECRET: is required in HTTP mode (set SLACK_APP_TOKEN instead to use Socket Mode)');
  }
  if (raw.DATABASE_URL) {
    try {
      parseDatabaseUrl(raw.DATABASE_URL, process.cwd());
    } catch (error) {
      if (!(error instanceof DatabaseUrlError)) throw error;
      problems.push(error.message);
    }
  }
  const slackPort = parsed.data?.PORT ?? 3000;
  const healthPort = parsed.data?.HEALTH_PORT ?? DEFAULT_HEALTH_PORT;
  if (parsed.success && !raw.SLACK_APP_TOKEN && healthPort !== 0 && healthPort === slackPort) {
    problems.push(`HEALTH_PORT: must differ from PORT (${slackPort}), which carries /slack/events in HTTP mode`);
  }
  const botToken = parsed.data?.SLACK_BOT_TOKEN;
  const policyFile = parsed.data?.POLICY_FILE;
  if (problems.length > 0 || !core || !parsed.success || !botToken || !policyFile) throw new ConfigError(problems);
  const env = parsed.data;

  const slack: SlackConfig = {
    botToken,
    appToken: env.SLACK_APP_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET,
    apiUrl: env.SLACK_API_URL && withTrailingSlash(env.SLACK_API_URL),
    // Without the final slash, https://hooks.slack.com would admit https://hooks.slack.com.example.net/ too.
    responseUrlPrefixes: (env.SLACK_RESPONSE_URL_PREFIXES ?? DEFAULT_RESPONSE_URL_PREFIXES).map((prefix) =>
      withTrailingSlash(new URL(prefix).href),
    ),
    command: env.SLACK_COMMAND ?? DEFAULT_SLACK_COMMAND,
  };
  return {
    ...core,
    slack,
    port: slackPort,
    health: { host: env.HEALTH_HOST ?? DEFAULT_HEALTH_HOST, port: healthPort },
    databaseUrl: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    pollIntervalMs: Math.round((env.POLL_INTERVAL_SECONDS ?? 15) * 1000),
    policy: policyFile === OPEN_POLICY_SETTING ? { kind: 'open' } : { kind: 'file', file: policyFile },
    expiryReminderMs: Math.round((env.EXPIRY_REMINDER_DAYS ?? 2) * 24 * 60 * 60 * 1000),
    slackPaceScale: env.SLACK_PACE_SCALE ?? 1,
    // PGHOST and PGSSLMODE are pg's own: it reads them when the URL is silent, so the warning must too.
    startupWarnings: [
      plaintextDatabaseWarning(env.DATABASE_URL ?? '', { PGHOST: raw.PGHOST, PGSSLMODE: raw.PGSSLMODE }),
    ].filter((warning): warning is string => warning !== undefined),
    ...(env.RETENTION_DAYS ? { retentionMs: Math.round(env.RETENTION_DAYS * 24 * 60 * 60 * 1000) } : {}),
    secrets: [
      ...core.secrets,
      ...[slack.botToken, slack.appToken, slack.signingSecret].filter((s): s is string => Boolean(s)),
      ...databaseUrlSecrets(env.DATABASE_URL ?? ''),
    ],
  };
}

const withTrailingSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** DATABASE_URL for the CLI, which reads the bot's database without the rest of the bot's configuration. */
export function databaseUrlSetting(environment: Environment): string {
  return nonEmpty(environment).DATABASE_URL ?? DEFAULT_DATABASE_URL;
}

/**
 * Where the CLI keeps what it learnt from the service between runs (the distributions, for `compose --dry-run`):
 * $XDG_CACHE_HOME/image-builder-bot, else ~/.cache/image-builder-bot.
 */
export function cliCacheDirectory(environment: Environment, homeDirectory: string): string {
  const base = nonEmpty(environment).XDG_CACHE_HOME ?? path.join(homeDirectory, '.cache');
  return path.join(base, 'image-builder-bot');
}
