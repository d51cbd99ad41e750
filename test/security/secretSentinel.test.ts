import { spawnSync } from 'node:child_process';
import { createServer, request as forward, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { buildDispatchers, parseBotConfig, parseCoreConfig } from '../../src/config/config';
import { imageBuilderFromConfig } from '../../src/imageBuilder/fromConfig';
import { createLogger } from '../../src/platform/logger';
import { startFakeImageBuilder } from '../fakes/imageBuilderService';
import { startFakeSlack } from '../fakes/slackApi';
import {
  KNOWN_BASIC_CREDENTIALS,
  KNOWN_HTTPS_PROXY,
  KNOWN_SECRETS,
  KNOWN_USERNAMES,
  SECRET_VARIABLES,
  urlWithCredentials,
} from '../support/knownSecrets';
import {
  activeSecretSentinel,
  describeLeaks,
  scanProxyRequest,
  SecretSentinel,
  type LeakHit,
} from '../support/secretSentinel';

/*
 * The secret sentinel that watches the whole suite, held to its job: it finds every known secret in every form it
 * travels in, wherever the app could let it out (a log line, a Slack call, a child process's output), leaves the
 * legitimate carriers alone and only them, and fails the test that produced a leak, naming the variable and never
 * printing the value. Deliberate leaks here go to a probe, which keeps them from failing these tests.
 */

const ROOT = path.resolve(__dirname, '../..');
const sentinel = activeSecretSentinel()!;

/** What a probe caught, as plain data. */
const caught = (hits: readonly LeakHit[]) =>
  hits.map(({ variable, forms, channel }) => ({ variable, forms: [...forms], channel }));

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

it('runs in every test file, and knows every secret the configuration holds', () => {
  expect(sentinel).toBeDefined();
  const postgres = urlWithCredentials(
    'postgres://db.example.com/bot',
    KNOWN_USERNAMES.DATABASE_URL_USER,
    KNOWN_SECRETS.DATABASE_URL_PASSWORD,
  );
  const common = {
    SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
    SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN,
    SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET,
    HTTPS_PROXY: KNOWN_HTTPS_PROXY,
    IMAGE_BUILDER_PROXY: KNOWN_HTTPS_PROXY,
    DATABASE_URL: postgres,
    POLICY_FILE: 'open',
    IMAGE_REGISTRATION_ORG_ID: '12345678',
    IMAGE_REGISTRATION_ACTIVATION_KEY: KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY,
  };
  const configs = [
    parseBotConfig({
      ...common,
      IMAGE_BUILDER_CLIENT_ID: 'bot',
      IMAGE_BUILDER_CLIENT_SECRET: KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET,
    }),
    parseBotConfig({ ...common, IMAGE_BUILDER_OFFLINE_TOKEN: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN }),
    parseBotConfig({
      ...common,
      IMAGE_BUILDER_USERNAME: KNOWN_BASIC_CREDENTIALS.username,
      IMAGE_BUILDER_PASSWORD: KNOWN_BASIC_CREDENTIALS.password,
    }),
  ];
  // Every value the app itself treats as secret (and redacts from its logs) is one the sentinel looks for.
  const secrets = [...new Set(configs.flatMap((config) => config.secrets))];
  expect(secrets.length).toBeGreaterThanOrEqual(8);
  expect(secrets.filter((secret) => !new SecretSentinel().contains(secret))).toEqual([]);
});

it('finds a secret in every form it travels in, and names the variable, never the value', () => {
  const fresh = new SecretSentinel();
  const proxyForm = new URLSearchParams({ proxy: KNOWN_HTTPS_PROXY }).toString();
  const cases: [string, string, string][] = [
    [`{"level":"info","msg":"token ${KNOWN_SECRETS.SLACK_BOT_TOKEN}"}`, 'SLACK_BOT_TOKEN', 'as written'],
    [
      `https://example.com/?secret=${encodeURIComponent(KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET)}`,
      'IMAGE_BUILDER_CLIENT_SECRET',
      'URL-encoded',
    ],
    [
      `secret=${encodeURIComponent(KNOWN_SECRETS.SLACK_SIGNING_SECRET).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}`,
      'SLACK_SIGNING_SECRET',
      'URL-encoded',
    ],
    [
      new URLSearchParams({ password: KNOWN_SECRETS.IMAGE_BUILDER_PASSWORD }).toString(),
      'IMAGE_BUILDER_PASSWORD',
      'form-encoded',
    ],
    [
      `authorization: ${basic(KNOWN_BASIC_CREDENTIALS.username, KNOWN_BASIC_CREDENTIALS.password)}`,
      'IMAGE_BUILDER_PASSWORD',
      'base64 of user:password (Basic credentials)',
    ],
    [
      `proxy-authorization: ${basic(KNOWN_USERNAMES.HTTPS_PROXY_USER, KNOWN_SECRETS.HTTPS_PROXY_PASSWORD)}`,
      SECRET_VARIABLES.HTTPS_PROXY_PASSWORD,
      'base64 of user:password (Basic credentials)',
    ],
    [`going through ${KNOWN_HTTPS_PROXY}`, SECRET_VARIABLES.HTTPS_PROXY_PASSWORD, 'URL-encoded'],
    [proxyForm, SECRET_VARIABLES.HTTPS_PROXY_PASSWORD, 'URL-encoded twice'],
    [
      `cannot open ${urlWithCredentials('postgres://db.example.com/bot', 'bot', KNOWN_SECRETS.DATABASE_URL_PASSWORD)}`,
      SECRET_VARIABLES.DATABASE_URL_PASSWORD,
      'URL-encoded',
    ],
    [`refresh_token=${KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN}`, 'IMAGE_BUILDER_OFFLINE_TOKEN', 'as written'],
    [`{"text":"${KNOWN_SECRETS.SLACK_APP_TOKEN}"}`, 'SLACK_APP_TOKEN', 'as written'],
  ];
  for (const [text, variable, form] of cases) {
    const [hit, ...more] = fresh.scan('log line', text, 'a case');
    expect({ text: fresh.redact(text), variable: hit?.variable, more: more.length }).toEqual({
      text: fresh.redact(text),
      variable,
      more: 0,
    });
    expect(hit?.forms).toContain(form);
    expect(fresh.contains(hit!.excerpt)).toBe(false);
  }
  expect(fresh.contains(describeLeaks(fresh.takeAllHits()))).toBe(false);
  // Names, prefixes and look-alikes are not secrets.
  for (const harmless of [
    'SLACK_BOT_TOKEN is required (the bot token, xoxb-…)',
    'xoxb-',
    'Sentinel',
    'http://known-proxy-user@127.0.0.1:9',
    '[REDACTED]',
  ]) {
    expect(fresh.scan('log line', harmless, 'a harmless line')).toEqual([]);
  }
  expect(fresh.totals()).toMatchObject({ scanned: { 'log line': cases.length + 5 }, leaks: cases.length });
});

it('catches a secret in a log line of a logger that was not told it, and not once the logger redacts it', () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) };
  const before = sentinel.totals().scanned['log line'];
  const probe = sentinel.probe();
  try {
    createLogger({ level: 'info', secrets: [], destination }).info(
      `refreshing with ${KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN}`,
    );
    createLogger({ level: 'info', secrets: [KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN], destination }).info(
      `refreshing with ${KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN}`,
    );
  } finally {
    probe.close();
  }
  expect(caught(probe.hits)).toEqual([
    { variable: 'IMAGE_BUILDER_OFFLINE_TOKEN', forms: ['as written'], channel: 'log line' },
  ]);
  expect(lines[1]).toContain('refreshing with [REDACTED]');
  expect(sentinel.totals().scanned['log line']).toBe(before + 2);
});

