import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, type BotApp } from '../app';
import { buildDispatchers, parseBotConfig, type BotConfig } from '../config/config';
import { imageBuilderFromConfig } from '../imageBuilder/fromConfig';
import { systemClock } from '../platform/clock';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/metrics';
import { loadPolicy } from '../policy';
import { openStore } from '../store/openStore';
import type { Store } from '../store/store';
import { startFakeImageBuilder, type FakeImageBuilder } from './fakes/imageBuilderService';
import { isObject, type JsonObject } from './fakes/blockKit';
import { startFakeSlack, type FakeSlack, type FakeSlackMessage } from './fakes/slackApi';
import { signedPost, slashCommandBody, submitModalBody } from './slackRequests';
import { messageText, type TerminalNames } from './terminalText';

/*
 * `npm run demo`: the whole bot, with the stand-in Slack and Image Builder the tests use, all on loopback. It types
 * `/image-builder aws` as a person would (a signed request, as Slack sends it), fills and submits the form, and
 * prints what the channel shows as it changes — the parent, the status reply edited in place, the result — until
 * the build is done. Time is compressed: at speed 1 the bot polls every 5 s and a build takes about a minute.
 */

export interface DemoOptions {
  /** How many times faster than the demo's minute-long build; the tests run it at 20 or more. */
  speed: number;
  out: { write(text: string): unknown };
  /** How long before the demo gives up, in milliseconds; three minutes of demo time by default. */
  deadlineMs?: number;
}

const USER = { id: 'U0ALICE', name: 'alice' };
const CHANNEL = { id: 'C0PLATFORM', name: 'platform' };
const SIGNING_SECRET = 'demo-signing-secret-known-to-the-stand-in-slack';
const BOT_TOKEN = 'xoxb-demo-token-for-the-stand-in-slack';
const DEMO_POLL_SECONDS = 5;
const FORM = { distribution: 'rhel-9', architecture: 'x86_64', share_with_accounts: '123456789012' };

const names: TerminalNames = {
  user: (id) => (id === USER.id ? USER.name : undefined),
  channel: (id) => (id === CHANNEL.id ? CHANNEL.name : undefined),
};

interface Running {
  slack: FakeSlack;
  imageBuilder: FakeImageBuilder;
  folder: string;
  store?: Store;
  app?: BotApp;
  dispatchers?: ReturnType<typeof buildDispatchers>;
  appUrl: string;
  /** The bot's log, shown only if the demo fails. */
  log: string[];
}

export async function runDemo(options: DemoOptions): Promise<void> {
  if (!(options.speed > 0)) throw new Error('the speed must be a positive number');
  const started = Date.now();
  const say = (line: string) => void options.out.write(`${line}\n`);
  const at = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`;
  let running: Running | undefined;
  try {
    running = await startEverything(options.speed);
    say('image-builder-bot demo: the bot with a stand-in Slack and a stand-in Image Builder, both on loopback.');
    say(
      `Nothing leaves this machine; a build takes about ${Math.round(60 / options.speed)} s at speed ${options.speed}.\n`,
    );
    await orderAnImage(running, (line) => say(`${at()} ${line}`));
    const deadline = started + (options.deadlineMs ?? 180_000 / options.speed + 30_000);
    await followTheChannel(running, deadline, (line) => say(`${at()} ${line}`));
  } catch (error) {
    say(`\nThe demo failed: ${error instanceof Error ? error.message : String(error)}`);
    if (running) say(`The bot's log:\n${running.log.join('')}`);
    throw error;
  } finally {
    if (running) await stopEverything(running);
  }
  say('\nThe demo is over: the bot stopped, the stand-ins closed, and its database was deleted.');
}

async function startEverything(speed: number): Promise<Running> {
  const slack = await startFakeSlack({
    botToken: BOT_TOKEN,
    channels: { [CHANNEL.id]: 'public-not-member' },
    users: { [USER.id]: { name: USER.name, real_name: 'Alice Example' } },
  });
  const imageBuilder = await startFakeImageBuilder();
  const running: Running = {
    slack,
    imageBuilder,
    folder: mkdtempSync(path.join(tmpdir(), 'image-builder-bot-demo-')),
    appUrl: '',
    log: [],
  };
  try {
    const config = demoConfig(running, speed);
    const logger = createLogger({
      level: 'warn',
      secrets: config.secrets,
      destination: { write: (line) => running.log.push(line) },
    });
    running.dispatchers = buildDispatchers(config);
    running.store = await openStore(config.databaseUrl, { workingDirectory: running.folder });
    const metrics = createMetrics({ defaultMetrics: false });
    running.app = createApp({
      config,
      logger,
      imageBuilder: imageBuilderFromConfig(config, {
        dispatcher: running.dispatchers.imageBuilder,
        logger: logger.child({ component: 'image-builder' }),
        onCall: (call) => metrics.imageBuilderCall(call.operation, call.outcome, call.durationMs),
      }),
      store: running.store,
      policy: await loadPolicy(config.policy),
      clock: systemClock,
      outbound: running.dispatchers.outbound,
      metrics,
    });
    const { port } = await running.app.start();
    running.appUrl = `http://127.0.0.1:${port}`;
    return running;
  } catch (error) {
    await stopEverything(running);
    throw error;
  }
}

