import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { blocksText, isObject, type JsonObject } from './blockKit';
import { createSignal, mediaType, readBody, sendJson, startServer, waitUntil, type WaitOptions } from './http';
import type { FakeTrafficObserver, ReceivedRequest } from './observer';
import { chatMethods } from './slackChat';
import { conversationAndUserMethods } from './slackConversations';
import {
  isHttpAnswer,
  replyStatusAndBody,
  SlackRefusal,
  slackError,
  type FakeSlackReply,
  type WebApiMethod,
} from './slackReplies';
import { createResponseUrls, type ResponseUrls } from './slackResponseUrl';
import { viewMethods } from './slackViews';
import {
  createWorkspace,
  type FakeChannelKind,
  type FakeSlackEphemeral,
  type FakeSlackMessage,
  type FakeSlackViewRecord,
  type SlackView,
  type SlackWorkspace,
  type SlackWorkspaceOptions,
} from './slackWorkspace';

/*
 * A fake Slack Web API on loopback for end-to-end tests. Point the app's client at `url` (Bolt's
 * `clientOptions.slackApiUrl`); it answers the methods the bot uses the way Slack does, refuses what Slack refuses
 * (Block Kit limits, channels the bot is not in, stale triggers, unknown messages), keeps the visible state of every
 * message and view, and records every call so a test can wait for what it expects.
 *
 * This module is the fake's face and its front door: the options, the recorded calls, the overrides a test sets,
 * the tokens Slack checks before any method runs, and the routes. The methods themselves live beside it
 * (slackChat.ts, slackConversations.ts, slackViews.ts, slackResponseUrl.ts) over one workspace (slackWorkspace.ts).
 */

export { httpAnswer, rateLimited, slackError, type FakeHttpAnswer, type FakeSlackReply } from './slackReplies';
export type {
  FakeChannelKind,
  FakeSlackEphemeral,
  FakeSlackMessage,
  FakeSlackMessageVersion,
  FakeSlackUser,
  FakeSlackViewRecord,
  SlackView,
} from './slackWorkspace';

export interface FakeSlackOptions extends SlackWorkspaceOptions {
  /** When set, any other token is refused with invalid_auth. Without it any non-empty token is accepted. */
  botToken?: string;
  /**
   * apps.connections.open, as Slack answers it: a token that is not app-level (xapp-…) is refused with
   * not_allowed_token_type; when this is set, any other app-level token with invalid_auth.
   */
  appToken?: string;
  /** The WebSocket URL apps.connections.open hands out (a closed port when unset). */
  socketModeUrl?: string;
  /** Sees every call as received (the tests' secret sentinel); none by default. */
  observer?: FakeTrafficObserver;
}

export interface FakeSlackCall {
  /** A Web API method such as `chat.postMessage`, or `response_url` for a post to {@link FakeSlack.responseUrl}. */
  method: string;
  /** The arguments as the client sent them; `blocks`, `view`, `attachments` and `metadata` parsed from JSON. */
  args: JsonObject;
  /** From `Authorization: Bearer …` or the `token` field. */
  token?: string;
  at: Date;
  /** What the fake answered. */
  response: { status: number; body: unknown };
  /** For `response_url` calls: the id given to `responseUrl(id)`. */
  responseUrlId?: string;
}

export type FakeSlackHandler =
  FakeSlackReply | ((call: Pick<FakeSlackCall, 'method' | 'args' | 'token'>) => FakeSlackReply | undefined);

