import { toBuildView } from '../../../src/slack/thread/projection';
import {
  approvalRequestMessage,
  approvalsReply,
  denyModal,
  waitingLine,
} from '../../../src/slack/views/approvalMessages';
import { statusMessage, resultMessage } from '../../../src/slack/views/threadMessages';
import type { BuildRequest } from '../../../src/store/store';
import { buildRow, REQUESTER } from './fixtures';
import { messageLimitProblems, modalLimitProblems, visibleTexts } from './slackLimits';

const APPROVER = 'U0APPROVE';
const approval = {
  reasons: ['Every request made in <#C012BUILDS> needs approval (policy approvals.required_in).'],
  approvers: `<@${APPROVER}> or members of <!subteam^S0PLATFRM>`,
  channelId: 'C0APPROVE',
  policyChannel: 'C012BUILDS',
  shareTargets: [{ fieldId: 'share_with_accounts', kind: 'aws-account', value: '123456789012' }],
};
const createdAt = new Date('2025-03-01T10:00:00Z');
const waitingRow = (overrides: Partial<BuildRequest> = {}) =>
  buildRow({
    state: 'awaiting-approval',
    composeId: null,
    status: null,
    progressDone: null,
    progressTotal: null,
    createdAt,
    approval,
    approvalExpiresAt: new Date(createdAt.getTime() + 72 * 3_600_000),
    ...overrides,
  });
const shown = (message: { text: string; blocks: unknown[] }) => visibleTexts(message as never).join('\n');
const HOSTILE = '<!channel> *bold* `code` ```block``` <https://evil.example|click>\n> quote';

describe('the message in the approvals channel', () => {
  it('says who asked for what, why it waits, and offers Approve and Deny, within Slack’s limits', () => {
    const message = approvalRequestMessage(toBuildView(waitingRow()), 'request-1');
    expect(messageLimitProblems(message)).toEqual([]);
    const text = shown(message);
    expect(text).toContain(`<@${REQUESTER}> asks for a *rhel-9* x86_64 image “web-base” on *Amazon Web Services*`);
    expect(text).toContain('shared with AWS account 123456789012');
    expect(text).toContain(approval.reasons[0]);
    expect(JSON.stringify(message.blocks)).toContain('"action_id":"approve_request"');
    expect(JSON.stringify(message.blocks)).toContain('"value":"request-1"');
  });

  it('shows who decided once decided, and no buttons', () => {
    const decided = { decision: 'denied' as const, decidedBy: APPROVER, decidedAt: createdAt };
    const message = approvalRequestMessage(
      toBuildView(waitingRow({ ...decided, state: 'rejected', decisionReason: HOSTILE })),
      'request-1',
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain(`Denied by <@${APPROVER}>: &lt;!channel&gt;`);
    expect(JSON.stringify(message.blocks)).not.toContain('approve_request');
    const approved = approvalRequestMessage(toBuildView(waitingRow({ ...decided, decision: 'approved' })), 'r');
    expect(shown(approved)).toContain(`Approved by <@${APPROVER}>`);
  });

  it('keeps a long image name and many reasons within Slack’s limits', () => {
    const row = waitingRow({
      imageName: HOSTILE.repeat(50),
      approval: { ...approval, reasons: Array.from({ length: 30 }, () => 'x'.repeat(700)) },
    });
    expect(messageLimitProblems(approvalRequestMessage(toBuildView(row), 'request-1'))).toEqual([]);
  });
});

describe('the requester’s thread while it waits and after', () => {
  it('says for whom and why it waits', () => {
    const text = shown(statusMessage(toBuildView(waitingRow())));
    expect(text).toContain(':raised_hand: *Waiting for approval*');
    expect(text).toContain(`Waiting for <@${APPROVER}> or members of <!subteam^S0PLATFRM> to approve it:`);
    expect(text).toContain(approval.reasons[0]);
  });

  it('tells the requester who denied it and why, the reason escaped', () => {
    const row = waitingRow({ state: 'rejected', decision: 'denied', decidedBy: APPROVER, decisionReason: HOSTILE });
    const message = resultMessage(toBuildView(row), { kind: 'rejected', sentence: 'x' }, createdAt);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain(
      `<@${REQUESTER}> your request was denied by <@${APPROVER}>, so nothing was built.`,
    );
    expect(shown(message)).toContain('&lt;!channel&gt;');
    expect(shown(message)).not.toContain('<!channel>');
  });

  it('tells the requester nobody decided in time', () => {
    const row = waitingRow({ state: 'rejected', decision: 'expired' });
    const message = resultMessage(toBuildView(row), { kind: 'rejected', sentence: 'x' }, createdAt);
    expect(shown(message)).toContain('nobody approved your request within 72 hours, so nothing was built');
  });
});

describe('the Deny modal and the lists of what waits', () => {
  it('asks for an optional reason, within Slack’s limits', () => {
    const modal = denyModal('request-1');
    expect(modalLimitProblems(modal)).toEqual([]);
    expect(modal.private_metadata).toBe('request-1');
  });

  it('lists waiting requests, or says nothing waits', () => {
    const line = waitingLine(toBuildView(waitingRow()), '2 hours ago');
    const reply = approvalsReply([line], 'C0APPROVE');
    expect(messageLimitProblems(reply)).toEqual([]);
    expect(shown(reply)).toContain('One request waits for approval.');
    expect(shown(reply)).toContain('2 hours ago');
    expect(shown(approvalsReply([], undefined))).toContain('Nothing waits for approval.');
    expect(
      messageLimitProblems(
        approvalsReply(
          Array.from({ length: 80 }, () => line),
          'C0APPROVE',
        ),
      ),
    ).toEqual([]);
  });
});