/** The bot's configuration as an operator would write it, every address a stand-in on loopback. */
function demoConfig(running: Running, speed: number): BotConfig {
  return parseBotConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: running.slack.url,
    SLACK_RESPONSE_URL_PREFIXES: running.slack.responseUrlPrefix,
    SLACK_PACE_SCALE: String(speed),
    PORT: '0',
    HEALTH_PORT: '0',
    DATABASE_URL: `sqlite://${path.join(running.folder, 'demo.sqlite')}`,
    POLL_INTERVAL_SECONDS: String(DEMO_POLL_SECONDS / speed),
    POLICY_FILE: 'open',
    IMAGE_BUILDER_URL: running.imageBuilder.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: running.imageBuilder.tokenUrl,
    IMAGE_BUILDER_CLIENT_ID: running.imageBuilder.credentials.clientId,
    IMAGE_BUILDER_CLIENT_SECRET: running.imageBuilder.credentials.clientSecret,
  });
}

async function stopEverything(running: Running): Promise<void> {
  await running.app?.stop().catch(() => undefined);
  await running.store?.close().catch(() => undefined);
  await running.dispatchers?.close().catch(() => undefined);
  await Promise.all([running.slack.close(), running.imageBuilder.close()]);
  rmSync(running.folder, { recursive: true, force: true });
}

/** What alice does: the slash command, then the form the bot opened, filled and submitted. */
async function orderAnImage(running: Running, say: (line: string) => void): Promise<void> {
  const { slack } = running;
  say(`${USER.name} types /image-builder aws in #${CHANNEL.name}`);
  const command = slashCommandBody({
    text: 'aws',
    user_id: USER.id,
    user_name: USER.name,
    channel_id: CHANNEL.id,
    channel_name: CHANNEL.name,
    response_url: slack.responseUrl('demo-command'),
  });
  const ack = await signedPost(running.appUrl, SIGNING_SECRET, command);
  if (ack.status !== 200) throw new Error(`the bot answered the slash command with ${ack.status}`);
  await slack.waitForCall('views.open', undefined, { timeoutMs: 10_000 });
  const view = slack.views().at(-1);
  if (!view) throw new Error('the bot opened no form');
  say(`the bot opens the form “${formTitle(view)}” for ${USER.name}: ${formLabels(view).join(', ')}`);
  say(
    `${USER.name} chooses ${FORM.distribution} and ${FORM.architecture}, shares with AWS account ` +
      `${FORM.share_with_accounts}, and submits`,
  );
  const submitted = await signedPost(running.appUrl, SIGNING_SECRET, submitModalBody(view, USER.id, FORM));
  if (submitted.status !== 200 || submitted.text !== '')
    throw new Error(`the bot refused the form: ${submitted.status} ${submitted.text}`);
}

const formTitle = (view: JsonObject) => {
  const title = view.title;
  return isObject(title) && typeof title.text === 'string' ? title.text : 'the form';
};

function formLabels(view: { blocks: unknown[] }): string[] {
  return view.blocks.flatMap((block) => {
    const label = (block as { type?: unknown; label?: { text?: unknown } }).label?.text;
    return (block as { type?: unknown }).type === 'input' && typeof label === 'string' ? [label] : [];
  });
}

const CHANGE_POLL_MS = 25;

/** Prints every message the channel gains and every edit, until the thread shows the result. */
async function followTheChannel(running: Running, deadline: number, say: (line: string) => void): Promise<void> {
  const shown = new Map<string, string>();
  for (;;) {
    const messages = running.slack.messages(CHANNEL.id).filter((m) => !m.deleted);
    for (const message of messages) {
      const text = messageText(message, names);
      const before = shown.get(message.ts);
      if (before === text) continue;
      shown.set(message.ts, text);
      say(`${where(message)} — ${before === undefined ? 'posted' : 'edited in place'}:\n${indent(text)}`);
    }
    const finished = finishedThread(messages);
    if (finished) {
      say(`the build is done: the parent and the status reply say so, and the result is in the thread`);
      return;
    }
    if (Date.now() > deadline) throw new Error('the build did not finish in time');
    await sleep(CHANGE_POLL_MS);
  }
}

const where = (message: FakeSlackMessage) =>
  message.thread_ts && message.thread_ts !== message.ts ? `#${CHANNEL.name}, in the thread` : `#${CHANNEL.name}`;

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `          │ ${line}`)
    .join('\n');

/** The parent and its replies once the parent says the build ended and the result has been posted. */
function finishedThread(messages: readonly FakeSlackMessage[]): FakeSlackMessage[] | undefined {
  const parent = messages.find((m) => !m.thread_ts || m.thread_ts === m.ts);
  if (!parent || /in progress/i.test(parent.text)) return undefined;
  const replies = messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
  return replies.length >= 2 ? [parent, ...replies] : undefined;
}
