import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock';
import { describeOutcome, type ComposeOutcome } from '../../compose/outcome';
import { imageStatusSchema, storedComposeRequestSchema } from '../../imageBuilder';
import { getProvider, readLaunchSettings, type LaunchDefaults } from '../../providers';
import type { ExpiryProjection } from '../../tracking/expiryWatcher';
import { DELETED_STATUS, isFinal } from '../../compose/status';
import type { Rejection, ThreadProjection } from '../../tracking/tracker';
import type { BuildRequest, BuildRequestPatch, BuildRequestStore, ChannelKind } from '../../store/store';
import { maySeeBuild } from '../authorization';
import { respondOrLog, type Responder } from '../responseUrl';
import { errorSentence } from '../errorMessages';
import type { SlackScheduler } from './scheduler';
import { link, mention } from '../views/text';
import {
  expiryReminderMessage,
  orderParentMessage,
  orderStatusMessage,
  parentMessage,
  resultMessage,
  statusMessage,
  isSettled,
  type BuildView,
  type SlackMessage,
} from '../views/threadMessages';

/*
 * Makes a build's Slack thread show what its row says. Every message is rendered from the row; a message that does
 * not exist yet is posted and its `ts` saved at once (the only window in which a crash could make it be posted
 * twice is between Slack's answer and that write); one that exists is edited only when what it shows changed.
 *
 * Posts are made within the poller's step, which holds the build's lease. An edit of a build still under way is
 * only scheduled: the step goes back to polling while the edit waits for its turn in Slack's budget, and when it
 * goes it renders the row as it is then, so a build that moved on twice meanwhile costs one edit, showing the
 * newest state. A settled build's result is posted within its step; its final edits go after others' progress and
 * are awaited only briefly (FINAL_EDITS_WAIT_MS): when many builds end together the step does not hold its poller
 * slot while they wait their turn, and the row is marked done once `untilEndShown` sees the thread show how it ended.
 *
 * An order of several images (a blueprint's) has one thread: its lead owns the parent and the status reply, which
 * show every image of the order; the other images post only their own result and reminder, in the lead's thread,
 * and an image that moves on brings the lead's messages up to date.
 */

export interface ThreadProjectionOptions {
  /** The background client, with its own queue, so a rate-limited burst here never delays a modal. */
  client: WebClient;
  /** Where posts save their `ts`: the lease-fenced store within a poller's step. */
  store: BuildRequestStore;
  /**
   * Where a scheduled edit reads the row and records what it showed, after the step that scheduled it has ended
   * and given up its lease: the plain store. What a message shows is rendered from the row at that moment, so
   * recording it is right whichever replica does it.
   */
  editLog: Pick<BuildRequestStore, 'get' | 'update' | 'listOrder'>;
  launch: LaunchDefaults;
  clock: Clock;
  logger: Logger;
  /** Posts an ephemeral notice through a command's response_url. */
  respond: Responder;
  /** Keeps posts and edits under Slack's rate limits (lanes `post:<channel>` and `update`, see SLACK_LANES). */
  scheduler: SlackScheduler;
}

/** Minimum spacing of calls: posts per channel (Slack: ~1 per second), edits per workspace (Tier 3: ~50 per minute). */
export interface SlackPace {
  postPerChannelMs: number;
  updateMs: number;
}

export const DEFAULT_SLACK_PACE: SlackPace = { postPerChannelMs: 1100, updateMs: 1250 };

/** The scheduler's lanes: edits share one per workspace, posts one per channel. */
export const SLACK_LANES = {
  update: 'update',
  post: (channel: string) => `post:${channel}`,
  /** The spacing of a lane under a pace. */
  spacingMs: (lane: string, pace: SlackPace) => (lane === 'update' ? pace.updateMs : pace.postPerChannelMs),
};

/**
 * What goes first when calls wait: how a build ended (its result), then new threads, then progress and reminders,
 * and last the edits that bring an ended build's parent and status reply in line with its result. The result has
 * told the news by then; when many builds end together, those edits would otherwise hold back everyone's progress.
 */
const PRIORITY = { endShown: -1, progress: 0, newThread: 1, final: 2 } as const;

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
  'awaiting-approval': 'submitting',
  submitting: 'submitting',
  tracking: 'tracking',
  done: 'tracking',
  rejected: 'rejected',
};