export interface FakeSlack {
  /** Base URL for `slackApiUrl`, with the trailing slash: `http://127.0.0.1:PORT/api/`. */
  url: string;
  /** Every call in arrival order, including refused ones. */
  calls: FakeSlackCall[];
  callsTo(method: string): FakeSlackCall[];
  /** Things real Slack accepts but the bot should not do (a blocks message without fallback text, …). */
  problems: string[];
  /** A response_url for a slash command or action; posts to it are recorded as `response_url` calls. */
  responseUrl(id: string): string;
  /** What every `responseUrl` starts with: the bot's SLACK_RESPONSE_URL_PREFIXES when it talks to this fake. */
  responseUrlPrefix: string;
  /**
   * Resolves with the first truthy value `check` returns over the recorded calls, checking again whenever something
   * is recorded. On timeout, fails with a message listing what was recorded.
   */
  waitFor<T>(
    check: (calls: readonly FakeSlackCall[]) => T | undefined | null | false,
    options?: WaitOptions & { description?: string },
  ): Promise<T>;
  /** The first call to `method` (that `match` accepts), waiting for it. */
  waitForCall(method: string, match?: (call: FakeSlackCall) => boolean, options?: WaitOptions): Promise<FakeSlackCall>;
  /** The current state of the channel's messages (thread replies included), oldest first. A U… id means the bot's DM with that user. */
  messages(channel: string): FakeSlackMessage[];
  message(channel: string, ts: string): FakeSlackMessage | undefined;
  ephemerals(channel?: string): FakeSlackEphemeral[];
  /** Every modal opened or pushed, current versions, in opening order. */
  views(): SlackView[];
  viewRecord(viewId: string): FakeSlackViewRecord | undefined;
  /**
   * Forgets the modals opened so far (they can no longer be updated or submitted). For the benchmark, where nothing
   * reads them and thousands of forms would otherwise fill this process's heap.
   */
  forgetViews(): void;
  /** The App Home last published for the user. */
  homeView(userId: string): SlackView | undefined;
  /** Answers `method` with `handler` instead of the default, `times` times (forever without it); a handler returning undefined falls through. Returns a function that removes the override. */
  on(method: string, handler: FakeSlackHandler, options?: { times?: number }): () => void;
  setChannel(channel: string, kind: FakeChannelKind): void;
  /** The DM channel Slack uses for the bot and `userId`. */
  dmChannel(userId: string): string;
  close(): Promise<void>;
}

const JSON_FIELDS = ['blocks', 'view', 'attachments', 'metadata'] as const;

type CallRequest = Pick<FakeSlackCall, 'method' | 'args' | 'token'>;

/** What the fake's routes share: the workspace and its methods, the response_urls, the calls and the overrides. */
interface FakeSlackServer {
  options: FakeSlackOptions;
  workspace: SlackWorkspace;
  methods: Record<string, WebApiMethod>;
  responseUrls: ResponseUrls;
  calls: FakeSlackCall[];
  signal: ReturnType<typeof createSignal>;
  overrides: { method: string; handler: FakeSlackHandler; remaining: number }[];
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const workspace = createWorkspace(options);
  const fake: FakeSlackServer = {
    options,
    workspace,
    methods: {
      'auth.test': () => authTest(workspace),
      ...chatMethods(workspace),
      ...conversationAndUserMethods(workspace),
      ...viewMethods(workspace),
    },
    responseUrls: createResponseUrls(workspace.now),
    calls: [],
    signal: createSignal(),
    overrides: [],
  };
  const server = await startServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const apiMethod = /^\/api\/([\w.]+)$/.exec(path)?.[1];
    const responseUrlId = /^\/response-url\/([^/]+)$/.exec(path)?.[1];
    if (req.method === 'POST' && apiMethod) return handleApi(fake, req, res, apiMethod);
    if (req.method === 'POST' && responseUrlId)
      return handleResponseUrl(fake, req, res, decodeURIComponent(responseUrlId));
    sendJson(res, 404, { ok: false, error: 'not_found', fake: `no route for ${req.method} ${path}` });
  });
  options.observer?.fakeOrigin(server.origin);
  return slackFacade(fake, server.origin, () => server.close());
}

async function handleApi(fake: FakeSlackServer, req: IncomingMessage, res: ServerResponse, method: string) {
  const raw = await readBody(req);
  fake.options.observer?.slackApiCall(method, received(req, raw));
  const args = parseArgs(raw, req.headers['content-type']);
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
  const call = { method, args, ...(token === undefined ? {} : { token }) };
  const reply = overrideAnswer(fake, call) ?? defaultAnswer(fake, method, args, token);
  recordAndSend(fake, res, { ...call, at: new Date(fake.workspace.now()), response: replyStatusAndBody(reply) }, reply);
}

