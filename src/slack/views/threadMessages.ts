import type { types } from '@slack/bolt';
import { format } from 'date-fns/format';
import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';
import type { Destination, ResultDescription, SuggestedCommand } from '../../providers';
import { SHARE_SUMMARY_MAX_LENGTH } from '../../providers/types';
import type { ComposeOutcome } from '../../compose/outcome';
import { endsBuild, statusLabel, type ShownStatus } from '../../compose/status';
import { rebuildActions } from './actionIds';
import {
  codeBlock,
  inlineCode,
  inlineCodeList,
  inlineText,
  joinLines,
  link,
  mention,
  packLines,
  shortenMarkup,
  slackDate,
} from './text';

/*
 * The messages of one build's thread, as pure functions of what the store knows. The parent sits in the channel
 * and shows the request and, once it has ended, its outcome; the status reply in the thread is edited in place at
 * every step; the result reply mentions the requester once, when there is something to act on.
 *
 * Every value from outside is escaped and shortened to its own budget before it meets markup, so that each text
 * stays within Slack's limits by construction and nothing a user or the service says can ping anyone, open a link
 * or close a code block.
 */

export interface SlackMessage {
  /** The notification and accessibility fallback; always sent with the blocks. */
  text: string;
  blocks: types.KnownBlock[];
}

/** What a build looks like to the thread, mapped from the store by the Slack layer. */
export interface BuildView {
  /** Slack member id; '' when unknown (e.g. `status` of a compose the bot did not order), and then nobody is mentioned. */
  requesterId: string;
  providerLabel: string;
  /** Where the image ends up ("on Amazon Web Services"); on the label when the target is not one of ours. */
  destination?: Destination;
  distribution: string;
  architecture: string;
  imageName?: string;
  shareSummary: string;
  composeId?: string;
  /**
   * `submitting` until the service accepted it; `rejected` when it refused it. A request the policy holds for
   * approval is `awaiting-approval` first, and `not-approved` when denied or not decided in time.
   */
  phase: 'awaiting-approval' | 'submitting' | 'tracking' | 'rejected' | 'not-approved';
  /** Why the request waits (waited) for approval, for whom, and how it was decided. */
  approval?: ApprovalView;
  /** The service's status as last seen (forward only). */
  status?: string;
  progress?: { done: number; total: number };
  /** How long the service has not answered, when it has not for a while. */
  trouble?: string;
  /** The organisation's blueprint the image is built from, as it was when asked for; none for a plain image. */
  blueprint?: { name: string; version: number };
  /** The image type, when one order builds several (the images of a blueprint order are told apart by it). */
  imageType?: string;
}

/** A request held for approval, as its messages show it. */
export interface ApprovalView {
  /** Who may approve, and why it waits: the policy's own mrkdwn (mentions must render as names). */
  approvers: string;
  reasons: readonly string[];
  decision?: 'approved' | 'denied' | 'expired';
  decidedBy?: string;
  /** What the approver wrote when denying: outside text. */
  reason?: string;
  /** How long it could wait, in hours, for the expiry's sentence. */
  expireAfterHours?: number;
}

const SECTION_MAX = 3000;
const MESSAGE_BLOCKS_MAX = 50;

/** Slack's picture for each status and phase; the words are compose/status.ts's. */
const STATUS_EMOJI: Readonly<Record<ShownStatus, string>> = {
  submitting: ':outbox_tray:',
  pending: ':hourglass_flowing_sand:',
  building: ':hammer_and_wrench:',
  running: ':hammer_and_wrench:',
  uploading: ':arrow_up:',
  registering: ':card_index_dividers:',
  success: ':white_check_mark:',
  failure: ':x:',
  deleted: ':wastebasket:',
  rejected: ':no_entry:',
  'awaiting-approval': ':raised_hand:',
  'not-approved': ':no_entry_sign:',
};

/** The status in words (escaped), with the step while it is not final; an unknown status as the service spelled it. */
function statusParts(view: BuildView): { emoji: string; label: string; step: string } {
  const key = view.phase === 'tracking' ? view.status || 'pending' : view.phase;
  const label = statusLabel(key);
  const step = view.progress && !endsBuild(key) ? ` — step ${view.progress.done} of ${view.progress.total}` : '';
  return label
    ? { emoji: STATUS_EMOJI[key as ShownStatus], label, step }
    : { emoji: ':grey_question:', label: inlineText(key, 60), step };
}

