import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { describeOutcome } from '../composeOutcome';
import { imageStatusSchema, storedComposeRequestSchema } from '../imageBuilder';
import { getProvider, type LaunchDefaults } from '../providers';
import type { ExpiryProjection } from '../tracking/expiryWatcher';
import type { Rejection, ThreadProjection } from '../tracking/tracker';
import type { BuildRequest, BuildRequestStore } from '../tracking/store';
import { errorSentence } from './errorMessages';
import type { Throttle } from './throttle';
import { link, mention } from './views/text';
import {
  expiryReminderMessage,
  parentMessage,
  resultMessage,
  statusMessage,
  type BuildView,
  type Outcome,
  type SlackMessage,
} from './views/threadMessages';

/*
 * Makes a build's Slack thread show what its row says. Every message is rendered from the row; a message that does
 * not exist yet is posted and its `ts` saved at once (the only window in which a crash could make it be posted
 * twice is between Slack's answer and that write); one that exists is edited only when what it shows changed.
 */

export interface ThreadProjectionOptions {
  /** The background client, with its own queue, so a rate-limited burst here never delays a modal. */
  client: WebClient;
  store: BuildRequestStore;
  launch: LaunchDefaults;
  clock: Clock;
  logger: Logger;
  /** Posts an ephemeral notice through a command's response_url. */
  notify(responseUrl: string, text: string): Promise<void>;
  /** Keeps posts and edits under Slack's rate limits. */
  throttle: Throttle;
  pace?: SlackPace;
}

/** Minimum spacing of calls: posts per channel (Slack: ~1 per second), edits per workspace (Tier 3: ~50 per minute). */
export interface SlackPace {
  postPerChannelMs: number;
  updateMs: number;
}

export const DEFAULT_SLACK_PACE: SlackPace = { postPerChannelMs: 1100, updateMs: 1250 };

/** Slack answers that mean "the bot cannot post here", after joining was tried where it can be. */
const CANNOT_POST_HERE = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_non_threadable_channel',
  'team_access_not_granted',
  'ekm_access_denied',
]);

/** Slack answers to chat.update that mean the message can never be edited again. */
const CANNOT_EDIT = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);

/** `reminderTs` of a request that will get no reminder (nothing to remind of, or Slack will not take it). */
const NO_REMINDER = 'none';

/** Slack's error code of a failed Web API call, if it was one. */
export function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

const PHASES: Readonly<Record<BuildRequest['state'], BuildView['phase']>> = {
  submitting: 'submitting',
  tracking: 'tracking',
  done: 'tracking',
  rejected: 'rejected',
};

export function toBuildView(request: BuildRequest): BuildView {
  const phase = request.rejection ? 'rejected' : PHASES[request.state];
  // Only while the build is still running: a finished build waiting on Slack has nothing to say about Image Builder.
  const failing = request.pollFailures >= 3 && !request.finalImageStatus;
  return {
    requesterId: request.requesterId,
    providerLabel: getProvider(request.provider)?.label ?? request.provider,
    distribution: request.distribution,
    architecture: request.architecture,
    ...(request.imageName ? { imageName: request.imageName } : {}),
    shareSummary: request.shareSummary,
    ...(request.composeId ? { composeId: request.composeId } : {}),
    phase,
    ...(request.status ? { status: request.status } : {}),
    ...(request.progressDone !== null && request.progressTotal !== null
      ? { progress: { done: request.progressDone, total: request.progressTotal } }
      : {}),
    ...(failing && phase !== 'rejected'
      ? { trouble: 'Image Builder has not answered the last few times; I keep trying.' }
      : {}),
  };
}

/** The final word for the thread, once there is one. */
export function outcomeOf(request: BuildRequest, launch: LaunchDefaults): Outcome | undefined {
  if (request.rejection) {
    const rejection = JSON.parse(request.rejection) as Rejection;
    return { kind: 'rejected', sentence: errorSentence(rejection.kind), ...(rejection.detail ? { detail: rejection.detail } : {}) };
  }
  if (!request.finalImageStatus || !request.composeId) return undefined;
  const outcome = describeOutcome(
    {
      composeId: request.composeId,
      imageStatus: imageStatusSchema.parse(JSON.parse(request.finalImageStatus)),
      request: storedComposeRequestSchema.parse(JSON.parse(request.composeRequest)),
      ...(request.composeCreatedAt ? { createdAt: request.composeCreatedAt } : {}),
      submittedAt: request.submittedAt ?? request.createdAt,
    },
    launch,
  );
  if (!outcome) return undefined;
  return outcome.kind === 'success' ? { kind: 'success', result: outcome.result } : outcome;
}