it('catches a secret in a Slack message and in a response_url post, never in the Authorization header', async () => {
  const slack = await startFakeSlack({ botToken: KNOWN_SECRETS.SLACK_BOT_TOKEN });
  const client = new WebClient(KNOWN_SECRETS.SLACK_BOT_TOKEN, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
  const probe = sentinel.probe();
  try {
    await client.chat.postMessage({ channel: 'C1', text: 'Your image is ready' });
    expect(probe.hits).toEqual([]);
    await client.chat.postMessage({
      channel: 'C1',
      text: 'Image Builder cannot be reached',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `through the proxy ${KNOWN_HTTPS_PROXY}` } }],
    });
    // A response_url takes no credential: a token sent there is sent to whoever holds the URL.
    await fetch(slack.responseUrl('cmd'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KNOWN_SECRETS.SLACK_BOT_TOKEN}` },
      body: JSON.stringify({ text: 'Done' }),
    });
  } finally {
    probe.close();
    await slack.close();
  }
  expect(caught(probe.hits)).toEqual([
    // The blocks are JSON in a form field: the URL, with its encoded password, encoded once more.
    { variable: SECRET_VARIABLES.HTTPS_PROXY_PASSWORD, forms: ['URL-encoded twice'], channel: 'Slack call' },
    { variable: 'SLACK_BOT_TOKEN', forms: ['as written'], channel: 'Slack call' },
  ]);
  expect(probe.hits.map((hit) => hit.where)).toEqual(['Slack chat.postMessage call', 'post to response_url cmd']);
});

it('leaves each credential alone in its carrier at Image Builder, and finds it anywhere else', async () => {
  const imageBuilder = await startFakeImageBuilder({ basic: KNOWN_BASIC_CREDENTIALS });
  const { clientId, clientSecret } = imageBuilder.credentials;
  const tokenRequest = (fields: Record<string, string>) =>
    fetch(imageBuilder.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  const probe = sentinel.probe();
  try {
    await tokenRequest({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'api.console',
    });
    await tokenRequest({
      grant_type: 'refresh_token',
      client_id: 'rhsm-api',
      refresh_token: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN,
    });
    await fetch(`${imageBuilder.baseUrl}/distributions`, {
      headers: { authorization: basic(KNOWN_BASIC_CREDENTIALS.username, KNOWN_BASIC_CREDENTIALS.password) },
    });
    expect(probe.hits).toEqual([]);

    // The same values outside their carriers: in another field, in a URL, and proxy credentials that reached the origin.
    await tokenRequest({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'x',
      scope: clientSecret,
    });
    await fetch(`${imageBuilder.baseUrl}/distributions?token=${KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN}`);
    await fetch(`${imageBuilder.baseUrl}/distributions`, {
      headers: { 'proxy-authorization': basic(KNOWN_USERNAMES.HTTPS_PROXY_USER, KNOWN_SECRETS.HTTPS_PROXY_PASSWORD) },
    });
  } finally {
    probe.close();
    await imageBuilder.close();
  }
  expect(caught(probe.hits)).toEqual([
    { variable: 'IMAGE_BUILDER_CLIENT_SECRET', forms: ['URL-encoded'], channel: 'Image Builder request' },
    { variable: 'IMAGE_BUILDER_OFFLINE_TOKEN', forms: ['as written'], channel: 'Image Builder request' },
    {
      variable: SECRET_VARIABLES.HTTPS_PROXY_PASSWORD,
      forms: ['base64 of user:password (Basic credentials)'],
      channel: 'Image Builder request',
    },
  ]);
});

it("leaves the activation key alone in a compose's subscription, and finds it anywhere else", async () => {
  const imageBuilder = await startFakeImageBuilder();
  const key = KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY;
  const compose = (body: Record<string, unknown>) =>
    fetch(`${imageBuilder.baseUrl}/compose`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ distribution: 'rhel-10', image_requests: [], ...body }),
    });
  const probe = sentinel.probe();
  try {
    await compose({ customizations: { subscription: { organization: 1, 'activation-key': key } } });
    expect(probe.hits).toEqual([]);
    await compose({ image_description: key });
  } finally {
    probe.close();
    await imageBuilder.close();
  }
  expect(caught(probe.hits)).toEqual([
    { variable: 'IMAGE_REGISTRATION_ACTIVATION_KEY', forms: ['as written'], channel: 'Image Builder request' },
  ]);
});

it('sees the proxy credentials reach the proxy, in Proxy-Authorization only, when Image Builder is behind IMAGE_BUILDER_PROXY', async () => {
  const imageBuilder = await startFakeImageBuilder();
  const seenByProxy: IncomingHttpHeaders[] = [];
  // A forward proxy for plain http, as the app's ProxyAgent uses it; like any proxy, it keeps Proxy-Authorization.
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seenByProxy.push(req.headers);
      scanProxyRequest(sentinel, {
        method: req.method ?? 'GET',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      });
      const { 'proxy-authorization': _credentials, 'proxy-connection': _connection, ...headers } = req.headers;
      const upstream = forward(req.url ?? '', { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = urlWithCredentials(
    `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    KNOWN_USERNAMES.HTTPS_PROXY_USER,
    KNOWN_SECRETS.HTTPS_PROXY_PASSWORD,
  );
  const config = parseCoreConfig({
    IMAGE_BUILDER_URL: imageBuilder.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: imageBuilder.tokenUrl,
    IMAGE_BUILDER_CLIENT_ID: imageBuilder.credentials.clientId,
    IMAGE_BUILDER_CLIENT_SECRET: imageBuilder.credentials.clientSecret,
    IMAGE_BUILDER_PROXY: proxyUrl,
    LOG_LEVEL: 'debug',
  });
  const dispatchers = buildDispatchers(config);
  const before = sentinel.totals().scanned;
  try {
    const logger = createLogger({ level: 'debug', secrets: config.secrets, destination: { write: () => undefined } });
    const client = imageBuilderFromConfig(config, { dispatcher: dispatchers.imageBuilder, logger });
    expect((await client.getDistributions()).map((d) => d.name)).toContain('rhel-9');
  } finally {
    await dispatchers.close();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await imageBuilder.close();
  }
  // Both requests (token, then API) went through the proxy with its credentials; none leaked, or this test fails.
  expect(seenByProxy.map((headers) => headers['proxy-authorization'])).toEqual([
    basic(KNOWN_USERNAMES.HTTPS_PROXY_USER, KNOWN_SECRETS.HTTPS_PROXY_PASSWORD),
    basic(KNOWN_USERNAMES.HTTPS_PROXY_USER, KNOWN_SECRETS.HTTPS_PROXY_PASSWORD),
  ]);
  const after = sentinel.totals().scanned;
  expect(after['proxy request'] - before['proxy request']).toBe(2);
  expect(after['Image Builder request'] - before['Image Builder request']).toBe(2);
});