/** The phase of a request the policy held for approval, while that decides it; undefined once it goes the normal way. */
function approvalPhase(request: BuildRequest): BuildView['phase'] | undefined {
  if (!request.approval) return undefined;
  if (request.decision === 'denied' || request.decision === 'expired') return 'not-approved';
  return request.decision === null ? 'awaiting-approval' : undefined;
}

/** Why a request waits (waited) for approval and how it was decided, as its messages show it. */
export function approvalView(request: BuildRequest): BuildView['approval'] {
  if (!request.approval) return undefined;
  const hours =
    request.approvalExpiresAt &&
    Math.round((request.approvalExpiresAt.getTime() - request.createdAt.getTime()) / 3.6e6);
  return {
    approvers: request.approval.approvers,
    reasons: request.approval.reasons,
    ...(request.decision ? { decision: request.decision } : {}),
    ...(request.decidedBy ? { decidedBy: request.decidedBy } : {}),
    ...(request.decisionReason ? { reason: request.decisionReason } : {}),
    ...(hours ? { expireAfterHours: hours } : {}),
  };
}

export function toBuildView(request: BuildRequest): BuildView {
  const phase = approvalPhase(request) ?? (request.rejection ? 'rejected' : PHASES[request.state]);
  const approval = approvalView(request);
  const provider = getProvider(request.provider);
  // Only while the build is still running: a finished build waiting on Slack has nothing to say about Image Builder.
  const failing = request.pollFailures >= 3 && !request.finalImageStatus && !isFinal(request.status);
  return {
    requesterId: request.requesterId,
    providerLabel: provider?.label ?? request.provider,
    ...(provider ? { destination: provider.image.destination } : {}),
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
    ...(failing && phase !== 'rejected' && phase !== 'not-approved'
      ? { trouble: 'Image Builder has not answered the last few times; I keep trying.' }
      : {}),
    ...(request.blueprint ? { blueprint: { name: request.blueprint.name, version: request.blueprint.version } } : {}),
    ...(request.blueprint?.targets === 'blueprint' ? { imageType: blueprintImageType(request) } : {}),
    ...(approval ? { approval } : {}),
  };
}

/** The image type a row of a blueprint-targets order builds: its body names it (the lead's, the first it asks for). */
function blueprintImageType(request: BuildRequest): string {
  const body = JSON.parse(request.composeRequest) as { image_types?: unknown };
  const [first] = Array.isArray(body.image_types) ? (body.image_types as unknown[]) : [];
  return typeof first === 'string' ? first : (getProvider(request.provider)?.imageType ?? request.provider);
}

/**
 * The compose request a result is described from. A row of a blueprint order built with the blueprint's targets
 * holds the blueprint's compose body, which says only the image type: the rest is the row's. The share targets are
 * the blueprint's, which the parent's summary names.
 */
function describedRequest(request: BuildRequest): unknown {
  if (request.blueprint?.targets !== 'blueprint') return JSON.parse(request.composeRequest);
  return {
    distribution: request.distribution,
    ...(request.imageName ? { image_name: request.imageName } : {}),
    image_requests: [{ architecture: request.architecture, image_type: blueprintImageType(request) }],
  };
}

/** The final word for the thread, once there is one. */
export function outcomeOf(request: BuildRequest, launch: LaunchDefaults): ComposeOutcome | undefined {
  if (request.rejection) {
    const rejection = JSON.parse(request.rejection) as Rejection;
    return {
      kind: 'rejected',
      sentence: rejection.sentence ?? errorSentence(rejection.kind),
      ...(rejection.detail ? { detail: rejection.detail } : {}),
    };
  }
  if (request.status === DELETED_STATUS) return { kind: 'deleted' };
  if (!request.finalImageStatus || !request.composeId) return undefined;
  return describeOutcome(
    {
      composeId: request.composeId,
      imageStatus: imageStatusSchema.parse(JSON.parse(request.finalImageStatus)),
      request: storedComposeRequestSchema.parse(describedRequest(request)),
      ...(request.composeCreatedAt ? { createdAt: request.composeCreatedAt } : {}),
      submittedAt: request.submittedAt ?? request.createdAt,
      launchSettings: readLaunchSettings(request.launchSettings),
    },
    launch,
  );
}