/** "Building — step 3 of 7"; an unknown status is shown as the service spelled it. */
export function statusLine(view: BuildView): string {
  const { emoji, label, step } = statusParts(view);
  return `${emoji} *${label}*${step}`;
}

/** The status line without emoji or bold, for notification texts. */
export function plainStatus(view: BuildView): string {
  const { label, step } = statusParts(view);
  return `${label}${step}`;
}

/** "<@U123> the build failed", or "The build failed" when there is nobody to mention. */
function addressed(view: BuildView, sentence: string): string {
  const who = mention(view.requesterId);
  return who ? `${who} ${sentence}` : sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

/** "rhel9-golden v5", escaped. */
export function blueprintLabel(blueprint: { name: string; version: number }): string {
  return `${inlineText(blueprint.name, 100)} v${blueprint.version}`;
}

function requestLine(view: BuildView): string {
  const name = view.imageName ? ` “${inlineText(view.imageName, 100)}”` : '';
  const from = view.blueprint ? ` from the blueprint *${blueprintLabel(view.blueprint)}*` : '';
  return addressed(
    view,
    `asked for a *${inlineText(view.distribution, 100)}* ${inlineText(view.architecture, 40)} ` +
      `image${name}${from} ${destinationText(view, (place) => `*${place}*`)}`,
  );
}

/** "on Amazon Web Services", escaped, the place marked up by `mark`. */
export function destinationText(
  view: Pick<BuildView, 'destination' | 'providerLabel'>,
  mark = (place: string) => place,
) {
  const { preposition, place } = view.destination ?? { preposition: 'on', place: view.providerLabel };
  return `${inlineText(preposition, 40)} ${mark(inlineText(place, 100))}`;
}

/** "rhel-9 x86_64 image on Amazon Web Services", escaped, for notification texts. */
function plainRequest(view: BuildView): string {
  const from = view.blueprint ? ` of ${blueprintLabel(view.blueprint)}` : '';
  return `${inlineText(view.distribution, 100)} ${inlineText(view.architecture, 40)} image${from} ${destinationText(view)}`;
}

/** " of rhel9-golden v5 (x86_64)" in a sentence about one image of a blueprint; nothing for a plain image. */
function ofBlueprint(view: BuildView): string {
  return view.blueprint ? ` of *${blueprintLabel(view.blueprint)}* (${imageLabel(view)})` : '';
}

/** "x86_64 aws": which image of an order this is. */
function imageLabel(view: BuildView): string {
  const type = view.imageType ? ` ${inlineText(view.imageType, 40)}` : '';
  return `${inlineText(view.architecture, 40)}${type}`;
}

const section = (text: string): types.SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

/**
 * The message in the channel: the request, and whether it is still under way or how it ended. It follows no step
 * in between — the status reply does — so it is edited once, when the build ends, and the channel shows every
 * outcome at a glance without an edit per step.
 */
export function parentMessage(view: BuildView): SlackMessage {
  const settled = isSettled(view);
  const stateLine = settled ? statusLine(view) : ':hourglass_flowing_sand: *In progress* — status in the thread';
  const shareSummary = inlineText(view.shareSummary, SHARE_SUMMARY_MAX_LENGTH);
  return {
    text: `${plainRequest(view)}: ${settled ? plainStatus(view) : 'in progress'}`,
    blocks: [
      section(`${requestLine(view)}\n${stateLine}`),
      ...(shareSummary.trim() !== ''
        ? [{ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: shareSummary }] }]
        : []),
    ],
  };
}

/** Whether the build has ended, one way or another (what the parent shows and what goes to Slack first). */
export function isSettled(view: Pick<BuildView, 'phase' | 'status'>): boolean {
  return (
    view.phase === 'rejected' ||
    view.phase === 'not-approved' ||
    (view.phase === 'tracking' && endsBuild(view.status ?? ''))
  );
}

/** The reply in the thread, edited at every step: status, progress, the compose id once there is one. */
export function statusMessage(view: BuildView): SlackMessage {
  const lines = [statusLine(view), ...approvalLines(view)];
  if (view.trouble) lines.push(`:warning: ${inlineText(view.trouble, 500)}`);
  return {
    text: `Status: ${plainStatus(view)}`,
    blocks: [
      section(lines.join('\n')),
      ...(view.composeId
        ? [
            {
              type: 'context' as const,
              elements: [{ type: 'mrkdwn' as const, text: `compose ${inlineCode(view.composeId, 100)}` }],
            },
          ]
        : []),
    ],
  };
}

