import type { JsonObject } from './blockKit';
import { refuse, stringArg, type WebApiMethod } from './slackReplies';
import { isUserId, type SlackWorkspace } from './slackWorkspace';

/*
 * The fake Slack's conversations.* and users.info: what the bot may learn about a channel or a person, answered
 * from the channel kinds the test configured (a private channel the bot is not in does not exist for it) and the
 * users it described.
 */

export function conversationAndUserMethods(workspace: SlackWorkspace): Record<string, WebApiMethod> {
  return {
    'conversations.join': (args) => joinConversation(workspace, args),
    'conversations.open': (args) => openConversation(workspace, args),
    'conversations.info': (args) => conversationInfo(workspace, args),
    'users.info': (args) => userInfo(workspace, args),
  };
}

function joinConversation(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = stringArg(args.channel) ?? '';
  const kind = workspace.channelKind(channel);
  if (kind === 'private') throw refuse('channel_not_found');
  if (kind === 'private-member' || workspace.isPrivate(channel)) throw refuse('method_not_supported_for_channel_type');
  if (kind === 'archived') throw refuse('is_archived');
  const already = kind === 'member' || workspace.joined.has(channel);
  workspace.joined.add(channel);
  return {
    ok: true,
    channel: { id: channel, is_channel: true, is_private: false, is_member: true, is_archived: false },
    ...(already ? { warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } } : {}),
  };
}

function openConversation(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const users = (stringArg(args.users) ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (users.length === 0) throw refuse('users_list_not_supplied');
  const id = users.length === 1 ? workspace.dmChannel(users[0]!) : `G${users.join('')}`;
  return { ok: true, channel: { id } };
}

function conversationInfo(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = stringArg(args.channel) ?? '';
  const kind = workspace.channelKind(channel);
  if (kind === 'private') throw refuse('channel_not_found');
  const isIm = channel.startsWith('D');
  const isPrivate = workspace.isPrivate(channel);
  return {
    ok: true,
    channel: {
      id: channel,
      is_channel: !isIm && !isPrivate,
      is_group: !isIm && isPrivate,
      is_im: isIm,
      is_mpim: false,
      is_private: isIm || isPrivate,
      is_archived: kind === 'archived',
      is_member: kind === 'member' || kind === 'private-member' || workspace.joined.has(channel),
    },
  };
}

function userInfo(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const user = stringArg(args.user) ?? '';
  if (!isUserId(user)) throw refuse('user_not_found');
  const configured = workspace.users[user] ?? {};
  const name = configured.name ?? user.toLowerCase();
  return {
    ok: true,
    user: {
      id: user,
      team_id: workspace.teamId,
      name,
      real_name: configured.real_name ?? name,
      tz: configured.tz ?? 'UTC',
      tz_label: 'Coordinated Universal Time',
      tz_offset: configured.tz_offset ?? 0,
      is_bot: false,
      profile: { display_name: name, real_name: configured.real_name ?? name },
    },
  };
}