type PostMessage = (
  args: Parameters<WebClient['chat']['postMessage']>[0] & { channel: string },
  priority?: number,
) => ReturnType<WebClient['chat']['postMessage']>;

type Posted = { channel: string; ts: string };

interface ThreadPoster {
  /** Saves the `ts` of a message just posted (or takes the message back when that fails). */
  keepPosted: (request: BuildRequest, posted: Posted, patch: BuildRequestPatch) => Promise<BuildRequest>;
  postParent: (request: BuildRequest, message: SlackMessage) => Promise<BuildRequest>;
  reply: (request: BuildRequest, message: SlackMessage, priority?: number) => Promise<Posted>;
}

/** Posting a thread's messages: each in its channel's lane, its `ts` saved at once. */
function threadPoster(options: ThreadProjectionOptions): ThreadPoster {
  const { client, store, logger, scheduler } = options;
  const postMessage: PostMessage = (args, priority = PRIORITY.newThread) =>
    scheduler.schedule({ lane: SLACK_LANES.post(args.channel), priority, call: () => client.chat.postMessage(args) });

  /**
   * Saves the `ts` of a message just posted. When that fails (the store is full or gone, the lease passed to
   * another replica) the message is taken back, so the retry's post — or the new owner's — is the only copy.
   */
  async function keepPosted(request: BuildRequest, posted: { channel: string; ts: string }, patch: BuildRequestPatch) {
    try {
      return await store.update(request.id, patch);
    } catch (error) {
      await client.chat.delete({ channel: posted.channel, ts: posted.ts }).then(
        () =>
          logger.warn(
            { requestId: request.id },
            'could not save a posted message; took it back so it is not posted twice',
          ),
        (deleteError: unknown) =>
          logger.warn(
            { err: deleteError, requestId: request.id },
            'could not save a posted message nor take it back; it may show twice',
          ),
      );
      throw error;
    }
  }

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

  /**
   * Says in the old thread who rebuilt it, only where the rebuilder can see that thread (their name must not show
   * where they are not), and links the new thread only where the old one's readers can open it: never a DM.
   */
  async function linkFromOriginal(row: BuildRequest) {
    const original = await store.get(row.rebuiltFrom!);
    if (!original?.parentTs || !original.threadChannelId) return;
    const sameChannel = row.threadChannelId === original.threadChannelId;
    // The new thread is in the old one's channel only when Rebuild was pressed there: the rebuilder is in it.
    if (
      !maySeeBuild(original, {
        userId: row.requesterId,
        ...(sameChannel ? { inChannel: original.threadChannelId } : {}),
      })
    ) {
      return;
    }
    const linkable = sameChannel || row.threadChannelKind === 'public';
    const permalink = linkable
      ? (await client.chat.getPermalink({ channel: row.threadChannelId!, message_ts: row.parentTs! })).permalink
      : undefined;
    await reply(original, rebuiltNotice(row.requesterId, permalink));
  }

  async function postParentMessage(request: BuildRequest, message: SlackMessage): Promise<BuildRequest> {
    const rendered = JSON.stringify(message);
    const target = request.threadChannelId ?? request.channelId;
    const { posted, threadChannelKind } = await postJoining(client, logger, postMessage, target, message);
    if (typeof posted === 'string') {
      // Private channel, DM between people, archived…: follow the build in a DM with the requester instead.
      const dm = await postMessage({ channel: request.requesterId, ...message, unfurl_links: false });
      const row = await keepPosted(
        request,
        { channel: dm.channel!, ts: dm.ts! },
        { threadChannelId: dm.channel!, threadChannelKind: 'dm', parentTs: dm.ts!, renderedParent: rendered },
      );
      if (request.responseUrl) {
        await respondOrLog(
          options.respond,
          logger.child({ requestId: request.id }),
          request.responseUrl,
          `I can’t post in <#${request.channelId}>, so I’m following your build in our direct messages instead. ` +
            'To keep builds in that channel, invite me with `/invite @Image Builder`.',
        );
      }
      return row;
    }
    return keepPosted(request, posted, {
      threadChannelId: posted.channel,
      threadChannelKind,
      parentTs: posted.ts,
      renderedParent: rendered,
    });
  }

  async function reply(
    request: BuildRequest,
    message: SlackMessage,
    priority?: number,
  ): Promise<{ channel: string; ts: string }> {
    const res = await postMessage(
      { channel: request.threadChannelId!, thread_ts: request.parentTs!, ...message, unfurl_links: false },
      priority,
    );
    return { channel: request.threadChannelId!, ts: res.ts! };
  }

  return { keepPosted, postParent, reply };
}