/**
 * The final reply. With `rebuildOf`, success and failure carry a Rebuild button that opens the modal pre-filled
 * with this request.
 */
export function resultMessage(view: BuildView, outcome: ComposeOutcome, now: Date, rebuildOf?: string): SlackMessage {
  if (view.phase === 'not-approved') return notApprovedMessage(view);
  const message =
    outcome.kind === 'success'
      ? successMessage(view, outcome.result, now)
      : outcome.kind === 'failure'
        ? failureMessage(view, outcome.reason, outcome.details)
        : outcome.kind === 'deleted'
          ? deletedMessage(view)
          : rejectedMessage(view, outcome.sentence, outcome.detail);
  if (!rebuildOf || outcome.kind === 'rejected') return message;
  return { ...message, blocks: [...message.blocks.slice(0, MESSAGE_BLOCKS_MAX - 1), rebuildActions(rebuildOf)] };
}

/**
 * The reminder before the service deletes an image: who to tell, when, and how to keep it. Sent once, in the
 * build's thread, mentioning the requester.
 */
export function expiryReminderMessage(
  view: BuildView,
  result: ResultDescription,
  now: Date,
  rebuildOf: string,
): SlackMessage {
  const expiry = readableExpiry(result);
  const left = expiry && formatDistanceStrict(expiry.date, now);
  // Without a date that can be read, the reminder still goes out, saying only that the image goes soon.
  const when = expiry
    ? `will be deleted by Image Builder on ${expiry.shown} (in ${left})`
    : 'will soon be deleted by Image Builder';
  const head = `:hourglass: ${addressed(view, `your image${ofBlueprint(view)} *${inlineText(result.headline, 300)}* ${when}.`)}`;
  const keep =
    result.copyCommands.length === 0
      ? 'Build it again if you still need it.'
      : result.downloadUrl
        ? 'Download it before then to keep it:'
        : 'Copy it to your own account to keep it:';
  return {
    text: `The ${plainRequest(view)} will ${left ? `be deleted in ${left}` : 'soon be deleted'}: ${inlineText(result.headline, 300)}`,
    blocks: [
      section(joinLines([head, keep], SECTION_MAX)),
      ...commandSections(keepTitle(result), result.copyCommands).slice(0, MESSAGE_BLOCKS_MAX - 2),
      rebuildActions(rebuildOf),
    ],
  };
}

/*
 * The two messages an order of several images shares: the lead's parent and status reply show every image of it,
 * one line each, in the blueprint's order. Each image posts its own result and reminder with the messages above.
 */

/** The parent of an order: the blueprint and its version, and how each image ended once every one has. */
export function orderParentMessage(images: readonly BuildView[]): SlackMessage {
  const [lead] = images as [BuildView, ...BuildView[]];
  const settled = images.every(isSettled);
  const blueprint = lead.blueprint ? `*${blueprintLabel(lead.blueprint)}*` : 'an order';
  const request = addressed(
    lead,
    `asked for ${blueprint}: ${images.length} *${inlineText(lead.distribution, 100)}* images ` +
      destinationText(lead, (place) => `*${place}*`),
  );
  const stateLines = settled
    ? images.map((image) => `• ${imageLabel(image)}: ${statusLine(image)}`)
    : [':hourglass_flowing_sand: *In progress* — status in the thread'];
  const shareSummary = inlineText(lead.shareSummary, SHARE_SUMMARY_MAX_LENGTH);
  const plainBlueprint = lead.blueprint ? blueprintLabel(lead.blueprint) : 'order';
  return {
    text:
      `${plainBlueprint}: ${images.length} images ${destinationText(lead)}: ` +
      (settled ? images.map((image) => `${imageLabel(image)} ${plainStatus(image)}`).join(', ') : 'in progress'),
    blocks: [
      section(joinLines([request, ...stateLines], SECTION_MAX)),
      ...(shareSummary.trim() !== ''
        ? [{ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: shareSummary }] }]
        : []),
    ],
  };
}

