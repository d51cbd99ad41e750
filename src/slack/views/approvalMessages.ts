import type { types } from '@slack/bolt';
import { ACTION_IDS } from './actionIds';
import { inlineText, joinLines, mention, plainText, shortenMarkup } from './text';
import { blueprintLabel, destinationText, type BuildView, type SlackMessage } from './threadMessages';

/*
 * What approvers see of a request that waits for them: its message in the approvals channel (who asked, what, why it
 * waits, Approve and Deny; once decided, who decided and how), the small modal that denies it, and the list of what
 * waits (`/image-builder approvals`, App Home). Pure, like every view.
 */

const SECTION_MAX = 3000;
const MESSAGE_BLOCKS_MAX = 50;

/** The modal that denies a request, its reason field and what the reason may hold. */
export const DENY_MODAL_CALLBACK_ID = 'deny_request';
export const DENY_REASON_BLOCK_ID = 'deny_reason';
export const DENY_REASON_MAX = 500;

const section = (text: string): types.SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): types.ContextBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** "<@U1> asks for a *rhel-9* x86_64 image of *golden v3* on *Amazon Web Services*". */
function askedFor(view: BuildView): string {
  const from = view.blueprint ? ` of the blueprint *${blueprintLabel(view.blueprint)}*` : '';
  const name = view.imageName ? ` “${inlineText(view.imageName, 100)}”` : '';
  const who = mention(view.requesterId) || 'Someone';
  return (
    `${who} asks for a *${inlineText(view.distribution, 100)}* ${inlineText(view.architecture, 40)} ` +
    `image${name}${from} ${destinationText(view, (place) => `*${place}*`)}`
  );
}

/** How the decision reads under the request, once there is one. */
function decisionLine(view: BuildView): string | undefined {
  const approval = view.approval;
  if (approval?.decision === 'approved') return `:white_check_mark: Approved by ${mention(approval.decidedBy ?? '')}`;
  if (approval?.decision === 'denied') {
    const reason = approval.reason?.trim() ? `: ${inlineText(approval.reason, 1000)}` : '';
    return `:no_entry_sign: Denied by ${mention(approval.decidedBy ?? '')}${reason}`;
  }
  if (approval?.decision === 'expired') return ':hourglass: Nobody decided in time; nothing was built.';
  return undefined;
}

/** The request's message in the approvals channel; its buttons carry the request id and go once it is decided. */
export function approvalRequestMessage(view: BuildView, requestId: string): SlackMessage {
  const reasons = (view.approval?.reasons ?? []).map((reason) => `• ${shortenMarkup(reason, 600)}`);
  const decided = decisionLine(view);
  const actions: types.ActionsBlock = {
    type: 'actions',
    block_id: `approval:${requestId}`.slice(0, 255),
    elements: [
      { type: 'button', action_id: ACTION_IDS.approve, text: plainText('Approve'), style: 'primary', value: requestId },
      { type: 'button', action_id: ACTION_IDS.deny, text: plainText('Deny'), style: 'danger', value: requestId },
    ],
  };
  const shareSummary = inlineText(view.shareSummary, 1000);
  return {
    text: `Approval ${decided ? 'decided' : 'needed'}: ${inlineText(view.distribution, 100)} image ${destinationText(view)}`,
    blocks: [
      section(
        joinLines([`:raised_hand: ${askedFor(view)}`, ...(shareSummary.trim() ? [shareSummary] : [])], SECTION_MAX),
      ),
      section(joinLines(['*Why it needs approval*', ...reasons], SECTION_MAX)),
      ...(decided ? [context(decided)] : [actions]),
    ].slice(0, MESSAGE_BLOCKS_MAX),
  };
}

/** The modal Deny opens: an optional reason, told to the requester. */
export function denyModal(requestId: string): types.ModalView {
  return {
    type: 'modal',
    callback_id: DENY_MODAL_CALLBACK_ID,
    private_metadata: requestId,
    title: plainText('Deny the request'),
    submit: plainText('Deny'),
    close: plainText('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK_ID,
        optional: true,
        label: plainText('Reason (told to the requester)'),
        element: {
          type: 'plain_text_input',
          action_id: DENY_REASON_BLOCK_ID,
          multiline: true,
          max_length: DENY_REASON_MAX,
        },
      },
    ],
  };
}

/** One waiting request in a list: who asked for what, why, and since when. */
export function waitingLine(view: BuildView, age: string): string {
  const reasons = (view.approval?.reasons ?? []).map((reason) => shortenMarkup(reason, 300)).join(' ');
  return shortenMarkup(`• ${askedFor(view)}, ${inlineText(age, 40)} — ${reasons}`, 1500);
}

/** `/image-builder approvals`: what waits for approval, or that nothing does. */
export function approvalsReply(lines: readonly string[], channelId: string | undefined): SlackMessage {
  if (lines.length === 0)
    return { text: 'Nothing waits for approval.', blocks: [section('Nothing waits for approval.')] };
  const where = channelId ? ` Approve or deny each in <#${channelId}>.` : '';
  const head = `*${lines.length === 1 ? 'One request waits' : `${lines.length} requests wait`} for approval.*${where}`;
  return {
    text: `${lines.length} waiting for approval`,
    blocks: [section(head), ...lines.slice(0, MESSAGE_BLOCKS_MAX - 1).map(section)],
  };
}
