import type { types } from '@slack/bolt';
import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';
import type { Provider } from '../../providers';
import { ACTION_IDS, rebuildButton } from './actionIds';
import { truncate } from '../../shared/text';
import { inlineCode, inlineText, link, mention, plainText, shortenMarkup } from './text';
import { blueprintLabel, plainStatus, type BuildView } from './threadMessages';

/*
 * The App Home tab: a "New image" button per cloud, my images and the team's recent ones, each with a Rebuild
 * button. A Home view holds at most 100 blocks; each image is one block, and the lists are cut with a note.
 */

export interface HomeBuild {
  requestId: string;
  view: BuildView;
  createdAt: Date;
  /** When the service deletes the image (AWS, GCP, downloads). */
  expiresAt?: Date;
  /** AMI id, image name or download link: what to use. */
  imageId?: string;
  threadUrl?: string;
}

/** One list of the Home tab: its newest images, and how many it has in all. */
export interface HomeList {
  /** Newest first; the first {@link HOME_LIST_MAX} are shown. */
  builds: readonly HomeBuild[];
  /** How many images the list has, shown or not; `builds.length` when left out. */
  total?: number;
  /** `total` is only as far as the store was read: there may be more. */
  totalIsLowerBound?: boolean;
}

export interface HomeInput {
  providers: readonly Pick<Provider, 'id' | 'image'>[];
  mine: HomeList;
  team: HomeList;
  /** Whether the user has remembered form values to offer to clear. */
  hasDefaults: boolean;
  /**
   * Why this user may not request images, when the policy says so. The bot's own mrkdwn: policy reasons name
   * people, groups and channels with Slack's mention syntax, which must render as names, not as escaped text.
   */
  refusal?: string;
  /**
   * For an approver: the requests waiting for their approval (each line the bot's own mrkdwn, see waitingLine), how
   * many there are, and the channel where they are decided.
   */
  awaitingApproval?: { lines: readonly string[]; total: number; channelId: string };
  now: Date;
}

/** Waiting requests shown on an approver's Home; the rest are counted, and all are in the approvals channel. */
export const HOME_APPROVALS_MAX = 5;

const HOME_BLOCKS_MAX = 100;
const THREAD_LINK_MAX = 1000;
/** Images shown per list; the rest are summarised, keeping the view well under its limit. */
export const HOME_LIST_MAX = 40;

export function homeView(input: HomeInput): types.HomeView {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText('Cloud images') },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: input.refusal
          ? `:no_entry: ${shortenMarkup(input.refusal, 2000)}`
          : 'Build a RHEL image with Red Hat Image Builder; I follow each build in a thread and tell you how to launch it.',
      },
    },
  ];
  if (!input.refusal && input.providers.length > 0) {
    blocks.push({
      type: 'actions',
      block_id: 'new_image',
      elements: input.providers.slice(0, 24).map((p) => ({
        type: 'button' as const,
        action_id: `${ACTION_IDS.newImage}:${p.id}`,
        // plain_text shows what it is given: escaping here would show "&amp;" for "&".
        text: plainText(truncate(`New ${p.image.one}`, 75)),
        value: p.id,
      })),
    });
  }
  if (input.awaitingApproval && input.awaitingApproval.total > 0) blocks.push(...approvalList(input.awaitingApproval));
  blocks.push(...list('My images', input.mine, input.now, 'You have not built any image yet.'));
  blocks.push(...list('The team’s recent images', input.team, input.now, 'Nobody has built an image yet.'));
  if (input.hasDefaults) {
    blocks.push(
      { type: 'divider' },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: 'Forms are pre-filled with what you last entered for each cloud.' },
        accessory: { type: 'button', action_id: ACTION_IDS.clearDefaults, text: plainText('Forget my entries') },
      },
    );
  }
  return { type: 'home', blocks: blocks.slice(0, HOME_BLOCKS_MAX) };
}

function approvalList({ lines, total, channelId }: NonNullable<HomeInput['awaitingApproval']>): types.KnownBlock[] {
  const shown = lines.slice(0, HOME_APPROVALS_MAX);
  const left = Math.max(total, lines.length) - shown.length;
  const where = `Approve or deny ${left > 0 ? `them all (${left} more)` : 'each'} in <#${channelId}>.`;
  return [
    { type: 'divider' },
    { type: 'header', text: plainText('Waiting for your approval') },
    ...shown.map((line): types.SectionBlock => ({
      type: 'section',
      text: { type: 'mrkdwn', text: shortenMarkup(line, 2900) },
    })),
    { type: 'context', elements: [{ type: 'mrkdwn', text: where }] },
  ];
}

function list(title: string, homeList: HomeList, now: Date, empty: string): types.KnownBlock[] {
  const { builds, total = builds.length, totalIsLowerBound = false } = homeList;
  const shown = builds.slice(0, HOME_LIST_MAX);
  const blocks: types.KnownBlock[] = [{ type: 'divider' }, { type: 'header', text: plainText(title) }];
  if (shown.length === 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: empty }] });
    return blocks;
  }
  for (const build of shown) blocks.push(buildSection(build, now));
  const left = Math.max(total, builds.length) - shown.length;
  if (left > 0) {
    const count = totalIsLowerBound ? `more than ${left}` : String(left);
    const noun = left === 1 && !totalIsLowerBound ? 'image' : 'images';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${count} older ${noun}, not shown.` }] });
  }
  return blocks;
}

function buildSection(build: HomeBuild, now: Date): types.SectionBlock {
  const { view } = build;
  const age = safeDistance(build.createdAt, now, true);
  const blueprint = view.blueprint ? ` · ${blueprintLabel(view.blueprint)}` : '';
  const lines = [
    `*${inlineText(view.providerLabel, 60)}* · ${inlineText(view.distribution, 60)} ${inlineText(view.architecture, 20)}${blueprint} · ${shortenMarkup(plainStatus(view), 80)}`,
    [
      `${mention(view.requesterId)} ${age}`.trim(),
      build.expiresAt ? expiryText(build.expiresAt, now) : '',
      build.imageId ? inlineCode(build.imageId, 200) : '',
      threadLink(build.threadUrl),
    ]
      .filter(Boolean)
      .join(' · '),
  ];
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: lines.join('\n') },
    accessory: rebuildButton(build.requestId),
  };
}

/** Slack's permalinks are short; a longer link is left out rather than allowed to take the section over its limit. */
function threadLink(url: string | undefined): string {
  const linked = url ? link(url, 'thread') : undefined;
  return linked && linked.length <= THREAD_LINK_MAX ? linked : '';
}

function expiryText(expiresAt: Date, now: Date): string {
  if (Number.isNaN(expiresAt.getTime())) return '';
  return expiresAt.getTime() <= now.getTime()
    ? ':wastebasket: expired'
    : `:hourglass: expires in ${safeDistance(now, expiresAt, false)}`;
}

function safeDistance(from: Date, to: Date, suffix: boolean): string {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return '';
  if (suffix && Math.abs(to.getTime() - from.getTime()) < 60_000) return 'just now';
  return suffix ? formatDistanceStrict(from, to, { addSuffix: true }) : formatDistanceStrict(from, to);
}
