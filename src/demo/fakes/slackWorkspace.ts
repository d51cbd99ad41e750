import type { JsonObject } from './blockKit';
import { refuse, type SlackRefusal } from './slackReplies';

/*
 * The one workspace the fake Slack serves, as every Web API method sees it: who the bot is, the channels and what
 * the bot may do in each, the messages, ephemerals and views it made, and the clock message ts come from.
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

export interface SlackWorkspaceOptions {
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
}

export interface SlackWorkspace {
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly appId: string;
  readonly users: Readonly<Record<string, Partial<FakeSlackUser>>>;
  readonly now: () => number;
  readonly triggerLifetimeMs: number;
  /** Things real Slack accepts but the bot should not do (a blocks message without fallback text, …). */
  readonly problems: string[];
  /** Public channels the bot joined with conversations.join. */
  readonly joined: Set<string>;
  /** Every channel's messages, deleted ones included, oldest first. */
  readonly messages: Map<string, FakeSlackMessage[]>;
  readonly ephemerals: FakeSlackEphemeral[];
  /** Modals by view id. */
  readonly views: Map<string, FakeSlackViewRecord>;
  /** App Homes by the user they were published for. */
  readonly homeViews: Map<string, FakeSlackViewRecord>;
  readonly channelKind: (channel: string) => FakeChannelKind;
  readonly setChannel: (channel: string, kind: FakeChannelKind) => void;
  /** A private channel the bot can see: invited to one, or a G… id (private channels made before 2021). */
  readonly isPrivate: (channel: string) => boolean;
  /** Why the bot may not post in the channel, as Slack refuses it; undefined when it may. */
  readonly refusalToPost: (channel: string) => SlackRefusal | undefined;
  /** The DM channel Slack uses for the bot and `userId`. */
  readonly dmChannel: (userId: string) => string;
  /** Slack accepts a user id as `channel` for chat.postMessage and posts to the bot's DM with that user. */
  readonly resolveChannel: (channel: string) => string;
  /** A message ts from the clock, later than every earlier one. */
  readonly nextTs: () => string;
  /** The message, unless it does not exist or was deleted. */
  readonly findMessage: (channel: string, ts: string) => FakeSlackMessage | undefined;
}

const USER_ID = /^[UW][A-Z0-9]+$/;
export const isUserId = (id: string) => USER_ID.test(id);

export function createWorkspace(options: SlackWorkspaceOptions = {}): SlackWorkspace {
  const channelKinds = new Map<string, FakeChannelKind>(Object.entries(options.channels ?? {}));
  const joined = new Set<string>();
  const messages = new Map<string, FakeSlackMessage[]>();
  let lastTsMicros = 0;

  function channelKind(channel: string): FakeChannelKind {
    const configured = channelKinds.get(channel);
    if (configured) return configured;
    // D + a user id is the bot's own DM (what conversations.open answers); any other DM is between people.
    if (channel.startsWith('D') && !/^D[UW][A-Z0-9]+$/.test(channel)) return 'private';
    return 'member';
  }
  const dmChannel = (userId: string) => `D${userId}`;
  // Read late, so a test that fakes Date sees the same clock here as in the request builders.
  const now = options.now ?? (() => Date.now());

  return {
    botUserId: options.botUserId ?? 'UBOT',
    botId: options.botId ?? 'BBOT',
    teamId: options.teamId ?? 'T1',
    appId: options.appId ?? 'A1',
    users: options.users ?? {},
    now,
    triggerLifetimeMs: options.triggerLifetimeMs ?? 3_000,
    problems: [],
    joined,
    messages,
    ephemerals: [],
    views: new Map(),
    homeViews: new Map(),
    channelKind,
    setChannel(channel, kind) {
      channelKinds.set(channel, kind);
      if (kind !== 'member') joined.delete(channel);
    },
    isPrivate: (channel) => channelKind(channel) === 'private-member' || channel.startsWith('G'),
    refusalToPost(channel) {
      const kind = channelKind(channel);
      if (kind === 'private') return refuse('channel_not_found');
      if (kind === 'archived') return refuse('is_archived');
      if (kind === 'public-not-member' && !joined.has(channel)) return refuse('not_in_channel');
      return undefined;
    },
    dmChannel,
    resolveChannel: (channel) => (isUserId(channel) ? dmChannel(channel) : channel),
    nextTs() {
      const micros = Math.max(Math.floor(now()) * 1000, lastTsMicros + 100);
      lastTsMicros = micros;
      return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
    },
    findMessage: (channel, ts) => messages.get(channel)?.find((m) => m.ts === ts && !m.deleted),
  };
}
