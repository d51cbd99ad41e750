import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  blocksText,
  isObject,
  LIMITS,
  messageBlockProblems,
  viewProblems,
  withSlackIds,
  type JsonObject,
} from './blockKit';
import { createSignal, mediaType, readBody, sendJson, startServer, waitUntil, type WaitOptions } from './http';
import { triggerIssuedAt } from './slackIds';
import type { FakeTrafficObserver } from './observer';

/*
 * A fake Slack Web API on loopback for end-to-end tests. Point the app's client at `url` (Bolt's
 * `clientOptions.slackApiUrl`); it answers the methods the bot uses the way Slack does, refuses what Slack refuses
 * (Block Kit limits, channels the bot is not in, stale triggers, unknown messages), keeps the visible state of every
 * message and view, and records every call so a test can wait for what it expects.
 */

export type FakeChannelKind =
  /** The bot is in the channel (the default for C… and G… ids): public for C… ids, private for G… ids. */
  | 'member'
  /** Private channel the bot was invited to: it posts there, and conversations.info says is_private. */
  | 'private-member'
  /** Public channel the bot is not in: posting answers not_in_channel until conversations.join. */
  | 'public-not-member'
  /** Private channel (or a DM between people) the bot was not invited to: channel_not_found, joining does not help. */
  | 'private'
  | 'archived';

export interface FakeSlackUser {
  id: string;
  name: string;
  real_name: string;
  tz: string;
  tz_offset: number;
}

export interface FakeSlackOptions {
  /** When set, any other token is refused with invalid_auth. Without it any non-empty token is accepted. */
  botToken?: string;
  /**
   * apps.connections.open, as Slack answers it: a token that is not app-level (xapp-…) is refused with
   * not_allowed_token_type; when this is set, any other app-level token with invalid_auth.
   */
  appToken?: string;
  /** The WebSocket URL apps.connections.open hands out (a closed port when unset). */
  socketModeUrl?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  appId?: string;
  channels?: Record<string, FakeChannelKind>;
  users?: Record<string, Partial<FakeSlackUser>>;
  /** Milliseconds since the epoch; drives message ts, trigger expiry and response_url expiry. */
  now?: () => number;
  /** How long a trigger_id may be used after it was issued; Slack allows 3 s. */
  triggerLifetimeMs?: number;
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

export interface FakeSlackMessageVersion {
  text: string;
  blocks?: unknown[];
  at: Date;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  metadata?: unknown;
  user: string;
  bot_id: string;
  /** Earlier versions, oldest first; the current one is the message itself. */
  history: FakeSlackMessageVersion[];
  deleted: boolean;
}

export interface FakeSlackEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
}

/** A view as Slack returns it from views.open and sends back in view_submission payloads. */
export interface SlackView extends JsonObject {
  id: string;
  team_id: string;
  type: 'modal' | 'home';
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  hash: string;
  state: { values: Record<string, Record<string, unknown>> };
  root_view_id: string;
  previous_view_id: string | null;
  app_id: string;
  bot_id: string;
}

export interface FakeSlackViewRecord {
  /** The current version of the view. */
  view: SlackView;
  /** Earlier versions, oldest first. */
  history: SlackView[];
  /** views.open / views.push: the trigger used; views.publish: the user whose App Home it is. */
  triggerId?: string;
  userId?: string;
}

const HTTP_ANSWER = Symbol('fake-slack-http-answer');
export interface FakeHttpAnswer {
  [HTTP_ANSWER]: true;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A body the fake sends as HTTP 200, or a full HTTP answer from {@link httpAnswer} / {@link rateLimited}. */
export type FakeSlackReply = JsonObject | FakeHttpAnswer;
export type FakeSlackHandler =
  FakeSlackReply | ((call: Pick<FakeSlackCall, 'method' | 'args' | 'token'>) => FakeSlackReply | undefined);

export const httpAnswer = (status: number, body: unknown, headers: Record<string, string> = {}): FakeHttpAnswer => ({
  [HTTP_ANSWER]: true,
  status,
  headers,
  body,
});

/** HTTP 429 with Retry-After, as Slack rate-limits a method. */
export const rateLimited = (retryAfterSeconds = 1): FakeHttpAnswer =>
  httpAnswer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfterSeconds) });