/**
 * Whether a conversation is public, private or the bot's DM with someone. Only a channel Slack says is public
 * counts as one: when it cannot say (channels:read not granted, an outage), the build counts as private.
 */
async function channelKindOf(client: WebClient, logger: Logger, channel: string): Promise<ChannelKind | null> {
  // A user id (the bot's DM with that user) or a DM; G… ids are private channels from before 2021.
  if (/^[UWD]/.test(channel)) return 'dm';
  if (channel.startsWith('G')) return 'private';
  try {
    const { channel: info } = await client.conversations.info({ channel });
    if (info?.is_im) return 'dm';
    if (info?.is_private === false && !info.is_mpim) return 'public';
    return info?.is_private ? 'private' : null;
  } catch (error) {
    logger.info(
      { channel, code: slackErrorCode(error) },
      'could not tell whether the channel is public; its build counts as private',
    );
    return null;
  }
}

/**
 * Posts in `target`, joining it first (channels:join) when it is a public channel the bot is not in. Returns
 * Slack's reason instead when the bot cannot post there.
 */
async function postJoining(
  client: WebClient,
  logger: Logger,
  postMessage: PostMessage,
  target: string,
  message: SlackMessage,
) {
  // Asked before posting, so that nothing comes between a post and the write of its ts.
  let threadChannelKind = await channelKindOf(client, logger, target);
  let posted = await tryPost(postMessage, target, message);
  if (posted === 'not_in_channel') {
    threadChannelKind = 'public';
    const joined = await client.conversations.join({ channel: target }).then(
      () => true,
      (error: unknown) => {
        logger.info({ channel: target, code: slackErrorCode(error) }, 'could not join the channel');
        return false;
      },
    );
    posted = joined ? await tryPost(postMessage, target, message) : posted;
  }
  return { posted, threadChannelKind };
}

/** The line in an old thread that says who rebuilt it, with a link to the new thread where its readers may open it. */
function rebuiltNotice(rebuilderId: string, permalink: string | undefined): SlackMessage {
  const where = permalink ? ` — ${link(permalink, 'new thread')}` : '';
  return {
    text: 'Rebuilt as a new build',
    blocks: [
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `:repeat: ${mention(rebuilderId)} rebuilt this${where}.` }],
      },
    ],
  };
}

/** Posts, or returns Slack's reason when the bot cannot post in this channel. */
async function tryPost(postMessage: PostMessage, channel: string, message: SlackMessage): Promise<Posted | string> {
  try {
    const res = await postMessage({ channel, ...message, unfurl_links: false });
    return { channel: res.channel!, ts: res.ts! };
  } catch (error) {
    const code = slackErrorCode(error);
    if (code && CANNOT_POST_HERE.has(code)) return code;
    throw error;
  }
}

/** The messages an edit brings up to date: where each keeps its `ts` and what it last showed, and its renderers. */
const MESSAGES = {
  parent: { ts: 'parentTs', rendered: 'renderedParent', render: parentMessage, renderOrder: orderParentMessage },
  status: { ts: 'statusTs', rendered: 'renderedStatus', render: statusMessage, renderOrder: orderStatusMessage },
} as const;

/** The thread's messages an edit brings up to date, status first (it says the most). */
const THREAD_EDITS = ['status', 'parent'] as const;

/** The scheduler key of a message's edit: a newer edit of the same message takes the place of one still waiting. */
const editKey = (which: keyof typeof MESSAGES, ownerId: string) => `${which}:${ownerId}`;

/**
 * What the thread's owner shows in one of its messages: its own build, or every image of its order (`order`, lead
 * first) once the order has more than one.
 */
