import type { types } from '@slack/bolt';
import type { AuditSummary, Lookback, Tally } from '../../audit/audit';
import { inlineCode, inlineText, joinLines, plainText, slackDate } from './text';
import type { SlackMessage } from './threadMessages';

/*
 * The ephemeral answer to `/image-builder audit [days]`: the summary, and where the full log went. Every value from
 * the log (reasons, account ids, principals, kinds) is outside text: escaped and shortened to its own budget, and
 * each list keeps at most SHOWN entries, so the whole message stays well under Slack's limits by construction.
 */

/** What became of the JSON Lines file. */
export type AuditFileDelivery =
  | { kind: 'sent'; filename: string }
  /** Nothing happened in the period, so there was nothing to send. */
  | { kind: 'no-events' }
  /** The DM or the upload failed; the error is in the bot's log. */
  | { kind: 'failed' };

export interface AuditReportInput {
  summary: AuditSummary;
  lookback: Lookback;
  delivery: AuditFileDelivery;
}

const SHOWN = 10;
const SECTION_MAX = 3000;
const REASON_MAX = 200;
const TARGET_MAX = 80;

const section = (text: string): types.SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: joinLines(text.split('\n'), SECTION_MAX) },
});

export function auditReportMessage({ summary, lookback, delivery }: AuditReportInput): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText(`Audit report — the last ${lookback.text}`) },
    section(overview(summary)),
  ];
  if (summary.total > 0) {
    blocks.push(
      section(requestsAndKinds(summary)),
      section(refusals(summary.refusals)),
      ...shareTargetSections(summary),
    );
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: deliveryLine(delivery, lookback) }] });
  const events = summary.total === 1 ? '1 event' : `${summary.total} events`;
  return { text: `Audit report for the last ${lookback.text}: ${events}`, blocks };
}

function overview(summary: AuditSummary): string {
  const { results } = summary;
  const people = summary.distinctRequesters === 1 ? '1 person' : `${summary.distinctRequesters} people`;
  const lines = [
    `${period(summary.since)} → ${period(summary.now)}`,
    summary.total === 0
      ? 'Nothing was recorded in this period.'
      : `*${summary.total}* ${summary.total === 1 ? 'event' : 'events'} · ${people} asked for builds`,
  ];
  if (summary.total > 0) {
    // Deletions are rare; the line names them only when there were some.
    const deleted = results.deleted > 0 ? ` · *${results.deleted}* deleted at Image Builder` : '';
    lines.push(
      `Builds: *${results.success}* succeeded · *${results.failure}* failed${deleted} · *${results.rejected}* rejected by Image Builder`,
    );
  }
  if (summary.unreadableDetails > 0) {
    const n = summary.unreadableDetails;
    lines.push(
      `_${n} ${n === 1 ? 'event has' : 'events have'} details this report could not read; the file has them as recorded._`,
    );
  }
  return lines.join('\n');
}

const period = (date: Date): string => slackDate(date, `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`);

function requestsAndKinds(summary: AuditSummary): string {
  const requests = summary.requestsByProvider;
  const byProvider =
    requests.total === 0
      ? 'none'
      : requests.top
          .slice(0, SHOWN)
          .map((c) => `${inlineText(c.value, 40)} ${c.count}`)
          .join(' · ') + more(requests, ' · ');
  const kinds = Object.entries(summary.byKind)
    .slice(0, 20)
    .map(([kind, count]) => `${inlineText(kind, 40)} ${count}`)
    .join(' · ');
  return `*Requests by cloud:* ${byProvider}\n*Events by kind:* ${kinds}`;
}

function refusals(tally: Tally): string {
  if (tally.total === 0) return '*Refusals:* none';
  const lines = tally.top.slice(0, SHOWN).map((c) => `• *${c.count}×* ${inlineText(c.value, REASON_MAX)}`);
  const hidden = hiddenCount(tally);
  if (hidden > 0) lines.push(`…and ${hidden} other ${hidden === 1 ? 'reason' : 'reasons'}`);
  return [`*Refusals (${tally.total}), by reason:*`, ...lines].join('\n');
}

function shareTargetSections(summary: AuditSummary): types.SectionBlock[] {
  const clouds = [
    ['AWS accounts', summary.shareTargets.awsAccounts],
    ['Azure subscriptions', summary.shareTargets.azureSubscriptions],
    ['GCP principals', summary.shareTargets.gcpPrincipals],
  ] as const;
  const used = clouds.filter(([, tally]) => tally.total > 0);
  if (used.length === 0) return [section('*Shared with:* no cloud accounts in this period')];
  return used.map(([title, tally]) => {
    const lines = tally.top
      .slice(0, SHOWN)
      .map((c) => `• ${inlineCode(c.value, TARGET_MAX)} — ${c.count === 1 ? '1 build' : `${c.count} builds`}`);
    const hidden = hiddenCount(tally);
    if (hidden > 0) lines.push(`…and ${hidden} more`);
    return section([`*Shared with ${title} (${tally.distinct}):*`, ...lines].join('\n'));
  });
}

const hiddenCount = (tally: Tally): number => tally.distinct - Math.min(tally.top.length, SHOWN);
const more = (tally: Tally, separator: string): string => {
  const hidden = hiddenCount(tally);
  return hidden > 0 ? `${separator}${hidden} more` : '';
};

function deliveryLine(delivery: AuditFileDelivery, lookback: Lookback): string {
  switch (delivery.kind) {
    case 'sent':
      return `The full log is in our DM as ${inlineCode(delivery.filename, 120)} (JSON Lines, one event per line).`;
    case 'no-events':
      return 'No file was sent: there are no events in this period.';
    case 'failed':
      return (
        'I could not send you the full log as a file in a DM (the reason is in the bot’s log). ' +
        `Where the bot runs, ${inlineCode(`image-builder-bot audit --since ${lookback.flag}`, 80)} prints it.`
      );
  }
}