export const slackError = (error: string, extra: JsonObject = {}): JsonObject => ({ ok: false, error, ...extra });

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
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

/** Thrown inside a method's handler to answer Slack's error body instead. */
class SlackRefusal extends Error {
  constructor(readonly body: JsonObject) {
    super(typeof body.error === 'string' ? body.error : 'refused');
  }
}
const refuse = (error: string, extra: JsonObject = {}) => new SlackRefusal(slackError(error, extra));
const invalid = (error: 'invalid_blocks' | 'invalid_arguments', problems: string[]) =>
  refuse(error, { errors: problems, response_metadata: { messages: problems.map((m) => `[ERROR] ${m}`) } });

// One closure over the workspace's state, method by method; splitting it into modules is yet to be done.
// eslint-disable-next-line max-lines-per-function
export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botUserId = options.botUserId ?? 'UBOT';
  const botId = options.botId ?? 'BBOT';
  const teamId = options.teamId ?? 'T1';
  const appId = options.appId ?? 'A1';
  // Read late, so a test that fakes Date sees the same clock here as in the request builders.
  const now = options.now ?? (() => Date.now());
  const triggerLifetimeMs = options.triggerLifetimeMs ?? 3_000;
  const { observer } = options;

  const calls: FakeSlackCall[] = [];
  const problems: string[] = [];
  const signal = createSignal();
  const channelKinds = new Map<string, FakeChannelKind>(Object.entries(options.channels ?? {}));
  const joined = new Set<string>();
  const messages = new Map<string, FakeSlackMessage[]>();
  const ephemerals: FakeSlackEphemeral[] = [];
  const views = new Map<string, FakeSlackViewRecord>();
  const homeViews = new Map<string, FakeSlackViewRecord>();
  const usedTriggers = new Set<string>();
  const responseUrls = new Map<string, { createdAt: number; uses: number }>();
  const overrides: { method: string; handler: FakeSlackHandler; remaining: number }[] = [];
  let lastTsMicros = 0;
  let viewSequence = 0;

  const dmChannel = (userId: string) => `D${userId}`;
  /** Slack accepts a user id as `channel` for chat.postMessage and posts to the bot's DM with that user. */
  const resolveChannel = (channel: string) => (/^[UW][A-Z0-9]+$/.test(channel) ? dmChannel(channel) : channel);

  function channelKind(channel: string): FakeChannelKind {
    const configured = channelKinds.get(channel);
    if (configured) return configured;
    // D + a user id is the bot's own DM (what conversations.open answers); any other DM is between people.
    if (channel.startsWith('D') && !/^D[UW][A-Z0-9]+$/.test(channel)) return 'private';
    return 'member';
  }

  /** A private channel the bot can see: invited to one, or a G… id (private channels made before 2021). */
  const isPrivate = (channel: string) => channelKind(channel) === 'private-member' || channel.startsWith('G');

  function refusalToPost(channel: string): SlackRefusal | undefined {
    const kind = channelKind(channel);
    if (kind === 'private') return refuse('channel_not_found');
    if (kind === 'archived') return refuse('is_archived');
    if (kind === 'public-not-member' && !joined.has(channel)) return refuse('not_in_channel');
    return undefined;
  }

  function nextTs(): string {
    const micros = Math.max(Math.floor(now()) * 1000, lastTsMicros + 100);
    lastTsMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

  function messageContent(args: JsonObject): { text: string; blocks?: unknown[] } {
    const hasBlocks = args.blocks !== undefined;
    if (hasBlocks && !Array.isArray(args.blocks)) throw refuse('invalid_blocks_format');
    const blocks = hasBlocks ? (args.blocks as unknown[]) : undefined;
    const text = typeof args.text === 'string' ? args.text : '';
    if (text === '' && (blocks === undefined || blocks.length === 0) && args.attachments === undefined)
      throw refuse('no_text');
    if (blocks) {
      const found = messageBlockProblems(blocks);
      if (found.length > 0) throw invalid('invalid_blocks', found);
    }
    if (text.length > LIMITS.messageTextChars) throw refuse('msg_too_long');
    return blocks === undefined ? { text } : { text, blocks: withSlackIds(blocks) as unknown[] };
  }

  function findMessage(channel: string, ts: string): FakeSlackMessage | undefined {
    return messages.get(channel)?.find((m) => m.ts === ts && !m.deleted);
  }

  const slackMessage = (m: FakeSlackMessage): JsonObject => ({
    type: 'message',
    user: m.user,
    bot_id: m.bot_id,
    app_id: appId,
    team: teamId,
    text: m.text,
    ts: m.ts,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts, parent_user_id: botUserId } : {}),
    ...(m.metadata === undefined ? {} : { metadata: m.metadata }),
    ...(m.history.length > 0 ? { edited: { user: botUserId, ts: m.ts } } : {}),
  });

  function takeTrigger(args: JsonObject) {
    const triggerId = str(args.trigger_id);
    if (!triggerId) throw invalid('invalid_arguments', ['missing required field: trigger_id']);
    const issuedAt = triggerIssuedAt(triggerId);
    if (issuedAt === undefined) throw refuse('invalid_trigger_id');
    if (usedTriggers.has(triggerId)) throw refuse('exchanged_trigger_id');
    if (now() - issuedAt > triggerLifetimeMs) throw refuse('expired_trigger_id');
    usedTriggers.add(triggerId);
    return triggerId;
  }

  function buildView(posted: unknown, expected: 'modal' | 'home', base?: SlackView): SlackView {
    const found = viewProblems(posted, expected);
    if (found.length > 0) throw invalid('invalid_arguments', found);
    const view = posted as JsonObject;
    viewSequence += 1;
    const id = base?.id ?? `V${String(viewSequence).padStart(10, '0')}`;
    return {
      ...view,
      id,
      team_id: teamId,
      type: expected,
      title: view.title ?? null,
      close: view.close ?? null,
      submit: view.submit ?? null,
      blocks: withSlackIds(view.blocks) as unknown[],
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      external_id: typeof view.external_id === 'string' ? view.external_id : '',
      clear_on_close: view.clear_on_close === true,
      notify_on_close: view.notify_on_close === true,
      state: { values: {} },
      hash: `${Math.floor(now() / 1000)}.${String(viewSequence).padStart(8, '0')}`,
      root_view_id: base?.root_view_id ?? id,
      previous_view_id: base?.previous_view_id ?? null,
      app_id: appId,
      app_installed_team_id: teamId,
      bot_id: botId,
    };
  }

  function findViewRecord(args: JsonObject): FakeSlackViewRecord {
    const viewId = str(args.view_id);
    const externalId = str(args.external_id);
    if (!viewId && !externalId) throw invalid('invalid_arguments', ['must provide view_id or external_id']);
    const all = [...views.values(), ...homeViews.values()];
    const record = viewId ? all.find((r) => r.view.id === viewId) : all.find((r) => r.view.external_id === externalId);
    if (!record) throw refuse('not_found');
    return record;
  }

  const methods: Record<string, (args: JsonObject) => JsonObject> = {
    'auth.test': () => ({
      ok: true,
      url: 'https://fake-workspace.slack.com/',
      team: 'Fake Workspace',
      user: 'image-builder',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const requested = str(args.channel);
      if (!requested) throw refuse('channel_not_found');
      const channel = resolveChannel(requested);
      const content = messageContent(args);
      const refusal = refusalToPost(channel);
      if (refusal) throw refusal;
      const threadTs = str(args.thread_ts);
      if (threadTs && !findMessage(channel, threadTs))
        problems.push(`chat.postMessage replied in ${channel} to thread ${threadTs}, which does not exist`);
      if (content.blocks && content.text === '')
        problems.push(`chat.postMessage to ${channel} has blocks but no fallback text`);
      const message: FakeSlackMessage = {
        channel,
        ts: nextTs(),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...content,
        ...(args.metadata === undefined ? {} : { metadata: args.metadata }),
        user: botUserId,
        bot_id: botId,
        history: [],
        deleted: false,
      };
      messages.set(channel, [...(messages.get(channel) ?? []), message]);
      return { ok: true, channel, ts: message.ts, message: slackMessage(message) };
    },

    'chat.update': (args) => {
      const channel = resolveChannel(str(args.channel) ?? '');
      const message = findMessage(channel, str(args.ts) ?? '');
      if (!message) throw refuse('message_not_found');
      const content = messageContent(args);
      if (content.blocks && content.text === '')
        problems.push(`chat.update of ${channel}/${message.ts} has blocks but no fallback text`);
      if (!content.blocks && message.blocks && message.blocks.length > 0) {
        problems.push(`chat.update of ${channel}/${message.ts} sent no blocks, which removed the message's blocks`);
      }
      message.history.push({
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        at: new Date(now()),
      });
      message.text = content.text;
      if (content.blocks) message.blocks = content.blocks;
      else delete message.blocks;
      if (args.metadata !== undefined) message.metadata = args.metadata;
      return { ok: true, channel, ts: message.ts, text: message.text, message: slackMessage(message) };
    },

    'chat.delete': (args) => {
      const channel = resolveChannel(str(args.channel) ?? '');
      const message = findMessage(channel, str(args.ts) ?? '');
      if (!message) throw refuse('message_not_found');
      message.deleted = true;
      return { ok: true, channel, ts: message.ts };
    },

    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(str(args.channel) ?? '');
      const user = str(args.user);
      if (!user) throw invalid('invalid_arguments', ['missing required field: user']);
      const content = messageContent(args);
      const refusal = refusalToPost(channel);
      if (refusal) throw refusal;
      const ephemeral: FakeSlackEphemeral = { channel, user, message_ts: nextTs(), ...content };
      const threadTs = str(args.thread_ts);
      if (threadTs) ephemeral.thread_ts = threadTs;
      ephemerals.push(ephemeral);
      return { ok: true, message_ts: ephemeral.message_ts };
    },

    'chat.getPermalink': (args) => {
      const channel = resolveChannel(str(args.channel) ?? '');
      const ts = str(args.message_ts) ?? '';
      if (!findMessage(channel, ts)) throw refuse('message_not_found');
      return {
        ok: true,
        channel,
        permalink: `https://fake-workspace.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
      };
    },

    'conversations.join': (args) => {
      const channel = str(args.channel) ?? '';
      const kind = channelKind(channel);
      if (kind === 'private') throw refuse('channel_not_found');
      if (kind === 'private-member' || isPrivate(channel)) throw refuse('method_not_supported_for_channel_type');
      if (kind === 'archived') throw refuse('is_archived');
      const already = kind === 'member' || joined.has(channel);
      joined.add(channel);
      return {
        ok: true,
        channel: { id: channel, is_channel: true, is_private: false, is_member: true, is_archived: false },
        ...(already ? { warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } } : {}),
      };
    },

    'conversations.open': (args) => {
      const users = (str(args.users) ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      if (users.length === 0) throw refuse('users_list_not_supplied');
      const id = users.length === 1 ? dmChannel(users[0]!) : `G${users.join('')}`;
      return { ok: true, channel: { id } };
    },

    'conversations.info': (args) => {
      const channel = str(args.channel) ?? '';
      const kind = channelKind(channel);
      if (kind === 'private') throw refuse('channel_not_found');
      const isIm = channel.startsWith('D');
      return {
        ok: true,
        channel: {
          id: channel,
          is_channel: !isIm && !isPrivate(channel),
          is_group: !isIm && isPrivate(channel),
          is_im: isIm,
          is_mpim: false,
          is_private: isIm || isPrivate(channel),
          is_archived: kind === 'archived',
          is_member: kind === 'member' || kind === 'private-member' || joined.has(channel),
        },
      };
    },

    'users.info': (args) => {
      const user = str(args.user) ?? '';
      if (!/^[UW][A-Z0-9]+$/.test(user)) throw refuse('user_not_found');
      const configured = options.users?.[user] ?? {};
      const name = configured.name ?? user.toLowerCase();
      return {
        ok: true,
        user: {
          id: user,
          team_id: teamId,
          name,
          real_name: configured.real_name ?? name,
          tz: configured.tz ?? 'UTC',
          tz_label: 'Coordinated Universal Time',
          tz_offset: configured.tz_offset ?? 0,
          is_bot: false,
          profile: { display_name: name, real_name: configured.real_name ?? name },
        },
      };
    },

    'views.open': (args) => {
      const triggerId = takeTrigger(args);
      const view = buildView(args.view, 'modal');
      views.set(view.id, { view, history: [], triggerId });
      return { ok: true, view };
    },

    'views.push': (args) => {
      const triggerId = takeTrigger(args);
      const view = buildView(args.view, 'modal');
      views.set(view.id, { view, history: [], triggerId });
      return { ok: true, view };
    },

    'views.update': (args) => {
      const record = findViewRecord(args);
      const hash = str(args.hash);
      if (hash && hash !== record.view.hash) throw refuse('hash_conflict');
      const view = buildView(args.view, record.view.type, record.view);
      record.history.push(record.view);
      record.view = view;
      return { ok: true, view };
    },

    'views.publish': (args) => {
      const userId = str(args.user_id);
      if (!userId) throw invalid('invalid_arguments', ['missing required field: user_id']);
      const existing = homeViews.get(userId);
      const hash = str(args.hash);
      if (hash && existing && hash !== existing.view.hash) throw refuse('hash_conflict');
      const view = buildView(args.view, 'home', existing?.view);
      if (existing) {
        existing.history.push(existing.view);
        existing.view = view;
      } else {
        homeViews.set(userId, { view, history: [], userId });
      }
      return { ok: true, view };
    },
  };

  function defaultAnswer(method: string, args: JsonObject, token: string | undefined): JsonObject {
    if (method === 'apps.connections.open') return openConnection(token);
    const handler = methods[method];
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
  function openConnection(token: string | undefined): JsonObject {
    if (!token) return slackError('not_authed');
    if (!token.startsWith('xapp-')) return slackError('not_allowed_token_type');
    if (options.appToken !== undefined && token !== options.appToken) return slackError('invalid_auth');
    const url = options.socketModeUrl ?? 'ws://127.0.0.1:9/link/';
    return { ok: true, url: `${url}${url.includes('?') ? '&' : '?'}ticket=${randomUUID()}&app_id=${appId}` };
  }

  function overrideAnswer(call: Pick<FakeSlackCall, 'method' | 'args' | 'token'>): FakeSlackReply | undefined {
    for (let i = overrides.length - 1; i >= 0; i--) {
      const override = overrides[i]!;
      if (override.method !== call.method || override.remaining <= 0) continue;
      const reply = typeof override.handler === 'function' ? override.handler(call) : override.handler;
      if (reply === undefined) continue;
      override.remaining -= 1;
      return reply;
    }
    return undefined;
  }

  function record(call: FakeSlackCall) {
    calls.push(call);
    signal.notify();
  }

  function send(res: ServerResponse, reply: FakeSlackReply) {
    if (HTTP_ANSWER in reply) sendJson(res, reply.status, reply.body, reply.headers);
    else sendJson(res, 200, reply);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string) {
    const raw = await readBody(req);
    observer?.slackApiCall(method, {
      method: req.method ?? 'POST',
      url: req.url ?? '',
      headers: req.headers,
      body: raw,
    });
    const args = parseArgs(raw, req.headers['content-type']);
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    const call = { method, args, ...(token === undefined ? {} : { token }) };
    const reply = overrideAnswer(call) ?? defaultAnswer(method, args, token);
    const status = HTTP_ANSWER in reply ? reply.status : 200;
    const body = HTTP_ANSWER in reply ? reply.body : reply;
    record({ ...call, at: new Date(now()), response: { status, body } });
    send(res, reply);
  }

  async function handleResponseUrl(req: IncomingMessage, res: ServerResponse, id: string) {
    const raw = await readBody(req);
    observer?.responseUrlPost(id, {
      method: req.method ?? 'POST',
      url: req.url ?? '',
      headers: req.headers,
      body: raw,
    });
    const args = parseArgs(raw, req.headers['content-type']);
    const call = { method: 'response_url', args };
    let reply: FakeSlackReply | undefined = overrideAnswer(call);
    if (!reply) {
      const state = responseUrls.get(id);
      if (!state) reply = httpAnswer(404, slackError('invalid_url'));
      else if (now() - state.createdAt > RESPONSE_URL_LIFETIME_MS) reply = httpAnswer(404, slackError('expired_url'));
      else if (state.uses >= RESPONSE_URL_USES) reply = httpAnswer(404, slackError('used_url'));
      else {
        const found = args.blocks === undefined ? [] : messageBlockProblems(args.blocks);
        if (found.length > 0) reply = httpAnswer(400, invalid('invalid_blocks', found).body);
        else {
          state.uses += 1;
          reply = { ok: true };
        }
      }
    }
    const status = HTTP_ANSWER in reply ? reply.status : 200;
    const body = HTTP_ANSWER in reply ? reply.body : reply;
    record({ ...call, at: new Date(now()), response: { status, body }, responseUrlId: id });
    send(res, reply);
  }

  const server = await startServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const apiMethod = /^\/api\/([\w.]+)$/.exec(path)?.[1];
    const responseUrlId = /^\/response-url\/([^/]+)$/.exec(path)?.[1];
    if (req.method === 'POST' && apiMethod) return handleApi(req, res, apiMethod);
    if (req.method === 'POST' && responseUrlId) return handleResponseUrl(req, res, decodeURIComponent(responseUrlId));
    sendJson(res, 404, { ok: false, error: 'not_found', fake: `no route for ${req.method} ${path}` });
  });

  const describeCalls = () =>
    calls.length === 0
      ? 'No calls were recorded.'
      : `Recorded calls (${calls.length}):\n${calls.map((c, i) => `  ${i + 1}. ${summarizeCall(c)}`).join('\n')}`;

  observer?.fakeOrigin(server.origin);
  const fake: FakeSlack = {
    url: `${server.origin}/api/`,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    problems,
    responseUrl(id) {
      if (!responseUrls.has(id)) responseUrls.set(id, { createdAt: now(), uses: 0 });
      return `${server.origin}/response-url/${encodeURIComponent(id)}`;
    },
    responseUrlPrefix: `${server.origin}/response-url/`,
    waitFor(check, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      return waitUntil(() => check(calls), {
        ...waitOptions,
        subscribe: signal.subscribe,
        describeFailure: (lastError) =>
          [
            `Timed out after ${timeoutMs} ms waiting for ${waitOptions.description ?? 'a condition on the fake Slack calls'}.`,
            ...(lastError ? [`The last check threw: ${lastError}`] : []),
            describeCalls(),
          ].join('\n'),
      });
    },
    waitForCall(method, match = () => true, waitOptions = {}) {
      return fake.waitFor((all) => all.find((c) => c.method === method && match(c)), {
        ...waitOptions,
        description: `a ${method} call${match.length > 0 ? ' matching the condition' : ''}`,
      });
    },
    messages: (channel) => (messages.get(resolveChannel(channel)) ?? []).filter((m) => !m.deleted),
    message: (channel, ts) => findMessage(resolveChannel(channel), ts),
    ephemerals: (channel) =>
      channel === undefined ? [...ephemerals] : ephemerals.filter((e) => e.channel === resolveChannel(channel)),
    views: () => [...views.values()].map((r) => r.view),
    viewRecord: (viewId) => views.get(viewId) ?? [...homeViews.values()].find((r) => r.view.id === viewId),
    forgetViews: () => views.clear(),
    homeView: (userId) => homeViews.get(userId)?.view,
    on(method, handler, { times = Infinity } = {}) {
      const override = { method, handler, remaining: times };
      overrides.push(override);
      return () => {
        override.remaining = 0;
      };
    },
    setChannel(channel, kind) {
      channelKinds.set(channel, kind);
      if (kind !== 'member') joined.delete(channel);
    },
    dmChannel,
    close: () => server.close(),
  };
  return fake;
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
  const args: JsonObject = Object.fromEntries(new URLSearchParams(raw));
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