function renderThread(which: keyof typeof MESSAGES, owner: BuildRequest, order: readonly BuildRequest[]) {
  const { render, renderOrder } = MESSAGES[which];
  return order.length > 1 ? renderOrder(order.map(toBuildView)) : render(toBuildView(owner));
}

/** The rows a thread shows, lead first: an order's lead shows its whole order, any other build just itself. */
async function rowsShownBy(store: Pick<BuildRequestStore, 'listOrder'>, owner: BuildRequest): Promise<BuildRequest[]> {
  if (owner.orderId !== owner.id) return [owner];
  const order = await store.listOrder(owner.id);
  return order.length > 0 ? order.map((row) => (row.id === owner.id ? owner : row)) : [owner];
}

/** Whether the row is an image of an order whose thread its lead owns. */
const isCompanion = (request: BuildRequest) => request.orderId !== null && request.orderId !== request.id;

interface ThreadEditor {
  refresh: (id: string, which: keyof typeof MESSAGES, priority: number) => Promise<void>;
  edit: (request: BuildRequest, ts: string, message: SlackMessage) => Promise<void>;
}

/** Editing a thread's messages, in the workspace's lane. */
function threadEditor(options: ThreadProjectionOptions): ThreadEditor {
  const { client, editLog, logger, scheduler } = options;

  /**
   * Brings one message of the thread `id` owns up to date with the rows as they are when the edit's turn comes. A
   * later call for the same message takes the place of one still waiting, so only the newest state is sent.
   */
  function refresh(id: string, which: keyof typeof MESSAGES, priority: number): Promise<void> {
    const { ts: tsField, rendered: renderedField } = MESSAGES[which];
    return scheduler.schedule({
      lane: SLACK_LANES.update,
      priority,
      replaces: editKey(which, id),
      call: async () => {
        const row = await editLog.get(id);
        const ts = row?.[tsField];
        if (!row || !ts || !row.threadChannelId) return;
        const rendered = JSON.stringify(renderThread(which, row, await rowsShownBy(editLog, row)));
        if (row[renderedField] === rendered) return;
        try {
          await client.chat.update({ channel: row.threadChannelId, ts, ...(JSON.parse(rendered) as SlackMessage) });
        } catch (error) {
          const code = slackErrorCode(error);
          if (!code || !CANNOT_EDIT.has(code)) throw error;
          // Deleted by someone, or too old to edit: asking again would get the same answer at every step.
          logger.info({ requestId: id, which, code }, 'cannot edit a message of the thread; leaving it as it is');
        }
        await editLog.update(id, { [renderedField]: rendered });
      },
    });
  }

  async function edit(request: BuildRequest, ts: string, message: SlackMessage) {
    await scheduler.schedule({
      lane: SLACK_LANES.update,
      priority: PRIORITY.progress,
      call: () => client.chat.update({ channel: request.threadChannelId!, ts, ...message }),
    });
  }

  return { refresh, edit };
}

/** The build as its thread's replies see it: a companion posts in its lead's thread. */
async function inItsThread(store: Pick<BuildRequestStore, 'get'>, request: BuildRequest): Promise<BuildRequest> {
  if (!isCompanion(request)) return request;
  const lead = await store.get(request.orderId!);
  return { ...request, threadChannelId: lead?.threadChannelId ?? null, parentTs: lead?.parentTs ?? null };
}

/** Edits of threads under way: scheduled, not awaited; a Slack outage is logged once per thread, not per step. */
function editScheduler(logger: Logger, refresh: ThreadEditor['refresh']) {
  /** Threads whose last scheduled edit failed, so a Slack outage is logged once per thread rather than per step. */
  const failingEdits = new Set<string>();

  /** Under way: schedule the edits the thread `owner` needs, and go back to polling; a failed one is tried again. */
  function scheduleEdits(owner: BuildRequest, shown: readonly BuildRequest[]) {
    for (const which of THREAD_EDITS) {
      if (owner[MESSAGES[which].rendered] === JSON.stringify(renderThread(which, owner, shown))) continue;
      const id = owner.id;
      refresh(id, which, PRIORITY.progress).then(
        () => {
          if (failingEdits.delete(id)) logger.info({ requestId: id }, 'the thread is updated again');
        },
        (error: unknown) => {
          // Once per streak, not at every step.
          if (failingEdits.has(id)) return;
          failingEdits.add(id);
          logger.warn(
            { err: error, requestId: id, which },
            'could not update the thread; will try again at the next step',
          );
        },
      );
    }
  }

  return { scheduleEdits, failingEdits };
}

