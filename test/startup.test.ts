import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeImageBuilder } from './fakes/imageBuilderService';
import { slackError, startFakeSlack, type FakeSlack } from './fakes/slackApi';
import { botEnvironment } from './support/botEnvironment';
import { eventually } from './support/eventually';
import { hostAddress, itWithHostAddress } from './support/hostAddress';
import { KNOWN_SECRETS } from './support/knownSecrets';

/*
 * `npm start` with a bad environment, as an operator meets it: one message naming every problem, a non-zero exit,
 * and nothing contacted (the URLs below point at a closed port; reaching them would show up as a different error).
 */

const root = path.resolve(__dirname, '..');
const BOT = ['--require', path.join(root, 'test/support/registerTs.cjs'), path.join(root, 'src/index.ts')];
// The bot reads a .env where it starts: not from the checkout, where a developer may keep one for `npm start`.
let emptyFolder: string;
beforeAll(() => {
  emptyFolder = mkdtempSync(path.join(tmpdir(), 'ibb-no-env-file-'));
});
afterAll(() => rmSync(emptyFolder, { recursive: true, force: true }));

function startBot(env: Record<string, string>) {
  return spawnSync(process.execPath, BOT, {
    cwd: emptyFolder,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

it('names every missing or malformed variable and exits before connecting to anything', () => {
  const result = startBot({
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    IMAGE_BUILDER_URL: 'http://127.0.0.1:9/api/image-builder/v1',
    POLL_INTERVAL_SECONDS: 'often',
    PORT: '70000',
    DATABASE_URL: 'mysql://db/bot',
  });
  expect(result.status).toBe(2);
  for (const name of [
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'POLL_INTERVAL_SECONDS',
    'PORT',
    'DATABASE_URL',
    'IMAGE_BUILDER_CLIENT_ID + IMAGE_BUILDER_CLIENT_SECRET',
  ]) {
    expect(result.stderr).toContain(name);
  }
  expect(result.stderr).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+/);
});

it('names the variable when a proxy password has a literal %, instead of crashing on "URI malformed"', () => {
  const result = startBot({
    SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET,
    IMAGE_BUILDER_OFFLINE_TOKEN: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN,
    HTTPS_PROXY: 'http://user:50%off@proxy:3128',
    DATABASE_URL: 'postgres://bot:db50%off@127.0.0.1:9/bot',
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(
    'HTTPS_PROXY: its user name or password has a "%" that is not followed by two hexadecimal digits',
  );
  expect(result.stderr).toContain('DATABASE_URL: its user name or password has a "%"');
  expect(result.stderr).not.toMatch(/URI malformed|50%off/);
});

it('accepts Socket Mode without a signing secret', () => {
  const result = startBot({ SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN, SLACK_APP_TOKEN: 'bad-token' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('SLACK_APP_TOKEN: must be an app-level token');
  expect(result.stderr).not.toContain('SLACK_SIGNING_SECRET');
});

// A server at this host's own network address is "not local" to the bot, yet no packet leaves the machine.
itWithHostAddress(
  'warns once, before connecting, that a PostgreSQL server elsewhere without sslmode is reached in clear',
  () => {
    // Port 1: nothing listens, so the bot stops at the connection; the warning must come before that.
    const result = startBot({
      SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET,
      IMAGE_BUILDER_OFFLINE_TOKEN: 'startup-test-offline-token',
      POLICY_FILE: 'open',
      DATABASE_URL: `postgres://bot:${encodeURIComponent(KNOWN_SECRETS.DATABASE_URL_PASSWORD)}@${hostAddress}:1/bot?connect_timeout=2`,
    });
    expect(result.status).not.toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('sslmode'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 'warn',
      msg: expect.stringContaining(
        `DATABASE_URL: the PostgreSQL server ${hostAddress} is not on this host and no sslmode is set`,
      ),
    });
    expect(result.stderr).not.toContain(KNOWN_SECRETS.DATABASE_URL_PASSWORD);
  },
);

it('shuts down cleanly on SIGTERM: stops, closes the store, exits 0', async () => {
  const slack = await startFakeSlack();
  const service = await startFakeImageBuilder();
  const dir = mkdtempSync(path.join(tmpdir(), 'ibb-start-'));
  const child = spawn(process.execPath, BOT, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      ...botEnvironment({ slack, imageBuilder: service, databaseUrl: path.join(dir, 'bot.sqlite') }),
      POLICY_FILE: 'open',
    },
  });
  let logs = '';
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const healthPort = await eventually(() => /"healthPort":(\d+)/.exec(logs)?.[1], {
      timeoutMs: 15_000,
      description: 'the bot to start',
    });
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs).toContain('shutting down');
    // Every line is one JSON object: structured logs, ready for a log pipeline.
    for (const line of logs.trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  } finally {
    child.kill('SIGKILL');
    await Promise.all([slack.close(), service.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('a token Slack refuses', () => {
  let slack: FakeSlack;
  let dir: string;
  beforeEach(async () => {
    slack = await startFakeSlack({ botToken: KNOWN_SECRETS.SLACK_BOT_TOKEN, appToken: KNOWN_SECRETS.SLACK_APP_TOKEN });
    dir = mkdtempSync(path.join(tmpdir(), 'ibb-refused-'));
  });
  afterEach(async () => {
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the bot against the fake Slack and waits for it to end (killed after 20 s: it kept running). */
  async function startAgainstSlack(
    env: Record<string, string>,
  ): Promise<{ status: number | null; stderr: string; stdout: string }> {
    const child = spawn(process.execPath, BOT, {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_API_URL: slack.url,
        PORT: '0',
        DATABASE_URL: path.join(dir, 'bot.sqlite'),
        POLICY_FILE: 'open',
        HEALTH_PORT: '0',
        // Never reached: the bot stops before it asks Image Builder anything.
        IMAGE_BUILDER_URL: 'http://127.0.0.1:9/api/image-builder/v1',
        IMAGE_BUILDER_TOKEN_URL: 'http://127.0.0.1:9/token',
        IMAGE_BUILDER_OFFLINE_TOKEN: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN,
        ...env,
      },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    clearTimeout(killer);
    return { status, stderr, stdout };
  }

  const lastLine = (text: string) => text.trim().split('\n').at(-1);
  const REFUSED_BOT_TOKEN = 'xoxb-7461030001-7461030002-RevokedBotToken';

  it.each([
    ['HTTP mode', { SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET }],
    ['Socket Mode', { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN }],
  ])('ends the start in %s with one line naming SLACK_BOT_TOKEN, exit 2', async (_mode, env) => {
    const result = await startAgainstSlack({ SLACK_BOT_TOKEN: REFUSED_BOT_TOKEN, ...env });
    expect(result.status).toBe(2);
    expect(lastLine(result.stderr)).toBe('image-builder-bot: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)');
    const output = result.stderr + result.stdout;
    expect(output).not.toContain('unhandled promise rejection');
    expect(output).not.toMatch(/WebAPIPlatformError|\n\s+at /);
    expect(slack.callsTo('auth.test').length).toBeGreaterThan(0);
  });

  it('ends the start with one line naming SLACK_APP_TOKEN when Slack refuses the app-level token', async () => {
    const result = await startAgainstSlack({
      SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
      SLACK_APP_TOKEN: 'xapp-1-A0746103001-7461030003-RevokedAppToken',
    });
    expect(result.status).toBe(2);
    expect(lastLine(result.stderr)).toBe('image-builder-bot: SLACK_APP_TOKEN was refused by Slack (invalid_auth)');
    expect(result.stderr + result.stdout).not.toMatch(/unhandled promise rejection|\n\s+at /);
  });

  it('stops instead of retrying for ever when the app-level token is of the wrong type', async () => {
    slack.on('apps.connections.open', slackError('not_allowed_token_type'));
    const result = await startAgainstSlack({
      SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
      SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN,
    });
    expect(result.status).toBe(2);
    expect(lastLine(result.stderr)).toBe(
      'image-builder-bot: SLACK_APP_TOKEN was refused by Slack (not_allowed_token_type)',
    );
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
  });
});