/** The status reply of an order, edited in place as any image moves: one line per image, then their compose ids. */
export function orderStatusMessage(images: readonly BuildView[]): SlackMessage {
  const lines = images.flatMap((image) => [
    `*${imageLabel(image)}* — ${statusLine(image)}`,
    ...(image.trouble ? [`:warning: ${inlineText(image.trouble, 500)}`] : []),
  ]);
  const composes = images
    .filter((image) => image.composeId)
    .map((image) => `${imageLabel(image)}: compose ${inlineCode(image.composeId!, 100)}`);
  return {
    text: `Status: ${images.map((image) => `${imageLabel(image)} ${plainStatus(image)}`).join('; ')}`,
    blocks: [
      section(joinLines(lines, SECTION_MAX)),
      ...(composes.length > 0
        ? [
            {
              type: 'context' as const,
              elements: [{ type: 'mrkdwn' as const, text: joinLines(composes, SECTION_MAX) }],
            },
          ]
        : []),
    ],
  };
}

/** Indentation of a detail line (two spaces a level, as composeErrorLines nests them) becomes a nested bullet. */
function detailLine(detail: string): string {
  const depth = Math.min(Math.floor((/^ */.exec(detail)?.[0].length ?? 0) / 2), 4);
  const bullet = depth === 0 ? '•' : `${'\u2003'.repeat(depth)}◦`;
  return `${bullet} ${inlineText(detail.trim(), 500)}`;
}

function failureMessage(view: BuildView, reason: string, details: readonly string[]): SlackMessage {
  const detailText = joinLines(details.filter((d) => d.trim() !== '').map(detailLine), SECTION_MAX);
  return {
    text: `The ${plainRequest(view)} failed: ${inlineText(reason, 500)}`,
    blocks: [
      section(`:x: ${addressed(view, `the build${ofBlueprint(view)} failed: *${inlineText(reason, 1000)}*`)}`),
      ...(detailText ? [section(detailText)] : []),
    ],
  };
}

function deletedMessage(view: BuildView): SlackMessage {
  return {
    text: `The ${plainRequest(view)} was deleted at Image Builder before it was built`,
    blocks: [
      section(
        `:wastebasket: ${addressed(view, `the compose${ofBlueprint(view)} was deleted at Image Builder before it was built, so there is no image. Build it again if you still need it.`)}`,
      ),
    ],
  };
}