/** The replies an image's lifetime brings: the reminder before its deletion, and the result marked as expired. */
function expiryReplies(
  options: ThreadProjectionOptions,
  { keepPosted, reply, edit }: Pick<ThreadPoster, 'keepPosted' | 'reply'> & Pick<ThreadEditor, 'edit'>,
): ExpiryProjection {
  const { store, launch, clock, logger } = options;
  return {
    async remind(request) {
      const outcome = outcomeOf(request, launch);
      const thread = await inItsThread(store, request);
      if (outcome?.kind !== 'success' || !thread.parentTs || !thread.threadChannelId) {
        // Nothing to remind of (no thread, or not a success): mark it so it is not looked at again.
        return { request: await store.update(request.id, { reminderTs: NO_REMINDER }), sent: false };
      }
      const message = expiryReminderMessage(toBuildView(request), outcome.result, clock.now(), request.id);
      let posted: { channel: string; ts: string };
      try {
        posted = await reply(thread, message, PRIORITY.progress);
      } catch (error) {
        const code = slackErrorCode(error);
        if (!code || !CANNOT_POST_HERE.has(code)) throw error;
        // Asking again every round would only get the same answer, and log it, until the image is gone.
        logger.info(
          { requestId: request.id, channel: request.threadChannelId, code },
          'cannot post the expiry reminder in the thread; giving up on it',
        );
        return { request: await store.update(request.id, { reminderTs: NO_REMINDER }), sent: false };
      }
      return { request: await keepPosted(request, posted, { reminderTs: posted.ts }), sent: true };
    },

    async noteExpired(request) {
      const outcome = outcomeOf(request, launch);
      const thread = await inItsThread(store, request);
      if (outcome && request.resultTs && thread.threadChannelId) {
        try {
          await edit(thread, request.resultTs, resultMessage(toBuildView(request), outcome, clock.now(), request.id));
        } catch (error) {
          const code = slackErrorCode(error);
          if (!code || !(CANNOT_POST_HERE.has(code) || CANNOT_EDIT.has(code))) throw error;
          // The result is gone or frozen (deleted, archived): there is nothing left to correct.
          logger.info(
            { requestId: request.id, channel: request.threadChannelId, code },
            'cannot mark the result message as expired; giving up on it',
          );
        }
      }
      return store.update(request.id, { expiredNotedAt: clock.now() });
    },
  };
}

/** How long a settled build's step waits for its final edits, when none wait before them, before it lets its poller slot go (see showEnd). */
export const FINAL_EDITS_WAIT_MS = 500;