async function handleResponseUrl(fake: FakeSlackServer, req: IncomingMessage, res: ServerResponse, id: string) {
  const raw = await readBody(req);
  fake.options.observer?.responseUrlPost(id, received(req, raw));
  const args = parseArgs(raw, req.headers['content-type']);
  const call = { method: 'response_url', args };
  const reply = overrideAnswer(fake, call) ?? fake.responseUrls.answer(id, args);
  const at = new Date(fake.workspace.now());
  recordAndSend(fake, res, { ...call, at, response: replyStatusAndBody(reply), responseUrlId: id }, reply);
}

const received = (req: IncomingMessage, body: string): ReceivedRequest => ({
  method: req.method ?? 'POST',
  url: req.url ?? '',
  headers: req.headers,
  body,
});

function recordAndSend(fake: FakeSlackServer, res: ServerResponse, call: FakeSlackCall, reply: FakeSlackReply) {
  fake.calls.push(call);
  fake.signal.notify();
  const { status, body } = replyStatusAndBody(reply);
  sendJson(res, status, body, isHttpAnswer(reply) ? reply.headers : {});
}

/** The latest override of the method that answers the call, counted as one of its uses. */
function overrideAnswer(fake: FakeSlackServer, call: CallRequest): FakeSlackReply | undefined {
  for (let i = fake.overrides.length - 1; i >= 0; i--) {
    const override = fake.overrides[i]!;
    if (override.method !== call.method || override.remaining <= 0) continue;
    const reply = typeof override.handler === 'function' ? override.handler(call) : override.handler;
    if (reply === undefined) continue;
    override.remaining -= 1;
    return reply;
  }
  return undefined;
}

/** The method's answer, after the token checks Slack makes before any method runs. */
function defaultAnswer(fake: FakeSlackServer, method: string, args: JsonObject, token: string | undefined) {
  const { options } = fake;
  if (method === 'apps.connections.open') return openConnection(fake, token);
  // The method is the request's path: /api/constructor is as unknown to Slack as any other word.
  const handler = Object.hasOwn(fake.methods, method) ? fake.methods[method] : undefined;
  if (!handler) return slackError('unknown_method');
  if (!token) return slackError('not_authed');
  if (token.startsWith('xapp-')) return slackError('not_allowed_token_type');
  if (options.botToken !== undefined && token !== options.botToken) return slackError('invalid_auth');
  try {
    return handler(args);
  } catch (error) {
    if (error instanceof SlackRefusal) return error.body;
    throw error;
  }
}

/** The only method that takes the app-level token, and only that token. */
function openConnection(fake: FakeSlackServer, token: string | undefined): JsonObject {
  const { options, workspace } = fake;
  if (!token) return slackError('not_authed');
  if (!token.startsWith('xapp-')) return slackError('not_allowed_token_type');
  if (options.appToken !== undefined && token !== options.appToken) return slackError('invalid_auth');
  const url = options.socketModeUrl ?? 'ws://127.0.0.1:9/link/';
  return { ok: true, url: `${url}${url.includes('?') ? '&' : '?'}ticket=${randomUUID()}&app_id=${workspace.appId}` };
}

const authTest = (workspace: SlackWorkspace): JsonObject => ({
  ok: true,
  url: 'https://fake-workspace.slack.com/',
  team: 'Fake Workspace',
  user: 'image-builder',
  team_id: workspace.teamId,
  user_id: workspace.botUserId,
  bot_id: workspace.botId,
  is_enterprise_install: false,
});