function rejectedMessage(view: BuildView, sentence: string, detail: string | undefined): SlackMessage {
  const head = `:no_entry: ${addressed(view, inlineText(sentence, 500))}`;
  // The service's own words, verbatim (escaped) as a quote, line by line.
  const quoted = (detail ?? '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => `>${inlineText(line, 1000)}`);
  const plainDetail = detail ? `: ${inlineText(detail, 500)}` : '';
  return {
    text: `The ${plainRequest(view)} was not built: ${inlineText(sentence, 400)}${plainDetail}`,
    blocks: [section(joinLines([head, ...quoted], SECTION_MAX, '>…'))],
  };
}

/** A download is kept on one's own machine, not copied into an account. */
const keepTitle = (result: ResultDescription) => (result.downloadUrl ? 'Keep a copy' : 'Keep a copy in your account');

/** One command: its label, then the command in a code block, or a note when it is too long to show whole. */
function commandEntry(command: SuggestedCommand, room: number): string {
  const label = `*${inlineText(command.label, 150)}*`;
  const entry = `${label}\n${codeBlock(command.command)}`;
  return entry.length <= room ? entry : `${label}\n_This command is too long to show in Slack._`;
}

/** The commands under a title, each whole, in as many sections as they need. */
function commandSections(title: string, commands: readonly SuggestedCommand[]): types.SectionBlock[] {
  if (commands.length === 0) return [];
  const heading = `*${title}*`;
  // Each entry fits beside the heading, so the first section always holds the heading and one command.
  const entries = commands.map((command) => commandEntry(command, SECTION_MAX - heading.length - 1));
  return packLines([heading, ...entries], SECTION_MAX).map(section);
}

function successMessage(view: BuildView, result: ResultDescription, now: Date): SlackMessage {
  const summary = joinLines(
    result.summary.map(
      (s) => `*${inlineText(s.label, 60)}:* ${(s.items && inlineCodeList(s.items, 300)) ?? inlineCode(s.value, 300)}`,
    ),
    1500,
  );
  const links = [
    result.consoleUrl && link(result.consoleUrl, 'Open in the console'),
    result.downloadUrl && link(result.downloadUrl, 'Download the image'),
  ].filter(Boolean);
  const headline = `:white_check_mark: ${addressed(view, `your image${ofBlueprint(view)} is ready: *${inlineText(result.headline, 300)}*`)}`;
  const expired =
    result.builtMoreThanDaysAgo !== undefined ||
    (result.expiresAt !== undefined && result.expiresAt.getTime() <= now.getTime());
  // Once the service has deleted the image, its commands (and the notes on using it) would only fail.
  const notes = (result.notes ?? []).map((note) => inlineText(note, 1000));
  const commands = expired
    ? []
    : [
        ...commandSections('Launch it', result.launchCommands),
        ...commandSections(keepTitle(result), result.copyCommands),
        ...(notes.length > 0 ? [section(joinLines(notes, SECTION_MAX))] : []),
      ];
  const expiry = expiryContext(result, now);
  const blocks: types.KnownBlock[] = [
    // Links last: a link too long to fit is left out whole rather than cut into broken markup.
    section(joinLines([headline, summary, links.join(' · ')].filter(Boolean), SECTION_MAX)),
    ...commands.slice(0, MESSAGE_BLOCKS_MAX - 1 - expiry.length),
    ...expiry,
  ];
  return {
    text: `Your ${plainRequest(view)} is ready: ${inlineText(result.headline, 300)}`,
    blocks,
  };
}

/** When the service deletes the image, and that date as each reader sees it; undefined when there is no valid date. */
function readableExpiry(result: ResultDescription): { date: Date; shown: string } | undefined {
  const date = result.expiresAt;
  if (!date || Number.isNaN(date.getTime())) return undefined;
  return { date, shown: slackDate(date, format(date, 'd MMM yyyy')) };
}

function expiryContext(result: ResultDescription, now: Date): types.ContextBlock[] {
  const context = (text: string): types.ContextBlock[] => [{ type: 'context', elements: [{ type: 'mrkdwn', text }] }];
  if (result.builtMoreThanDaysAgo !== undefined) {
    return context(
      `:wastebasket: Image Builder has deleted this image: it was built more than ${result.builtMoreThanDaysAgo} days ago.`,
    );
  }
  const expiry = readableExpiry(result);
  if (!expiry) return [];
  const days = result.lifetimeDays ? ` — ${result.lifetimeDays} days` : '';
  const date = expiry.shown;
  const text =
    expiry.date.getTime() <= now.getTime()
      ? `:wastebasket: Image Builder deleted this image on ${date}.`
      : `:calendar: Available until ${date}${days}. ${result.downloadUrl ? 'Download it' : 'Copy it'} to keep it longer.`;
  return context(text);
}

/** What the status reply says of an approval: for whom and why it waits, or who approved it. */
function approvalLines(view: BuildView): string[] {
  const { approval } = view;
  if (!approval) return [];
  if (view.phase === 'awaiting-approval') {
    const reasons = approval.reasons.map((reason) => `• ${shortenMarkup(reason, 600)}`);
    return [`Waiting for ${shortenMarkup(approval.approvers, 600)} to approve it:`, ...reasons];
  }
  if (approval.decision === 'approved' && approval.decidedBy)
    return [`:white_check_mark: Approved by ${mention(approval.decidedBy)}`];
  return [];
}

/** How a request that was never approved ended: denied (by whom, with the reason) or left undecided; nothing was sent. */
function notApprovedMessage(view: BuildView): SlackMessage {
  const approval = view.approval;
  const reason = approval?.reason?.trim() ? approval.reason : undefined;
  const sentence =
    approval?.decision === 'denied'
      ? `your request was denied by ${mention(approval.decidedBy ?? '') || 'an approver'}, so nothing was built.`
      : `nobody approved your request${approval?.expireAfterHours ? ` within ${approval.expireAfterHours} hours` : ' in time'}, so nothing was built. Ask again if you still need it.`;
  const head = `:no_entry_sign: ${addressed(view, sentence)}`;
  const quoted = (reason ?? '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => `>${inlineText(line, 1000)}`);
  return {
    text: `The ${plainRequest(view)} was not approved${reason ? `: ${inlineText(reason, 400)}` : ''}`,
    blocks: [section(joinLines([head, ...quoted], SECTION_MAX, '>…'))],
  };
}