/** Resolves when `work` does, or after `ms`; rejects only when `work` fails within them. */
async function settledWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createThreadProjection(options: ThreadProjectionOptions): ThreadProjection & ExpiryProjection {
  const { store, launch, clock, logger } = options;
  const { keepPosted, postParent, reply } = threadPoster(options);
  const { refresh, edit } = threadEditor(options);
  const { scheduleEdits, failingEdits } = editScheduler(logger, refresh);
  /** The final edits of threads whose build ended, by the thread's owner, while they wait or go out. */
  const finalEdits = new Map<string, Promise<void>>();

  /** Whether the thread shows how the build ended: its result posted, and its owner's messages as the rows say. */
  async function showsEnd(request: BuildRequest, ownerId: string): Promise<boolean> {
    if (!request.resultTs) return false;
    const owner = await options.editLog.get(ownerId);
    if (!owner) return false;
    const shown = await rowsShownBy(options.editLog, owner);
    return THREAD_EDITS.every(
      (which) => owner[MESSAGES[which].rendered] === JSON.stringify(renderThread(which, owner, shown)),
    );
  }

  /**
   * Schedules the owner's final edits once, after others' progress (the result, posted meanwhile, has told the news),
   * and waits for them at most FINAL_EDITS_WAIT_MS when nothing goes before them; a step that finds them already
   * scheduled does not wait at all. When many builds end together, their final edits take turns for far longer than
   * the wait: the step lets its poller slot go at once, and a later one marks the build done (untilEndShown). One that fails within the wait fails the step (it is
   * tried again); a later failure is logged, and the next step schedules them again.
   */
  async function showEnd(ownerId: string): Promise<void> {
    const underWay = finalEdits.get(ownerId);
    if (underWay) return;
    const othersFirst = options.scheduler.waitingAtLeast(SLACK_LANES.update, PRIORITY.endShown) > 0;
    const edits = Promise.all(THREAD_EDITS.map((which) => refresh(ownerId, which, PRIORITY.endShown)))
      .then(() => {
        failingEdits.delete(ownerId);
      })
      .finally(() => finalEdits.delete(ownerId));
    finalEdits.set(ownerId, edits);
    edits.catch((error: unknown) =>
      logger.warn({ err: error, requestId: ownerId }, 'could not show how the build ended; will try again'),
    );
    if (!othersFirst) await settledWithin(edits, FINAL_EDITS_WAIT_MS);
  }

  /**
   * Settled: the thread must show how it ended before the row is marked done. The result, which notifies the
   * requester, is posted in its channel's lane at the same time as the edits of the thread's owner wait in the
   * workspace's: when many builds end together, the news does not wait behind everyone's edits.
   */
  async function settle(row: BuildRequest, thread: BuildRequest, ownerId: string): Promise<BuildRequest> {
    const outcome = row.resultTs ? undefined : outcomeOf(row, launch);
    const message = outcome && resultMessage(toBuildView(row), outcome, clock.now(), row.id);
    const [posted] = await Promise.all([
      message
        ? reply(thread, message, PRIORITY.final).then((sent) => keepPosted(row, sent, { resultTs: sent.ts }))
        : undefined,
      showEnd(ownerId),
    ]);
    return (await store.get(row.id)) ?? posted ?? row;
  }

  /** An image of an order: no parent or status of its own; it moves its lead's and posts its result there. */
  async function syncCompanion(row: BuildRequest): Promise<BuildRequest> {
    const order = (await store.listOrder(row.orderId!)).map((r) => (r.id === row.id ? row : r));
    const lead = order.find((r) => r.id === row.orderId);
    // The lead posts its thread before it submits the order, so this is only ever a store that lost the lead.
    if (!lead?.parentTs || !lead.threadChannelId) throw new Error(`the order ${row.orderId} has no thread to post in`);
    if (!isSettled(toBuildView(row))) {
      scheduleEdits(lead, order);
      return row;
    }
    return settle(row, { ...row, threadChannelId: lead.threadChannelId, parentTs: lead.parentTs }, lead.id);
  }

  return {
    async sync(request) {
      if (isCompanion(request)) return syncCompanion(request);
      let row = request;
      let shown = await rowsShownBy(store, row);
      if (!row.parentTs) row = await postParent(row, renderThread('parent', row, shown));
      if (!row.statusTs) {
        const status = renderThread('status', row, shown);
        const posted = await reply(row, status);
        row = await keepPosted(row, posted, { statusTs: posted.ts, renderedStatus: JSON.stringify(status) });
      }
      shown = shown.map((r) => (r.id === row.id ? row : r));
      if (!isSettled(toBuildView(row))) {
        scheduleEdits(row, shown);
        return row;
      }
      return settle(row, row, row.id);
    },

    hasThread(request) {
      // A companion is shown in its lead's thread, which the lead posts before it submits the order.
      return isCompanion(request) || (request.parentTs !== null && request.statusTs !== null);
    },

    async untilEndShown(request) {
      const ownerId = isCompanion(request) ? request.orderId! : request.id;
      if (await showsEnd(request, ownerId)) return 0;
      // Its final edits go after those of the builds that ended before it, at the workspace's pace.
      const turns = THREAD_EDITS.map((which) => options.scheduler.expectedStartMs(editKey(which, ownerId)));
      return Math.max(1, ...turns);
    },

    ...expiryReplies(options, { keepPosted, reply, edit }),
  };
}