it('catches a secret a child process prints', () => {
  const probe = sentinel.probe();
  try {
    const child = spawnSync(
      process.execPath,
      ['-e', 'process.stdout.write(`signing with ${process.env.SIGNING}\\n`)'],
      {
        env: { PATH: process.env.PATH ?? '', SIGNING: KNOWN_SECRETS.SLACK_SIGNING_SECRET },
        encoding: 'utf8',
      },
    );
    expect(child.status).toBe(0);
  } finally {
    probe.close();
  }
  expect(caught(probe.hits)).toEqual([
    { variable: 'SLACK_SIGNING_SECRET', forms: ['as written'], channel: 'child process output' },
  ]);
});

it('fails the test that let a secret out, even from its afterEach, and the file for a leak outside any test, printing no secret', () => {
  const { SECRET_SCAN_REPORT_FILE: _notThisRun, ...env } = process.env;
  const run = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/jest/bin/jest.js'),
      '--ci',
      '--json',
      '--selectProjects',
      'unit',
      '--testMatch',
      '**/test/security/fixtures/leakingTests.fixture.ts',
    ],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.status).toBe(1);
  const report = JSON.parse(run.stdout) as {
    testResults: {
      message: string;
      assertionResults: { title: string; status: string; failureMessages: string[] }[];
    }[];
  };
  const [file] = report.testResults;
  const results = Object.fromEntries(
    file!.assertionResults.map((r) => [r.title, { status: r.status, failure: r.failureMessages.join('\n') }]),
  );

  expect(results['stays clean']).toEqual({ status: 'passed', failure: '' });
  expect(results['leaks in a log line']?.status).toBe('failed');
  expect(results['leaks in a log line']?.failure).toMatch(
    /SecretLeak[\s\S]*the password in HTTPS_PROXY \(URL-encoded\), log line/,
  );
  expect(results['leaks while it closes']?.status).toBe('failed');
  expect(results['leaks while it closes']?.failure).toMatch(/SLACK_BOT_TOKEN \(as written\), log line/);
  // A failure message would print the secret into CI logs: it is redacted, and counted as a leak.
  expect(results['fails with a secret in its failure message']?.status).toBe('failed');
  expect(results['fails with a secret in its failure message']?.failure).toContain('"[IMAGE_BUILDER_PASSWORD]"');
  expect(results['fails with a secret in its failure message']?.failure).toMatch(
    /IMAGE_BUILDER_PASSWORD \(as written\), error/,
  );
  expect(file!.message).toMatch(/IMAGE_BUILDER_OFFLINE_TOKEN \(as written\), log line[\s\S]*outside a test/);
  expect(new SecretSentinel().contains(output)).toBe(false);
}, 60_000);
