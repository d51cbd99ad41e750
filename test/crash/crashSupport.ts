import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { FakeImageBuilder } from '../fakes/imageBuilderService';
import type { FakeSlack, FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { KNOWN_HTTPS_PROXY } from '../support/knownSecrets';
import { signedPost, slashCommandBody, submitModalBody, type FillValue } from '../support/slackRequests';

/*
 * What the kill -9 tests share: the bot spawned as a real process, builds ordered through its signed endpoint as a
 * person would, the posts a kill cut off between Slack's answer and the saved ts, and what every build must show
 * once the run is over.
 */

const ROOT = path.resolve(__dirname, '../..');

/** A copy of `items` in an order drawn from `random` (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** The seed named by `variable`, or a new one. */
export function seedFrom(variable: string): number {
  const given = process.env[variable];
  return given === undefined || given === '' ? Math.floor(Math.random() * 2 ** 32) : Number(given);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
/** One order per cloud, taken in turn. */
export const ORDERS: { cloud: string; fills: Record<string, FillValue> }[] = [
  { cloud: 'aws', fills: { distribution: 'rhel-9', share_with_accounts: '123456789012' } },
  { cloud: 'gcp', fills: { distribution: 'rhel-10', share_with: 'user:alice@example.com' } },
  {
    cloud: 'azure',
    fills: { distribution: 'rhel-9', tenant_id: TENANT, subscription_id: SUBSCRIPTION, resource_group: 'images' },
  },
];

/** The columns of a build the tests look at, as both stores name them. */
export const BUILD_ROW_COLUMNS =
  'id, state, channel_id, thread_channel_id, compose_id, parent_ts, status_ts, result_ts';

/** Where those columns are: the build's tracking state and its Slack messages (in `schema`, when given). */
export const buildRowsFrom = (schema?: string) => {
  const table = (name: string) => (schema ? `${schema}.${name}` : name);
  return `${table('build_requests')} JOIN ${table('build_messages')} ON build_id = id`;
};

/** Every build in the SQLite file at `databasePath`, read on a connection of its own that is closed at once. */
export function readSqliteBuildRows(databasePath: string): BuildRow[] {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT ${BUILD_ROW_COLUMNS} FROM ${buildRowsFrom()}`).all() as BuildRow[];
  } finally {
    db.close();
  }
}

export interface BuildRow {
  id: string;
  state: string;
  channel_id: string;
  thread_channel_id: string | null;
  compose_id: string | null;
  parent_ts: string | null;
  status_ts: string | null;
  result_ts: string | null;
}

export interface RunningBot {
  child: ChildProcess;
  pid: number;
  /** Where Slack posts to it; empty in Socket Mode. */
  appUrl: string;
  exited: Promise<void>;
  /** Everything it wrote to stdout and stderr. */
  logs(): string;
}

export interface BotSettings {
  slack: FakeSlack;
  imageBuilder: FakeImageBuilder;
  botToken: string;
  signingSecret: string;
  databaseUrl: string;
  /** Anything else the bot is started with. */
  env?: Record<string, string>;
  /** A built entry to run instead of src/index.ts (compiled as it is required), e.g. the bundle the image ships. */
  entry?: string;
  /**
   * Told of the process as soon as it is spawned (appUrl still empty): it may post before the test has read that it
   * listens, and a test that kills it on a post must know it by then.
   */
  onSpawn?: (bot: RunningBot) => void;
}

/** Spawns the bot (src/index.ts, or `entry`) as the image runs it, on the fakes, and waits until it serves. */
export async function spawnBot(settings: BotSettings): Promise<RunningBot> {
  const { slack, imageBuilder } = settings;
  // Not from the checkout's root: the bot reads a .env where it starts, and a developer may keep one there.
  const child = spawn(
    process.execPath,
    settings.entry
      ? [settings.entry]
      : ['--require', path.join(ROOT, 'test/support/registerTs.cjs'), path.join(ROOT, 'src/index.ts')],
    {
      cwd: __dirname,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: settings.botToken,
        SLACK_SIGNING_SECRET: settings.signingSecret,
        SLACK_API_URL: slack.url,
        SLACK_RESPONSE_URL_PREFIXES: slack.responseUrlPrefix,
        PORT: '0',
        HEALTH_PORT: '0',
        DATABASE_URL: settings.databaseUrl,
        POLL_INTERVAL_SECONDS: '0.05',
        IMAGE_BUILDER_URL: imageBuilder.baseUrl,
        IMAGE_BUILDER_TOKEN_URL: imageBuilder.tokenUrl,
        IMAGE_BUILDER_OFFLINE_TOKEN: imageBuilder.credentials.offlineToken,
        // Carried, never used (the fakes are plain http on loopback): the secret sentinel looks for its password.
        HTTPS_PROXY: KNOWN_HTTPS_PROXY,
        POLICY_FILE: 'open',
        ...settings.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const bot: RunningBot = { child, pid: child.pid!, appUrl: '', exited, logs: () => logs };
  settings.onSpawn?.(bot);
  // The line it logs once it serves: with the app's port in HTTP mode, without one in Socket Mode.
  const running = await eventually(() => /^.*"msg":"image-builder-bot is running".*$/m.exec(logs)?.[0], {
    timeoutMs: 20_000,
    description: 'the bot to start',
  }).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}; it wrote:\n${logs.slice(-4000)}`);
  });
  const port = /"port":(\d+)/.exec(running)?.[1];
  if (port) bot.appUrl = `http://127.0.0.1:${port}`;
  return bot;
}

