import type { types } from '@slack/bolt';
import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';
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

/* The ephemeral answers to `/image-builder help | status <id> | list | blueprints | forget`. */

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
    `• ${usage('build <blueprint>')} — the form, starting from one of the organisation’s blueprints`,
    `• ${usage('blueprints')} — the organisation’s blueprints you may build here`,
    `• ${usage('approvals')} — the requests waiting for approval (approvers see all, others their own)`,
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

/** One of the organisation's blueprints as the list shows it. */
export interface BlueprintRow {
  name: string;
  version: number;
  description: string;
  /** Undefined when the service's date could not be read. */
  lastModifiedAt?: Date;
}

export interface BlueprintListing {
  /** Those this channel may build, as the service lists them (the last saved first). */
  buildable: readonly BlueprintRow[];
  /** How many blueprints the organisation has in all, the ones this channel may not build included. */
  total: number;
  /** When Image Builder gave the list; undefined when it has not answered since the bot started. */
  refreshedAt?: Date;
  /** The last refresh failed, or the list is old: its age is shown. */
  stale: boolean;
}

const DESCRIPTION_MAX = 200;

/** `/image-builder blueprints`: the blueprints this channel may build, within Slack's 50 blocks. */
export function blueprintListReply(listing: BlueprintListing, now: Date): SlackMessage {
  const { buildable, refreshedAt } = listing;
  if (!refreshedAt) {
    const text =
      'The list of blueprints is not available yet: Image Builder has not answered the bot since it started. Try again in a few minutes.';
    return { text, blocks: [section(text)] };
  }
  const note = listing.stale
    ? [
        context(
          `Image Builder could not be asked lately; this list is from ${formatDistanceStrict(refreshedAt, now, { addSuffix: true })}.`,
        ),
      ]
    : [];
  if (buildable.length === 0) {
    const text =
      listing.total === 0
        ? 'The organisation has no blueprints yet; they are saved in the Image Builder console.'
        : `None of the organisation’s ${listing.total} blueprints may be built here.`;
    return { text, blocks: [section(text), ...note] };
  }
  // The heading and the note take their blocks; when some blueprints cannot be shown, a last line says how many.
  const room = MAX_BLOCKS - 1 - note.length;
  const shown = buildable.length <= room ? buildable : buildable.slice(0, room - 1);
  const hidden = buildable.length - shown.length;
  const blocks: types.KnownBlock[] = [
    section('*Blueprints you may build here*'),
    ...note,
    ...shown.map((row) => blueprintSection(row, now)),
    ...(hidden > 0 ? [context(`…and ${hidden} more, not shown.`)] : []),
  ];
  return { text: buildable.length === 1 ? '1 blueprint' : `${buildable.length} blueprints`, blocks };
}

const context = (text: string): types.ContextBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

function blueprintSection(row: BlueprintRow, now: Date): types.SectionBlock {
  const changed =
    row.lastModifiedAt && !Number.isNaN(row.lastModifiedAt.getTime())
      ? ` · changed ${formatDistanceStrict(row.lastModifiedAt, now, { addSuffix: true })}`
      : '';
  const description = row.description.trim() ? `\n${inlineText(row.description, DESCRIPTION_MAX)}` : '';
  return section(`*${inlineText(row.name, 100)}* v${row.version}${changed}${description}`);
}
