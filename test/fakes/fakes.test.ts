import { App, LogLevel, verifySlackRequest, type types } from '@slack/bolt';
import { WebClient, type Logger, type WebAPIPlatformError } from '@slack/web-api';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  blockActionsBody,
  fillModal,
  signedPost,
  slackSignature,
  slashCommandBody,
  submitModalBody,
  type OpenedView,
} from '../support/slackRequests';
import { serviceErrors, startFakeImageBuilder, type FakeImageBuilder } from './imageBuilderService';
import { failureNotes } from '../support/failureNotes';
import { newTriggerId } from '../../src/demo/fakes/slackIds';
import { rateLimited, slackError, startFakeSlack, type FakeSlack } from './slackApi';

/*
 * The fakes behave as the services they stand in for, as far as the bot can tell: these tests hold them to what the
 * e2e suite relies on.
 */

const section = (text: string) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } });
const plain = (text: string) => ({ type: 'plain_text' as const, text });
/** Views the fake must refuse do not fit Slack's types either. */
const asView = (view: object) => view as types.View;

async function platformError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String((error as WebAPIPlatformError).data?.error ?? (error as Error).message);
  }
  throw new Error('expected the call to fail');
}

describe('fake Slack Web API', () => {
  let slack: FakeSlack;
  let client: WebClient;
  /*
   * WebClient logs each refusal's details as an error. The refusals are what these tests expect, so its lines are
   * kept for the report of a test that fails rather than printed.
   */
  const notes = failureNotes();
  const say =
    (level: string) =>
    (...message: unknown[]) =>
      notes.add(`[${level}] WebClient: ${message.map(String).join(' ')}`);
  const webClientLogger: Logger = {
    // At WebClient's usual level: its debug and info lines say nothing a failure needs.
    debug: () => undefined,
    info: () => undefined,
    warn: say('WARN'),
    error: say('ERROR'),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };

  beforeEach(async () => {
    slack = await startFakeSlack({
      botToken: 'xoxb-test',
      channels: { C_PUBLIC: 'public-not-member', C_PRIVATE: 'private' },
    });
    client = new WebClient('xoxb-test', {
      slackApiUrl: slack.url,
      retryConfig: { retries: 0 },
      logger: webClientLogger,
    });
  });
  afterEach(() => slack.close());

  it('answers auth.test with the bot identity Bolt asks for at start', async () => {
    const answer = await client.auth.test();
    expect(answer).toMatchObject({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' });
  });

  it.each(['no.such_method', 'constructor', '__proto__', 'toString'])(
    'answers %s with unknown_method',
    async (method) => {
      expect(await platformError(client.apiCall(method))).toBe('unknown_method');
    },
  );

  it('refuses a token other than the bot token', async () => {
    const stranger = new WebClient('xoxb-other', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    expect(await platformError(stranger.auth.test())).toBe('invalid_auth');
  });

  it('takes an app-level token only for apps.connections.open, as Slack does', async () => {
    const appClient = new WebClient('xapp-1-A1-1-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    expect(await appClient.apps.connections.open()).toMatchObject({
      ok: true,
      url: expect.stringMatching(/^ws:\/\/.*ticket=/),
    });
    expect(await platformError(appClient.auth.test())).toBe('not_allowed_token_type');
    expect(await platformError(client.apps.connections.open())).toBe('not_allowed_token_type');

    const strict = await startFakeSlack({ appToken: 'xapp-1-A1-1-right' });
    try {
      const wrong = new WebClient('xapp-1-A1-1-wrong', { slackApiUrl: strict.url, retryConfig: { retries: 0 } });
      expect(await platformError(wrong.apps.connections.open())).toBe('invalid_auth');
    } finally {
      await strict.close();
    }
  });

  it('gives each posted message a unique, increasing ts and keeps it, with its blocks parsed', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'Building', blocks: [section('*Building*')] });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'reply', thread_ts: first.ts! });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(slack.messages('C1')).toMatchObject([
      { ts: first.ts, text: 'Building', blocks: [{ type: 'section', text: { text: '*Building*' } }] },
      { ts: second.ts, thread_ts: first.ts, text: 'reply' },
    ]);
    const call = slack.callsTo('chat.postMessage')[0]!;
    expect(call.token).toBe('xoxb-test');
    expect(Array.isArray(call.args.blocks)).toBe(true);
  });

  it('edits a message in place and keeps the earlier versions', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'pending', blocks: [section('pending')] });
    await client.chat.update({ channel: 'C1', ts: ts!, text: 'building', blocks: [section('building 3 of 7')] });
    const [message] = slack.messages('C1');
    expect(message).toMatchObject({ text: 'building', blocks: [{ text: { text: 'building 3 of 7' } }] });
    expect(message!.history.map((v) => v.text)).toEqual(['pending']);
    expect(slack.problems).toEqual([]);
  });

  it('answers message_not_found when updating a message that does not exist', async () => {
    expect(await platformError(client.chat.update({ channel: 'C1', ts: '1.000100', text: 'x' }))).toBe(
      'message_not_found',
    );
  });

  it('notes an update that drops the blocks by sending text alone', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'a', blocks: [section('a')] });
    await client.chat.update({ channel: 'C1', ts: ts!, text: 'b' });
    expect(slack.message('C1', ts!)?.blocks).toBeUndefined();
    expect(slack.problems).toEqual([expect.stringContaining('removed the message')]);
  });

  it.each([
    [
      'more than 50 blocks',
      Array.from({ length: 51 }, () => ({ type: 'divider' })),
      'no more than 50 items allowed [json-pointer:/blocks]',
    ],
    [
      'a section text over 3000 characters',
      [section('x'.repeat(3001))],
      'must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
    ],
    [
      'a header over 150 characters',
      [{ type: 'header', text: plain('h'.repeat(151)) }],
      'must be less than 151 characters [json-pointer:/blocks/0/text/text]',
    ],
    ['an empty section text', [section('')], 'must be more than 0 characters [json-pointer:/blocks/0/text/text]'],
  ])(
    'refuses a message with %s as invalid_blocks',
    notes.test(async (_what, blocks, problem) => {
      const error = await client.chat
        .postMessage({ channel: 'C1', text: 'fallback', blocks })
        .catch((e: WebAPIPlatformError) => e);
      expect((error as WebAPIPlatformError).data).toMatchObject({
        ok: false,
        error: 'invalid_blocks',
        errors: [problem],
      });
      expect(slack.messages('C1')).toEqual([]);
    }),
  );

  it('answers not_in_channel in a public channel until the bot joins it', async () => {
    expect(await platformError(client.chat.postMessage({ channel: 'C_PUBLIC', text: 'hi' }))).toBe('not_in_channel');
    await client.conversations.join({ channel: 'C_PUBLIC' });
    await expect(client.chat.postMessage({ channel: 'C_PUBLIC', text: 'hi' })).resolves.toMatchObject({ ok: true });
  });

  it('answers channel_not_found in a private channel, even after trying to join', async () => {
    expect(await platformError(client.chat.postMessage({ channel: 'C_PRIVATE', text: 'hi' }))).toBe(
      'channel_not_found',
    );
    expect(await platformError(client.conversations.join({ channel: 'C_PRIVATE' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.postEphemeral({ channel: 'C_PRIVATE', user: 'U1', text: 'hi' }))).toBe(
      'channel_not_found',
    );
  });

  it('posts to a user id in the DM channel D + user id', async () => {
    const posted = await client.chat.postMessage({ channel: 'U42', text: 'your image is ready' });
    expect(posted.channel).toBe('DU42');
    const opened = await client.conversations.open({ users: 'U42' });
    expect(opened.channel?.id).toBe('DU42');
    expect(slack.messages('U42')).toHaveLength(1);
    expect(slack.messages('DU42')).toHaveLength(1);
  });

  it('opens a modal, filling in block and action ids as Slack does, and applies updates', async () => {
    const view = asView({
      type: 'modal',
      callback_id: 'order',
      title: plain('Order an image'),
      submit: plain('Build'),
      private_metadata: '{"channel":"C1"}',
      blocks: [
        { type: 'input', label: plain('Name'), element: { type: 'plain_text_input' } },
        { type: 'section', text: plain('Size'), accessory: { type: 'button', text: plain('Pick') } },
        {
          type: 'actions',
          elements: [
            { type: 'button', text: plain('A'), action_id: 'a' },
            { type: 'button', text: plain('B') },
          ],
        },
      ],
    });
    const opened = await client.views.open({ trigger_id: newTriggerId(), view });
    expect(opened.view?.id).toMatch(/^V/);
    const [recorded] = slack.views();
    expect(recorded).toMatchObject({ id: opened.view?.id, callback_id: 'order', private_metadata: '{"channel":"C1"}' });
    const [input, section, actions] = recorded!.blocks as { block_id: string; elements: { action_id: string }[] }[];
    expect(input).toMatchObject({ block_id: expect.any(String), element: { action_id: expect.any(String) } });
    expect(section).toMatchObject({ block_id: expect.any(String), accessory: { action_id: expect.any(String) } });
    expect(actions!.elements.map((e) => e.action_id)).toEqual(['a', expect.any(String)]);
    expect(actions!.elements[1]!.action_id).not.toBe('a');
    expect(new Set(recorded!.blocks.map((b) => (b as { block_id: string }).block_id)).size).toBe(3);
    // What the client sent is recorded as sent: the ids are filled in Slack's copy only.
    expect(slack.callsTo('views.open')[0]!.args.view).toEqual(JSON.parse(JSON.stringify(view)));

    await client.views.update({ view_id: opened.view!.id!, view: asView({ ...view, title: plain('Ordered') }) });
    expect(slack.views()[0]).toMatchObject({ id: opened.view?.id, title: { text: 'Ordered' } });
  });

  it.each([
    ['a title over 24 characters', { title: plain('t'.repeat(25)) }, '/view/title/text'],
    ['a submit label over 24 characters', { submit: plain('s'.repeat(25)) }, '/view/submit/text'],
    ['private_metadata over 3000 characters', { private_metadata: 'm'.repeat(3001) }, '/view/private_metadata'],
    ['more than 100 blocks', { blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }, '/view/blocks'],
  ])(
    'refuses a modal with %s',
    notes.test(async (_what, change, pointer) => {
      const view = { type: 'modal' as const, title: plain('Order'), blocks: [section('hello')], ...change };
      const error = await client.views
        .open({ trigger_id: newTriggerId(), view: asView(view) })
        .catch((e: WebAPIPlatformError) => e);
      expect((error as WebAPIPlatformError).data).toMatchObject({ error: 'invalid_arguments' });
      expect(JSON.stringify((error as WebAPIPlatformError).data.response_metadata)).toContain(
        `[json-pointer:${pointer}]`,
      );
    }),
  );

  it('reads form fields as Slack does: plus signs as spaces, any UTF-8, and malformed escapes as they came', async () => {
    const post = (body: string) =>
      fetch(`${slack.url}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-test' },
        body,
      });
    const texts = ['a+b%2Bc', '%F0%9F%9A%80+ready%3D%26', '100%+done', 'lone+%ED%A0%80', ''];
    for (const text of texts) await post(`channel=C1&text=${text}&&unfurl_links&__proto__=p`);
    expect(slack.callsTo('chat.postMessage').map((c) => [c.args.text, c.args.unfurl_links])).toEqual(
      texts.map((text) => [new URLSearchParams(`text=${text}`).get('text'), '']),
    );
    // A field named __proto__ is a field like any other, not the arguments' prototype.
    for (const call of slack.callsTo('chat.postMessage'))
      expect(Object.getOwnPropertyDescriptor(call.args, '__proto__')?.value).toBe('p');
    expect(slack.callsTo('chat.postMessage').map((c) => c.args.text)).toEqual([
      'a b+c',
      '🚀 ready=&',
      '100% done',
      'lone \uFFFD\uFFFD\uFFFD',
      '',
    ]);
  });

  it('refuses a trigger_id that was used already or is older than 3 seconds', async () => {
    const view = asView({ type: 'modal', title: plain('Order'), blocks: [section('hello')] });
    const trigger = newTriggerId();
    await client.views.open({ trigger_id: trigger, view });
    expect(await platformError(client.views.open({ trigger_id: trigger, view }))).toBe('exchanged_trigger_id');
    expect(await platformError(client.views.open({ trigger_id: newTriggerId(Date.now() - 3_500), view }))).toBe(
      'expired_trigger_id',
    );
  });

  it('answers an overridden method as told, then falls back to the default', async () => {
    slack.on('chat.postMessage', slackError('not_in_channel'), { times: 1 });
    expect(await platformError(client.chat.postMessage({ channel: 'C1', text: 'a' }))).toBe('not_in_channel');
    await expect(client.chat.postMessage({ channel: 'C1', text: 'a' })).resolves.toMatchObject({ ok: true });
  });

  it('rate-limits with HTTP 429 and Retry-After, which the WebClient waits out and retries', async () => {
    slack.on('chat.update', rateLimited(0), { times: 1 });
    const { ts } = await client.chat.postMessage({ channel: 'C1', text: 'a' });
    const retrying = new WebClient('xoxb-test', {
      slackApiUrl: slack.url,
      logLevel: LogLevel.ERROR,
      retryConfig: { retries: 1, factor: 1, minTimeout: 0, maxTimeout: 0 },
    });
    await expect(retrying.chat.update({ channel: 'C1', ts: ts!, text: 'b' })).resolves.toMatchObject({ ok: true });
    expect(slack.callsTo('chat.update').map((c) => c.response.status)).toEqual([429, 200]);
  });

  it('records posts to a response_url and refuses the sixth', async () => {
    const url = slack.responseUrl('cmd-1');
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `n${i}` }),
      });
      expect(answer.status).toBe(200);
    }
    const sixth = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"again"}',
    });
    expect(sixth.status).toBe(404);
    expect(slack.callsTo('response_url')[0]).toMatchObject({ responseUrlId: 'cmd-1', args: { text: 'n0' } });
  });

  it('waits for a call, and on timeout lists what was recorded', async () => {
    setTimeout(() => void client.chat.postMessage({ channel: 'C1', text: 'late' }), 30);
    const call = await slack.waitForCall('chat.postMessage');
    expect(call.args.text).toBe('late');

    await expect(slack.waitForCall('views.open', undefined, { timeoutMs: 100 })).rejects.toThrow(
      /waiting for a views\.open call[\s\S]*1\. chat\.postMessage C1 "late" → ok/,
    );
  });

  it('keeps answering and keeps its deadlines while the test runs jest fake timers', async () => {
    jest.useFakeTimers();
    try {
      const posted = client.chat.postMessage({ channel: 'C1', text: 'under a fake clock' });
      await expect(slack.waitForCall('chat.postMessage')).resolves.toMatchObject({
        args: { text: 'under a fake clock' },
      });
      await posted;
      await expect(slack.waitForCall('views.open', undefined, { timeoutMs: 50 })).rejects.toThrow(
        /Timed out after 50 ms/,
      );
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('signed requests to a Bolt app in HTTP mode', () => {
  const SIGNING_SECRET = 'signing-secret';
  let slack: FakeSlack;
  let app: App;
  let appUrl: string;
  const submissions: { values: unknown; metadata: string }[] = [];
  const clicks: string[] = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
    app = new App({
      token: 'xoxb-test',
      signingSecret: SIGNING_SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: slack.url, retryConfig: { retries: 0 } },
    });
    app.command('/image-builder', async ({ ack, body, client }) => {
      await ack();
      await client.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'order',
          private_metadata: body.channel_id,
          title: plain('Order an image'),
          submit: plain('Build'),
          blocks: [
            {
              type: 'input',
              block_id: 'provider',
              label: plain('Cloud'),
              element: {
                type: 'static_select',
                action_id: 'choice',
                options: [
                  { text: plain('AWS'), value: 'aws' },
                  { text: plain('Google Cloud'), value: 'gcp' },
                ],
              },
            },
            {
              type: 'input',
              block_id: 'name',
              label: plain('Image name'),
              optional: true,
              element: { type: 'plain_text_input', action_id: 'value' },
            },
          ],
        },
      });
    });
    app.view('order', async ({ ack, view }) => {
      if (view.state.values.name?.value?.value === 'bad') {
        await ack({ response_action: 'errors', errors: { name: 'Not that name' } });
        return;
      }
      await ack();
      submissions.push({ values: view.state.values, metadata: view.private_metadata });
      await app.client.chat.postMessage({
        channel: view.private_metadata,
        text: 'Queued',
        blocks: [
          section('Queued'),
          {
            type: 'actions',
            elements: [{ type: 'button', action_id: 'cancel', text: plain('Cancel'), value: 'compose-1' }],
          },
        ],
      });
    });
    app.action('cancel', async ({ ack, action }) => {
      await ack();
      clicks.push(String((action as { value?: string }).value));
    });
    const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
    appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  it("signs as Slack does, so Bolt's own verifier accepts the request", () => {
    const body = slashCommandBody({ response_url: slack.responseUrl('x'), text: 'aws' }).text;
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
      'x-slack-request-timestamp': timestamp,
    };
    expect(() => verifySlackRequest({ signingSecret: SIGNING_SECRET, body, headers })).not.toThrow();
    expect(() => verifySlackRequest({ signingSecret: 'other', body, headers })).toThrow();
  });

  it('is refused by the app when signed with another secret', async () => {
    const answer = await signedPost(appUrl, 'wrong-secret', slashCommandBody({ response_url: slack.responseUrl('y') }));
    expect(answer.status).toBe(401);
  });

  it('drives a command, the modal the app opened, and a button on the message it posted', async () => {
    const command = await signedPost(
      appUrl,
      SIGNING_SECRET,
      slashCommandBody({ response_url: slack.responseUrl('cmd'), channel_id: 'C9' }),
    );
    expect(command.status).toBe(200);
    expect(command.elapsedMs).toBeLessThan(3_000);

    await slack.waitForCall('views.open');
    const [opened] = slack.views();
    expect(() => fillModal(opened as OpenedView, {})).toThrow(/"Cloud".*required/);
    expect(() => fillModal(opened as OpenedView, { choice: 'azure' })).toThrow(/no option "azure"/);
    expect(() => fillModal(opened as OpenedView, { region: 'x' })).toThrow(/has no input region/);

    const refused = await signedPost(
      appUrl,
      SIGNING_SECRET,
      submitModalBody(opened as OpenedView, 'U1', { provider: 'gcp', name: 'bad' }),
    );
    expect(refused.json).toEqual({ response_action: 'errors', errors: { name: 'Not that name' } });

    const submitted = await signedPost(
      appUrl,
      SIGNING_SECRET,
      submitModalBody(opened as OpenedView, 'U1', { choice: 'Google Cloud' }),
    );
    expect(submitted.status).toBe(200);
    expect(submissions).toEqual([
      {
        metadata: 'C9',
        values: {
          provider: {
            choice: {
              type: 'static_select',
              selected_option: { text: { type: 'plain_text', text: 'Google Cloud', emoji: true }, value: 'gcp' },
            },
          },
          name: { value: { type: 'plain_text_input', value: null } },
        },
      },
    ]);

    await slack.waitFor(() => slack.messages('C9').length === 1);
    const [message] = slack.messages('C9');
    const click = blockActionsBody({
      user: 'U1',
      actionId: 'cancel',
      source: { message: message!, responseUrl: slack.responseUrl('click') },
    });
    await signedPost(appUrl, SIGNING_SECRET, click);
    expect(clicks).toEqual(['compose-1']);
    expect(() =>
      blockActionsBody({ user: 'U1', actionId: 'retry', source: { message: message!, responseUrl: '' } }),
    ).toThrow(/rendered: cancel/);
  });
});

describe('fake Image Builder', () => {
  let clock: Date;
  let service: FakeImageBuilder;

  beforeEach(async () => {
    clock = new Date('2026-11-26T10:00:00.123Z');
    service = await startFakeImageBuilder({
      now: () => clock,
      quota: { builds: 3, days: 30 },
      basic: { username: 'u', password: 'p' },
    });
  });
  afterEach(() => service.close());

  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

  async function token(): Promise<string> {
    const { clientId, clientSecret } = service.credentials;
    const answer = await fetch(
      service.tokenUrl,
      form({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: 'api.console',
      }),
    );
    return ((await answer.json()) as { access_token: string }).access_token;
  }

  async function call(
    path: string,
    init: { method?: string; body?: unknown; contentType?: string; auth?: string } = {},
  ) {
    const headers: Record<string, string> = { authorization: init.auth ?? `Bearer ${await token()}` };
    if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    const answer = await fetch(`${service.baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  }

  const awsCompose = {
    distribution: 'rhel-9',
    image_name: 'web',
    image_requests: [
      {
        architecture: 'x86_64',
        image_type: 'aws',
        upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
      },
    ],
  };

  it('issues a 900-second bearer token for a service account and for an offline token', async () => {
    const { clientId, clientSecret, offlineToken } = service.credentials;
    const account = await fetch(
      service.tokenUrl,
      form({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope: 'api.console',
      }),
    );
    expect(await account.json()).toMatchObject({
      access_token: expect.any(String),
      expires_in: 900,
      token_type: 'Bearer',
    });
    const offline = await fetch(
      service.tokenUrl,
      form({ grant_type: 'refresh_token', client_id: 'rhsm-api', refresh_token: offlineToken }),
    );
    const { access_token } = (await offline.json()) as { access_token: string };
    expect((await call('/ready', { auth: `Bearer ${access_token}` })).json).toEqual({ readiness: 'ready' });
  });

  it('refuses a wrong client secret with invalid_client and a wrong offline token with invalid_grant', async () => {
    const badSecret = await fetch(
      service.tokenUrl,
      form({
        grant_type: 'client_credentials',
        client_id: service.credentials.clientId,
        client_secret: 'nope',
        scope: 'api.console',
      }),
    );
    expect(badSecret.status).toBe(401);
    expect(await badSecret.json()).toMatchObject({ error: 'invalid_client', error_description: expect.any(String) });
    const badToken = await fetch(
      service.tokenUrl,
      form({ grant_type: 'refresh_token', client_id: 'rhsm-api', refresh_token: 'nope' }),
    );
    expect(badToken.status).toBe(400);
    expect(await badToken.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers 401 without a token, with an expired token, with a revoked token, and accepts the configured Basic credentials', async () => {
    expect((await call('/ready', { auth: '' })).status).toBe(401);
    const issued = await token();
    clock = new Date(clock.getTime() + 901_000);
    expect((await call('/ready', { auth: `Bearer ${issued}` })).status).toBe(401);
    const fresh = await token();
    service.revokeTokens();
    expect((await call('/ready', { auth: `Bearer ${fresh}` })).json).toEqual(serviceErrors(401, 'Unauthorized'));
    expect((await call('/ready', { auth: `Basic ${Buffer.from('u:p').toString('base64')}` })).status).toBe(200);
  });

  it('answers 415 unless the compose is sent as exactly application/json', async () => {
    expect((await call('/compose', { body: awsCompose, contentType: 'text/plain' })).status).toBe(415);
    expect((await call('/compose', { body: awsCompose, contentType: 'application/json; charset=utf-8' })).status).toBe(
      415,
    );
    expect((await call('/compose', { body: awsCompose })).status).toBe(201);
  });

  it('answers 400 with the service error list for a request the service rejects', async () => {
    const gcpAsVhd = {
      distribution: 'rhel-9',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'vhd',
          upload_request: { type: 'gcp', options: { share_with_accounts: ['user:a@example.com'] } },
        },
      ],
    };
    const answer = await call('/compose', { body: gcpAsVhd });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ errors: [{ title: '400', detail: expect.stringContaining('image_type') }] });
    expect((await call('/compose', { body: { ...awsCompose, extra: true } })).status).toBe(400);
  });

  it('answers 403 for a distribution the account may not build and once the quota is used up', async () => {
    expect((await call('/compose', { body: { ...awsCompose, distribution: 'rhel-99' } })).json).toEqual(
      serviceErrors(403, 'distribution rhel-99 not allowed'),
    );
    for (let i = 0; i < 3; i++) expect((await call('/compose', { body: awsCompose })).status).toBe(201);
    expect((await call('/compose', { body: awsCompose })).json).toEqual(
      serviceErrors(403, 'Quota of 3 builds per 30 days exceeded'),
    );
  });

  it('moves a compose one step per poll from pending through 7 build steps to an AMI in us-east-1', async () => {
    const { json } = await call('/compose', { body: awsCompose });
    const id = String(json.id);
    const seen: unknown[] = [];
    for (let i = 0; i < 12; i++)
      seen.push(((await call(`/composes/${id}`)).json.image_status as { status: string }).status);
    expect(seen).toEqual(['pending', ...Array(7).fill('building'), 'uploading', 'registering', 'success', 'success']);
    expect(service.composes.get(id)?.lastStatus).toEqual({
      status: 'success',
      upload_status: {
        status: 'success',
        type: 'aws',
        options: { ami: expect.stringMatching(/^ami-[0-9a-f]{17}$/), region: 'us-east-1' },
      },
    });
    const building = service.composes.get(id)!;
    building.polls = 3;
    expect((await call(`/composes/${id}`)).json.image_status).toMatchObject({
      progress: { done: 3, total: 7, subprogress: expect.any(Object) },
    });
  });

  it('plays a scripted failure with a nested error, and jumps to a final state on demand', async () => {
    service.script('next', ['pending', 'building', 'failure']);
    const failing = String((await call('/compose', { body: awsCompose })).json.id);
    const steps = [];
    for (let i = 0; i < 3; i++) steps.push((await call(`/composes/${failing}`)).json.image_status);
    expect(steps).toEqual([
      { status: 'pending' },
      { status: 'building', progress: { done: 1, total: 1 } },
      {
        status: 'failure',
        error: {
          id: expect.any(Number),
          reason: expect.any(String),
          details: [{ id: expect.any(Number), reason: expect.any(String), details: expect.any(String) }],
        },
      },
    ]);

    const other = String((await call('/compose', { body: awsCompose })).json.id);
    service.setFinal(other, 'success');
    expect((await call(`/composes/${other}`)).json.image_status).toMatchObject({ status: 'success' });
    expect((await call('/composes/7d2a5b1e-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('lists the last 14 days of composes newest first, with created_at and the request', async () => {
    const old = service.addCompose({ request: awsCompose, createdAt: new Date('2026-11-01T00:00:00Z') });
    const older = service.addCompose({ request: awsCompose, createdAt: new Date('2026-11-20T08:00:00Z') });
    const newer = service.addCompose({
      request: { ...awsCompose, image_name: 'newer' },
      createdAt: new Date('2026-11-25T08:00:00Z'),
    });
    const { json } = await call('/composes?limit=1&offset=0');
    expect(json).toEqual({
      meta: { count: 2 },
      links: { first: expect.stringContaining('offset=0&limit=1'), last: expect.stringContaining('offset=1&limit=1') },
      data: [
        {
          id: newer,
          request: expect.objectContaining({ image_name: 'newer' }),
          created_at: '2026-11-25T08:00:00Z',
          image_name: 'newer',
          client_id: 'api',
        },
      ],
    });
    expect(((await call('/composes?offset=1')).json.data as { id: string }[]).map((c) => c.id)).toEqual([older]);
    expect(old).not.toBe(older);
  });

  it('writes created_at in Go time format when asked', async () => {
    const goService = await startFakeImageBuilder({ createdAtFormat: 'go' });
    try {
      goService.addCompose({ request: awsCompose, createdAt: new Date(Date.now() - 1000) });
      const { clientId, clientSecret } = goService.credentials;
      const tokenAnswer = await fetch(
        goService.tokenUrl,
        form({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          scope: 'api.console',
        }),
      );
      const { access_token } = (await tokenAnswer.json()) as { access_token: string };
      const list = await fetch(`${goService.baseUrl}/composes`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      const { data } = (await list.json()) as { data: { created_at: string }[] };
      expect(data[0]?.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? \+0000 UTC$/);
    } finally {
      await goService.close();
    }
  });

  it('lists the distributions and architectures the account may build', async () => {
    expect((await call('/distributions')).json).toEqual(
      expect.arrayContaining([{ name: 'rhel-9', description: expect.any(String) }]),
    );
    expect((await call('/architectures/rhel-9')).json).toEqual([
      {
        arch: 'x86_64',
        image_types: expect.arrayContaining(['aws', 'vsphere-ova', 'vsphere', 'wsl', 'oci']),
        repositories: [],
      },
      { arch: 'aarch64', image_types: ['aws', 'guest-image', 'image-installer'], repositories: [] },
    ]);
    expect((await call('/architectures/rhel-99')).status).toBe(403);
  });

  it('answers injected failures for the next matching requests, then recovers', async () => {
    service.fail(2, 503, undefined, { path: '/ready' });
    service.fail(1, 502, '<html>Bad gateway</html>', { path: /token$/ });
    const bearer = await (async () => {
      const first = await fetch(
        service.tokenUrl,
        form({
          grant_type: 'client_credentials',
          client_id: service.credentials.clientId,
          client_secret: service.credentials.clientSecret,
          scope: 'api.console',
        }),
      );
      expect(first.status).toBe(502);
      expect(await first.text()).toContain('Bad gateway');
      return token();
    })();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call('/ready', { auth: `Bearer ${bearer}` })).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(service.apiRequests().map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('waits for requests, failing with the list of what arrived', async () => {
    await expect(
      service.waitFor((s) => s.apiRequests().length > 0, { timeoutMs: 50, description: 'an API request' }),
    ).rejects.toThrow(/waiting for an API request[\s\S]*No requests were recorded/);
    void call('/ready');
    await expect(service.waitFor((s) => s.apiRequests().find((r) => r.path.endsWith('/ready')))).resolves.toMatchObject(
      { status: 200 },
    );
  });
});
