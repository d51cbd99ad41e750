import type { types } from '@slack/bolt';
import { formatDistanceStrict } from 'date-fns';
import type { ComposeOutcome } from '../../compose/outcome';
import type { Provider } from '../../providers';
import { escapeWithin, inlineCode, inlineText, link, mention, packLines } from './text';
import {
  blueprintLabel,
  destinationText,
  plainStatus,
  resultMessage,
  statusLine,
  type BuildView,
  type SlackMessage,
} from './threadMessages';

/* The ephemeral answers to `/image-builder help | status <id> | list | forget`. */

const MAX_BLOCKS = 50;
const SECTION_MAX = 3000;
const THREAD_LINK_MAX = 1000;

const section = (text: string): types.SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

export function usageMessage(
  command: string,
  providers: readonly Pick<Provider, 'id' | 'label'>[],
  note?: string,
): SlackMessage {
  const usage = (args: string) => inlineCode(`${command} ${args}`, 100);
  const builds = providers.map((p) => `• ${usage(p.id)} — ${inlineText(p.label, 100)}`);
  const lines = [
    ...(note ? [`${escapeWithin(note, 500)}\n`] : []),
    '*Build cloud images with Red Hat Image Builder*, for:',
    ...builds,
    `• ${usage('status <compose-id>')} — where a build is now`,
    `• ${usage('list')} — your recent builds and this channel’s`,
    `• ${usage('forget')} — stop pre-filling forms with what you last entered`,
    `• ${usage('audit [days]')} — for admins: who asked for what, and what was refused`,
    `• ${usage('help')} — this message`,
  ];
  // Every cloud is listed: with many, the lines go into as many sections as they need.
  return {
    text: `How to use ${inlineText(command, 100)}`,
    blocks: packLines(lines, SECTION_MAX).slice(0, MAX_BLOCKS).map(section),
  };
}

/** A compose's status, with how it ended when known; `withheld` says why only the status is shown. */
export function composeStatusReply(
  composeId: string,
  view: BuildView,
  outcome: ComposeOutcome | undefined,
  now: Date,
  withheld?: string,
): SlackMessage {
  const blocks: types.KnownBlock[] = [section(`Compose ${inlineCode(composeId, 100)}: ${statusLine(view)}`)];
  if (withheld) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeWithin(withheld, 500) }] });
  else if (outcome) blocks.push(...resultMessage(view, outcome, now).blocks.slice(0, MAX_BLOCKS - 1));
  return { text: `Compose ${inlineText(composeId, 100)}: ${plainStatus(view)}`, blocks };
}

export interface RecentBuild {
  view: BuildView;
  createdAt: Date;
  threadUrl?: string;
}

/** `command` is the slash command as the workspace names it (SLACK_COMMAND), for the hint. */
export function recentBuildsReply(command: string, builds: readonly RecentBuild[], now: Date): SlackMessage {
  if (builds.length === 0) {
    return {
      text: 'No builds yet',
      blocks: [section(`No builds yet from you or in this channel. Try ${inlineCode(`${command} aws`, 100)}.`)],
    };
  }
  // The heading takes one block; when some builds cannot be shown, a last line says how many.
  const room = MAX_BLOCKS - 1;
  const shown = builds.length <= room ? builds : builds.slice(0, room - 1);
  const blocks: types.KnownBlock[] = [
    section('*Recent builds — yours and this channel’s*'),
    ...shown.map((b) => recentBuildSection(b, now)),
  ];
  const hidden = builds.length - shown.length;
  if (hidden > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${hidden} older, not shown.` }] });
  return { text: shown.length === 1 ? '1 recent build' : `${shown.length} recent builds`, blocks };
}

function recentBuildSection({ view, createdAt, threadUrl }: RecentBuild, now: Date): types.SectionBlock {
  const by = mention(view.requesterId);
  const age = Number.isNaN(createdAt.getTime()) ? '' : formatDistanceStrict(createdAt, now, { addSuffix: true });
  const who = [by && `by ${by}`, age].filter(Boolean).join(', ');
  // Slack's permalinks are short; anything longer is left out rather than allowed to crowd out the rest.
  const thread = threadUrl ? link(threadUrl, 'thread') : undefined;
  const tail = [
    statusLine(view),
    view.composeId ? inlineCode(view.composeId, 100) : '',
    thread && thread.length <= THREAD_LINK_MAX ? thread : '',
  ].filter(Boolean);
  const blueprint = view.blueprint ? ` of *${blueprintLabel(view.blueprint)}*` : '';
  return section(
    `*${inlineText(view.distribution, 100)}* ${inlineText(view.architecture, 40)}${blueprint} ${destinationText(view)}` +
      `${who ? ` ${who}` : ''}\n${tail.join(' · ')}`,
  );
}