export function createThreadProjection(options: ThreadProjectionOptions): ThreadProjection & ExpiryProjection {
  const { client, store, launch, clock, logger, throttle } = options;
  const pace = options.pace ?? DEFAULT_SLACK_PACE;
  const postMessage = (args: Parameters<WebClient['chat']['postMessage']>[0] & { channel: string }) =>
    throttle.run(`post:${args.channel}`, pace.postPerChannelMs, () => client.chat.postMessage(args));

  /** Posts the parent, then, for a rebuild, links the new thread from the old one. */
  async function postParent(request: BuildRequest, message: SlackMessage): Promise<BuildRequest> {
    const row = await postParentMessage(request, message);
    if (row.rebuiltFrom) {
      await linkFromOriginal(row).catch((error: unknown) =>
        logger.warn({ err: error, requestId: row.id }, 'could not link the rebuild from the original thread'),
      );
    }
    return row;
  }

  async function linkFromOriginal(row: BuildRequest) {
    const original = await store.get(row.rebuiltFrom!);
    if (!original?.parentTs || !original.threadChannelId) return;
    const { permalink } = await client.chat.getPermalink({ channel: row.threadChannelId!, message_ts: row.parentTs! });
    const where = permalink ? link(permalink, 'new thread') : undefined;
    await reply(original, {
      text: 'Rebuilt as a new build',
      blocks: [
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `:repeat: ${mention(row.requesterId)} rebuilt this${where ? ` — ${where}` : ''}.` }],
        },
      ],
    });
  }

  async function postParentMessage(request: BuildRequest, message: SlackMessage): Promise<BuildRequest> {
    const rendered = JSON.stringify(message);
    const target = request.threadChannelId ?? request.channelId;
    let posted = await tryPost(target, message);
    if (posted === 'not_in_channel') {
      // A public channel the bot is not in: join it (channels:join) and post there.
      const joined = await client.conversations.join({ channel: target }).then(
        () => true,
        (error: unknown) => {
          logger.info({ channel: target, code: slackErrorCode(error) }, 'could not join the channel');
          return false;
        },
      );
      posted = joined ? await tryPost(target, message) : posted;
    }
    if (typeof posted === 'string') {
      // Private channel, DM between people, archived…: follow the build in a DM with the requester instead.
      const dm = await postMessage({ channel: request.requesterId, ...message, unfurl_links: false });
      const row = await store.update(request.id, { threadChannelId: dm.channel!, parentTs: dm.ts!, renderedParent: rendered });
      if (request.responseUrl) {
        await options
          .notify(
            request.responseUrl,
            `I can’t post in <#${request.channelId}>, so I’m following your build in our direct messages instead. ` +
              'To keep builds in that channel, invite me with `/invite @Image Builder`.',
          )
          .catch((error: unknown) => logger.warn({ err: error, requestId: request.id }, 'could not send the ephemeral notice'));
      }
      return row;
    }
    return store.update(request.id, { threadChannelId: posted.channel, parentTs: posted.ts, renderedParent: rendered });
  }

  /** Posts, or returns Slack's reason when the bot cannot post in this channel. */
  async function tryPost(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string } | string> {
    try {
      const res = await postMessage({ channel, ...message, unfurl_links: false });
      return { channel: res.channel!, ts: res.ts! };
    } catch (error) {
      const code = slackErrorCode(error);
      if (code && CANNOT_POST_HERE.has(code)) return code;
      throw error;
    }
  }

  async function reply(request: BuildRequest, message: SlackMessage): Promise<{ ts: string }> {
    const res = await postMessage({
      channel: request.threadChannelId!,
      thread_ts: request.parentTs!,
      ...message,
      unfurl_links: false,
    });
    return { ts: res.ts! };
  }

  async function edit(request: BuildRequest, ts: string, message: SlackMessage) {
    await throttle.run('update', pace.updateMs, () => client.chat.update({ channel: request.threadChannelId!, ts, ...message }));
  }

  return {
    async sync(request) {
      let row = request;
      const view = toBuildView(row);

      const parent = parentMessage(view);
      if (!row.parentTs) row = await postParent(row, parent);
      else if (row.renderedParent !== JSON.stringify(parent)) {
        await edit(row, row.parentTs, parent);
        row = await store.update(row.id, { renderedParent: JSON.stringify(parent) });
      }

      const status = statusMessage(view);
      if (!row.statusTs) {
        const { ts } = await reply(row, status);
        row = await store.update(row.id, { statusTs: ts, renderedStatus: JSON.stringify(status) });
      } else if (row.renderedStatus !== JSON.stringify(status)) {
        await edit(row, row.statusTs, status);
        row = await store.update(row.id, { renderedStatus: JSON.stringify(status) });
      }

      const outcome = row.resultTs ? undefined : outcomeOf(row, launch);
      if (outcome) {
        const { ts } = await reply(row, resultMessage(view, outcome, clock.now(), row.id));
        row = await store.update(row.id, { resultTs: ts });
      }
      return row;
    },

    async remind(request) {
      const outcome = outcomeOf(request, launch);
      if (outcome?.kind !== 'success' || !request.parentTs || !request.threadChannelId) {
        // Nothing to remind of (no thread, or not a success): mark it so it is not looked at again.
        return { request: await store.update(request.id, { reminderTs: NO_REMINDER }), sent: false };
      }
      const message = expiryReminderMessage(toBuildView(request), outcome.result, clock.now(), request.id);
      let ts: string;
      try {
        ({ ts } = await reply(request, message));
      } catch (error) {
        const code = slackErrorCode(error);
        if (!code || !CANNOT_POST_HERE.has(code)) throw error;
        // Asking again every round would only get the same answer, and log it, until the image is gone.
        logger.info({ requestId: request.id, channel: request.threadChannelId, code }, 'cannot post the expiry reminder in the thread; giving up on it');
        return { request: await store.update(request.id, { reminderTs: NO_REMINDER }), sent: false };
      }
      return { request: await store.update(request.id, { reminderTs: ts }), sent: true };
    },

    async noteExpired(request) {
      const outcome = outcomeOf(request, launch);
      if (outcome && request.resultTs && request.threadChannelId) {
        try {
          await edit(request, request.resultTs, resultMessage(toBuildView(request), outcome, clock.now(), request.id));
        } catch (error) {
          const code = slackErrorCode(error);
          if (!code || !(CANNOT_POST_HERE.has(code) || CANNOT_EDIT.has(code))) throw error;
          // The result is gone or frozen (deleted, archived): there is nothing left to correct.
          logger.info({ requestId: request.id, channel: request.threadChannelId, code }, 'cannot mark the result message as expired; giving up on it');
        }
      }
      return store.update(request.id, { expiredNotedAt: clock.now() });
    },
  };
}