/** What a test holds: the recorded calls and the workspace's visible state, and the overrides it sets. */
function slackFacade(fake: FakeSlackServer, origin: string, close: () => Promise<void>): FakeSlack {
  const { workspace, calls } = fake;
  const { messages, ephemerals, views, homeViews, resolveChannel } = workspace;
  const facade: FakeSlack = {
    url: `${origin}/api/`,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    problems: workspace.problems,
    responseUrl(id) {
      fake.responseUrls.issue(id);
      return `${origin}/response-url/${encodeURIComponent(id)}`;
    },
    responseUrlPrefix: `${origin}/response-url/`,
    waitFor(check, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      return waitUntil(() => check(calls), {
        ...waitOptions,
        subscribe: fake.signal.subscribe,
        describeFailure: (lastError) =>
          [
            `Timed out after ${timeoutMs} ms waiting for ${waitOptions.description ?? 'a condition on the fake Slack calls'}.`,
            ...(lastError ? [`The last check threw: ${lastError}`] : []),
            describeCalls(calls),
          ].join('\n'),
      });
    },
    waitForCall(method, match = () => true, waitOptions = {}) {
      return facade.waitFor((all) => all.find((c) => c.method === method && match(c)), {
        ...waitOptions,
        description: `a ${method} call${match.length > 0 ? ' matching the condition' : ''}`,
      });
    },
    messages: (channel) => (messages.get(resolveChannel(channel)) ?? []).filter((m) => !m.deleted),
    message: (channel, ts) => workspace.findMessage(resolveChannel(channel), ts),
    ephemerals: (channel) =>
      channel === undefined ? [...ephemerals] : ephemerals.filter((e) => e.channel === resolveChannel(channel)),
    views: () => [...views.values()].map((r) => r.view),
    viewRecord: (viewId) => views.get(viewId) ?? [...homeViews.values()].find((r) => r.view.id === viewId),
    forgetViews: () => views.clear(),
    homeView: (userId) => homeViews.get(userId)?.view,
    on(method, handler, { times = Infinity } = {}) {
      const override = { method, handler, remaining: times };
      fake.overrides.push(override);
      return () => {
        override.remaining = 0;
      };
    },
    setChannel: workspace.setChannel,
    dmChannel: workspace.dmChannel,
    close,
  };
  return facade;
}

/** Form fields or a JSON body as one object, with the JSON-valued form fields parsed. */
function parseArgs(raw: string, contentType: string | undefined): JsonObject {
  if (mediaType(contentType) === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw);
      return isObject(parsed) ? parsed : { _body: parsed };
    } catch {
      return { _unparsed: raw };
    }
  }
  const args = formFields(raw);
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
      try {
        args[field] = JSON.parse(value) as unknown;
      } catch {
        // Left as the string it was; the method refuses it as Slack would (invalid_blocks_format, …).
      }
    }
  }
  return args;
}

/**
 * A form-encoded body's fields, the last of a repeated name winning. Decoded with the engine's decodeURIComponent
 * where it can be, as URLSearchParams decodes in JavaScript a character at a time: that was a sixth of the fake's
 * work in opening a compose form (some 14 kB encoded), on the cores the measured app shares. A body that is not
 * valid percent-encoded UTF-8 goes to URLSearchParams, which takes anything.
 */
function formFields(raw: string): JsonObject {
  const fields: [string, string][] = [];
  try {
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const [name, value] = equals === -1 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
      fields.push([decodeFormComponent(name), decodeFormComponent(value)]);
    }
    // Object.fromEntries, as URLSearchParams' fields were read: a field named __proto__ stays a field.
    return Object.fromEntries(fields);
  } catch {
    return Object.fromEntries(new URLSearchParams(raw));
  }
}

const decodeFormComponent = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));

const describeCalls = (calls: readonly FakeSlackCall[]) =>
  calls.length === 0
    ? 'No calls were recorded.'
    : `Recorded calls (${calls.length}):\n${calls.map((c, i) => `  ${i + 1}. ${summarizeCall(c)}`).join('\n')}`;

const clip = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function summarizeCall(call: FakeSlackCall): string {
  const { args } = call;
  const where = [args.channel, args.ts, args.view_id, args.user_id].filter((v) => typeof v === 'string').join(' ');
  const text =
    typeof args.text === 'string' && args.text !== ''
      ? args.text
      : isObject(args.view) && isObject(args.view.title)
        ? String(args.view.title.text)
        : blocksText(args.blocks);
  const body = call.response.body;
  const outcome =
    isObject(body) && body.ok === false ? `error ${String(body.error)}` : call.response.status === 200 ? 'ok' : '';
  const status = call.response.status === 200 ? '' : ` (HTTP ${call.response.status})`;
  return `${call.method}${where ? ` ${where}` : ''}${text ? ` ${JSON.stringify(clip(text))}` : ''} → ${outcome}${status}`;
}
