import type { WebClient } from '@slack/web-api';
import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';
import type { Logger } from 'pino';
import type { BuildRequest, BuildRequestStore } from '../../store/store';
import type { ApprovalProjection } from '../../tracking/tracker';
import { approvalRequestMessage, waitingLine } from '../views/approvalMessages';
import type { SlackMessage } from '../views/threadMessages';
import { SLACK_LANES, slackErrorCode, toBuildView } from './projection';
import type { SlackScheduler } from './scheduler';

/*
 * A waiting request's message in the approvals channel, rendered from its row like the thread's: posted once (its
 * ts saved at once, the message taken back when that fails, as the thread's posts are), edited when the decision
 * changes what it shows.
 */

/** One waiting request as the lists of what waits show it (`/image-builder approvals`, App Home). */
export function waitingLineOf(request: BuildRequest, now: Date): string {
  return waitingLine(toBuildView(request), formatDistanceStrict(request.createdAt, now, { addSuffix: true }));
}

/** After the thread's new posts, before its progress. */
const PRIORITY = 1;

export function createApprovalProjection(options: {
  client: WebClient;
  /** The lease-fenced store of the poller's step. */
  store: Pick<BuildRequestStore, 'update'>;
  scheduler: SlackScheduler;
  logger: Logger;
}): ApprovalProjection {
  const { client, store, scheduler, logger } = options;
  const render = (request: BuildRequest) => approvalRequestMessage(toBuildView(request), request.id);

  /** Posts in the approvals channel, joining it first when it is a public channel the bot is not in yet. */
  async function post(channel: string, message: SlackMessage) {
    const call = () => client.chat.postMessage({ channel, ...message, unfurl_links: false });
    const send = () => scheduler.schedule({ lane: SLACK_LANES.post(channel), priority: PRIORITY, call });
    const posted = await send().catch(async (error: unknown) => {
      if (slackErrorCode(error) !== 'not_in_channel') throw error;
      await client.conversations.join({ channel });
      return send();
    });
    return { channel: posted.channel ?? channel, ts: posted.ts! };
  }

  return {
    async announce(request) {
      if (!request.approval || request.approvalTs) return request;
      const message = render(request);
      const posted = await post(request.approval.channelId, message);
      try {
        return await store.update(request.id, { approvalTs: posted.ts, renderedApproval: JSON.stringify(message) });
      } catch (error) {
        await client.chat
          .delete(posted)
          .catch((deleteError: unknown) =>
            logger.warn(
              { err: deleteError, requestId: request.id },
              'could not take back an approval request; it may show twice',
            ),
          );
        throw error;
      }
    },

    async showDecision(request) {
      if (!request.approval || !request.approvalTs) return request;
      const message = render(request);
      const rendered = JSON.stringify(message);
      if (rendered === request.renderedApproval) return request;
      const { channelId } = request.approval;
      const ts = request.approvalTs;
      await scheduler.schedule({
        lane: SLACK_LANES.update,
        priority: PRIORITY,
        call: () => client.chat.update({ channel: channelId, ts, ...message }),
      });
      return store.update(request.id, { renderedApproval: rendered });
    },
  };
}
