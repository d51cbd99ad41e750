import { LIMITS, messageBlockProblems, withSlackIds, type JsonObject } from './blockKit';
import { invalid, refuse, stringArg, type WebApiMethod } from './slackReplies';
import type { FakeSlackEphemeral, FakeSlackMessage, SlackWorkspace } from './slackWorkspace';

/*
 * The fake Slack's chat.* methods: messages posted, edited and deleted, ephemerals and permalinks. Each keeps the
 * message's visible state and its earlier versions, and notes in `problems` what Slack accepts but the bot should not
 * do (blocks without fallback text, an update that drops the blocks, a reply to a thread that does not exist).
 */

export function chatMethods(workspace: SlackWorkspace): Record<string, WebApiMethod> {
  return {
    'chat.postMessage': (args) => postMessage(workspace, args),
    'chat.update': (args) => updateMessage(workspace, args),
    'chat.delete': (args) => deleteMessage(workspace, args),
    'chat.postEphemeral': (args) => postEphemeral(workspace, args),
    'chat.getPermalink': (args) => permalink(workspace, args),
  };
}

function postMessage(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const requested = stringArg(args.channel);
  if (!requested) throw refuse('channel_not_found');
  const channel = workspace.resolveChannel(requested);
  const content = messageContent(args);
  const refusal = workspace.refusalToPost(channel);
  if (refusal) throw refusal;
  const threadTs = stringArg(args.thread_ts);
  if (threadTs && !workspace.findMessage(channel, threadTs))
    workspace.problems.push(`chat.postMessage replied in ${channel} to thread ${threadTs}, which does not exist`);
  if (content.blocks && content.text === '')
    workspace.problems.push(`chat.postMessage to ${channel} has blocks but no fallback text`);
  const message: FakeSlackMessage = {
    channel,
    ts: workspace.nextTs(),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    ...content,
    ...(args.metadata === undefined ? {} : { metadata: args.metadata }),
    user: workspace.botUserId,
    bot_id: workspace.botId,
    history: [],
    deleted: false,
  };
  workspace.messages.set(channel, [...(workspace.messages.get(channel) ?? []), message]);
  return { ok: true, channel, ts: message.ts, message: slackMessage(workspace, message) };
}

function updateMessage(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = workspace.resolveChannel(stringArg(args.channel) ?? '');
  const message = workspace.findMessage(channel, stringArg(args.ts) ?? '');
  if (!message) throw refuse('message_not_found');
  const content = messageContent(args);
  if (content.blocks && content.text === '')
    workspace.problems.push(`chat.update of ${channel}/${message.ts} has blocks but no fallback text`);
  if (!content.blocks && message.blocks && message.blocks.length > 0) {
    workspace.problems.push(
      `chat.update of ${channel}/${message.ts} sent no blocks, which removed the message's blocks`,
    );
  }
  message.history.push({
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    at: new Date(workspace.now()),
  });
  message.text = content.text;
  if (content.blocks) message.blocks = content.blocks;
  else delete message.blocks;
  if (args.metadata !== undefined) message.metadata = args.metadata;
  return { ok: true, channel, ts: message.ts, text: message.text, message: slackMessage(workspace, message) };
}

function deleteMessage(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = workspace.resolveChannel(stringArg(args.channel) ?? '');
  const message = workspace.findMessage(channel, stringArg(args.ts) ?? '');
  if (!message) throw refuse('message_not_found');
  message.deleted = true;
  return { ok: true, channel, ts: message.ts };
}

function postEphemeral(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = workspace.resolveChannel(stringArg(args.channel) ?? '');
  const user = stringArg(args.user);
  if (!user) throw invalid('invalid_arguments', ['missing required field: user']);
  const content = messageContent(args);
  const refusal = workspace.refusalToPost(channel);
  if (refusal) throw refusal;
  const ephemeral: FakeSlackEphemeral = { channel, user, message_ts: workspace.nextTs(), ...content };
  const threadTs = stringArg(args.thread_ts);
  if (threadTs) ephemeral.thread_ts = threadTs;
  workspace.ephemerals.push(ephemeral);
  return { ok: true, message_ts: ephemeral.message_ts };
}

function permalink(workspace: SlackWorkspace, args: JsonObject): JsonObject {
  const channel = workspace.resolveChannel(stringArg(args.channel) ?? '');
  const ts = stringArg(args.message_ts) ?? '';
  if (!workspace.findMessage(channel, ts)) throw refuse('message_not_found');
  return {
    ok: true,
    channel,
    permalink: `https://fake-workspace.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
  };
}

/** The text and blocks of a post or an update, refused as Slack refuses them (Block Kit limits, no text, too long). */
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

/** The message as Slack answers it in chat.postMessage and chat.update. */
const slackMessage = (workspace: SlackWorkspace, m: FakeSlackMessage): JsonObject => ({
  type: 'message',
  user: m.user,
  bot_id: m.bot_id,
  app_id: workspace.appId,
  team: workspace.teamId,
  text: m.text,
  ts: m.ts,
  ...(m.blocks ? { blocks: m.blocks } : {}),
  ...(m.thread_ts ? { thread_ts: m.thread_ts, parent_user_id: workspace.botUserId } : {}),
  ...(m.metadata === undefined ? {} : { metadata: m.metadata }),
  ...(m.history.length > 0 ? { edited: { user: workspace.botUserId, ts: m.ts } } : {}),
});