export interface OrderRoute {
  /** Where Slack delivers the slash command, and where it delivers the modal's submission. */
  commandTo: string;
  submitTo: string;
}

/**
 * Types `/image-builder <cloud>` in `channel` and submits the modal that opens. Once the submission is answered the
 * request is in the database: from there on no kill can lose it.
 */
export async function orderBuild(
  slack: FakeSlack,
  signingSecret: string,
  number: number,
  channel: string,
  route: OrderRoute,
): Promise<void> {
  const { cloud, fills } = ORDERS[(number - 1) % ORDERS.length]!;
  const opened = slack.views().length;
  const ack = await signedPost(
    route.commandTo,
    signingSecret,
    slashCommandBody({ text: cloud, channel_id: channel, response_url: slack.responseUrl(`order-${number}`) }),
  );
  expect(ack.status).toBe(200);
  const view = await slack.waitFor(() => slack.views()[opened] as SlackView | undefined, {
    description: `the ${cloud} modal`,
  });
  const submitted = await signedPost(route.submitTo, signingSecret, submitModalBody(view, 'U1', fills));
  expect(submitted.status).toBe(200);
  expect(submitted.text).toBe('');
}

/** `channel/ts` of every chat.postMessage Slack accepted (from the bot calling with `token`, when given), in order. */
export function acceptedPosts(slack: FakeSlack, token?: string): string[] {
  return slack
    .callsTo('chat.postMessage')
    .filter((call) => token === undefined || call.token === token)
    .map((call) => call.response.body as { ok?: boolean; channel?: string; ts?: string })
    .filter((body) => body.ok === true)
    .map((body) => `${body.channel}/${body.ts}`);
}

/** The channel of a `channel/ts` key: each build has a channel, so its thread. */
export const threadOf = (key: string): string => key.slice(0, key.indexOf('/'));

/**
 * Messages Slack shows that no row knows: posts whose answer a kill cut off before the ts was saved (of the bot
 * calling with `token`, when given). A message the bot took back itself is not shown, and not counted.
 */
export function unsavedPosts(slack: FakeSlack, rows: BuildRow[], token?: string): string[] {
  const saved = new Set(
    rows.flatMap((r) => [r.parent_ts, r.status_ts, r.result_ts].map((ts) => `${r.thread_channel_id}/${ts}`)),
  );
  return acceptedPosts(slack, token).filter((key) => {
    const [channel, ts] = key.split('/') as [string, string];
    return !saved.has(key) && slack.message(channel, ts) !== undefined;
  });
}

/**
 * Per build: one parent showing the result, one status reply edited in place, one result reply, one POST
 * /compose; and nothing else in Slack but the posts in `cutOff` (`channel/ts`), which a kill cut off.
 */
export function expectEveryBuildOnce(
  slack: FakeSlack,
  imageBuilder: FakeImageBuilder,
  rows: BuildRow[],
  cutOff: ReadonlySet<string>,
): void {
  const composePosts = imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
  const shown = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
  for (const row of rows) {
    expect(row).toMatchObject({ state: 'done', thread_channel_id: row.channel_id });
    const messages = slack.messages(row.channel_id);
    const cut = (m: FakeSlackMessage) => cutOff.has(`${row.channel_id}/${m.ts}`);
    const parents = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    const replies = messages.filter((m) => m.thread_ts && m.thread_ts !== m.ts);
    const statusReplies = replies.filter((m) => m.text.startsWith('Status:'));
    const results = replies.filter((m) => !m.text.startsWith('Status:'));
    expect(parents.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.parent_ts]);
    expect(statusReplies.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.status_ts]);
    expect(results.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.result_ts]);
    // Replies only in the saved thread: a reply to a parent cut off would be a thread nobody follows.
    expect(replies.filter((m) => !cut(m)).every((m) => m.thread_ts === row.parent_ts)).toBe(true);
    const status = statusReplies.find((m) => m.ts === row.status_ts);
    expect(shown(parents.find((m) => m.ts === row.parent_ts))).toContain('Ready');
    expect(shown(status)).toContain('Ready');
    expect(shown(results.find((m) => m.ts === row.result_ts))).toContain('your image is ready');
    // Edited as the build moved, never posted again.
    expect(status!.history.length).toBeGreaterThan(0);

    const posted = composePosts.filter((r) =>
      String((r.body as { image_description?: string }).image_description).includes(row.id),
    );
    expect(posted).toHaveLength(1);
    expect(imageBuilder.composes.get(row.compose_id!)?.request).toEqual(posted[0]!.body);
  }
  expect(composePosts).toHaveLength(rows.length);
  const everyMessage = rows.flatMap((r) => slack.messages(r.channel_id));
  expect(everyMessage).toHaveLength(rows.length * 3 + cutOff.size);
  expect(slack.problems).toEqual([]);
}
