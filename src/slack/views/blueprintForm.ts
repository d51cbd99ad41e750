import type { types } from '@slack/bolt';
import { imageTypesBuilding, type Provider } from '../../providers';
import { listInWords, truncate } from '../../shared/text';
import { escapeWithin, inlineCodeList, joinLines, plainText, shortenMarkup, slackDate } from './text';

/*
 * The blueprint part of the compose form: "Start from" (a plain image or one of the organisation's blueprints),
 * what the chosen blueprint brings, its lint, and whose share targets the build uses. Pure: the listeners decide
 * what is offered (policy, the cached list) and fetch the blueprint's detail.
 */

export const START_FROM_BLOCK_ID = 'start_from';
export const START_FROM_ACTION_ID = 'start_from';
export const TARGETS_BLOCK_ID = 'blueprint_targets';
export const TARGETS_ACTION_ID = 'blueprint_targets';
/** The "Start from" value of a plain image (today's form); a blueprint's value is its id. */
export const PLAIN_IMAGE = 'plain';

/** Slack's static select holds 100 options; with more blueprints the select searches (external_select). */
export const MAX_STATIC_BLUEPRINTS = 99;
const OPTION_TEXT_MAX = 75;
const SECTION_TEXT_MAX = 3000;
const PACKAGES_SHOWN = 5;

/** A blueprint as the list names it (GET /blueprints; imageBuilder/blueprintSchemas.ts reads it). */
export interface BlueprintItem {
  id: string;
  name: string;
  version: number;
  last_modified_at: string;
}

/** What the form shows of a blueprint's detail (GET /blueprints/{id}), as imageBuilder/blueprintSchemas.ts reads it. */
export interface BlueprintDetail {
  name: string;
  description: string;
  distribution?: string | undefined;
  lint: { errors: { name: string; description: string }[]; warnings: { name: string; description: string }[] };
  image_requests: { architecture: string; image_type: string }[];
  customizations: {
    packages: string[];
    users: { name: string; ssh_key?: string | undefined; hasPassword: boolean }[];
    subscription?: { organization: number } | undefined;
    openscap?: { profile_id: string; profile_name?: string | undefined } | { policy_id: string } | undefined;
    fips?: { enabled?: boolean | undefined } | undefined;
  };
}

/** Whose share targets a blueprint build uses. */
export type BlueprintTargets = 'blueprint' | 'requester';

/** What "Start from" offers. */
export interface BlueprintOffer {
  /** The blueprints this channel may build, as the cached list has them. */
  blueprints: readonly BlueprintItem[];
  /** More than a static select holds: the select asks the app (options), which answers from the cache. */
  searchable: boolean;
  /** Said under the select: the list is old, or there is none. */
  note?: string;
}

/** The blueprint chosen, once its detail was read, or why it could not be. */
export type ChosenBlueprint =
  /** `rebuiltFrom`: the version the rebuilt build had, when the blueprint has moved on since. */
  | { item: BlueprintItem; detail: BlueprintDetail; targets: BlueprintTargets; rebuiltFrom?: number }
  | { item: BlueprintItem; problem: string }
  /** Chosen before the form opened (`/image-builder build <name>`): its detail is being read. */
  | { item: BlueprintItem; reading: true };

export type SelectState = Record<
  string,
  Record<string, { selected_option?: { value: string } | null; value?: string | null }>
>;

/** The form's "Start from" and "Share targets" as they stand in the view's state. */
export function formChoice(state: SelectState): { startFrom?: string; targets?: BlueprintTargets } {
  const startFrom = state[START_FROM_BLOCK_ID]?.[START_FROM_ACTION_ID]?.selected_option?.value;
  const targets = state[TARGETS_BLOCK_ID]?.[TARGETS_ACTION_ID]?.selected_option?.value;
  return {
    ...(startFrom ? { startFrom } : {}),
    ...(targets === 'blueprint' || targets === 'requester' ? { targets } : {}),
  };
}

const plainOption: types.PlainTextOption = { text: plainText('A plain image'), value: PLAIN_IMAGE };

function blueprintOption(item: BlueprintItem): types.PlainTextOption {
  return { text: plainText(truncate(`${item.name} (v${item.version})`, OPTION_TEXT_MAX)), value: item.id };
}

/** Options of the select, the plain image first: what app.options answers too. */
export function startFromOptions(blueprints: readonly BlueprintItem[]): types.PlainTextOption[] {
  return [plainOption, ...blueprints.slice(0, MAX_STATIC_BLUEPRINTS).map(blueprintOption)];
}

/** "Start from", which updates the form when changed (dispatch_action). */
export function startFromBlocks(offer: BlueprintOffer, chosen: BlueprintItem | undefined): types.KnownBlock[] {
  const initial = chosen ? blueprintOption(chosen) : plainOption;
  const element = offer.searchable
    ? {
        type: 'external_select' as const,
        action_id: START_FROM_ACTION_ID,
        placeholder: plainText('Search the blueprints'),
        min_query_length: 0,
        initial_option: initial,
      }
    : {
        type: 'static_select' as const,
        action_id: START_FROM_ACTION_ID,
        options: startFromOptions(offer.blueprints),
        initial_option: initial,
      };
  const block: types.InputBlock = {
    type: 'input',
    block_id: START_FROM_BLOCK_ID,
    dispatch_action: true,
    label: plainText('Start from'),
    hint: plainText('A plain image, or one of the blueprints your organisation keeps in the Image Builder console.'),
    element,
  };
  return offer.note ? [block, context(offer.note)] : [block];
}

const context = (mrkdwn: string): types.ContextBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: shortenMarkup(mrkdwn, SECTION_TEXT_MAX) }],
});

/** The saved image types of the blueprint that build this cloud's image, as saved (the service matches verbatim). */
export function matchingImageTypes(
  detail: BlueprintDetail,
  provider: Pick<Provider, 'imageType' | 'imageTypeAliases'>,
) {
  return imageTypesBuilding(
    provider,
    detail.image_requests.map((r) => r.image_type),
  );
}

/**
 * Why the requester's targets cannot be used, if they cannot: the service never returns users' passwords, so a user
 * who logs in by password only would come out without a way in; image mode has no distribution to send.
 */
export function requesterTargetsRefusal(detail: BlueprintDetail): string | undefined {
  if (!detail.distribution) return 'it builds in image mode, which only its own share targets can build';
  const passwordOnly = detail.customizations.users.filter((user) => user.hasPassword && !user.ssh_key);
  if (passwordOnly.length === 0) return undefined;
  const names = listInWords(passwordOnly.map((user) => `\`${truncate(user.name, 40)}\``));
  return `${names} ${passwordOnly.length === 1 ? 'logs' : 'log'} in by password only, and Image Builder never gives passwords back, so a copy of the blueprint could not keep ${passwordOnly.length === 1 ? 'that login' : 'those logins'}`;
}

/** What the chosen blueprint brings, its lint, and the choice of share targets. */
export function chosenBlueprintBlocks(chosen: ChosenBlueprint, provider: Provider): types.KnownBlock[] {
  if ('reading' in chosen) return [context(`Reading *${escapeWithin(chosen.item.name, 200)}* from Image Builder…`)];
  if ('problem' in chosen) return [section(`:warning: ${chosen.problem}`)];
  const { item, detail } = chosen;
  const moved =
    chosen.rebuiltFrom !== undefined && chosen.rebuiltFrom !== item.version
      ? [`Rebuilt at its latest version: v${chosen.rebuiltFrom} → v${item.version}.`]
      : [];
  const blocks: types.KnownBlock[] = [section([...summaryLines(item, detail), ...moved].join('\n'))];
  const errors = detail.lint.errors.map((e) => `• *${escapeWithin(e.name, 100)}*: ${escapeWithin(e.description, 400)}`);
  if (errors.length > 0) {
    blocks.push(
      section(
        joinLines([':no_entry: *It cannot be built until this is fixed in the console:*', ...errors], SECTION_TEXT_MAX),
      ),
    );
  }
  const warnings = detail.lint.warnings.map(
    (w) => `:warning: ${escapeWithin(w.name, 100)}: ${escapeWithin(w.description, 300)}`,
  );
  if (warnings.length > 0) blocks.push(context(joinLines(warnings, SECTION_TEXT_MAX)));
  const targets = targetsBlock(detail, provider, chosen.targets);
  return targets ? [...blocks, ...targets] : blocks;
}

function summaryLines(item: BlueprintItem, detail: BlueprintDetail): string[] {
  const parsed = new Date(item.last_modified_at);
  const changed = Number.isNaN(parsed.getTime()) ? undefined : parsed;
  const c = detail.customizations;
  const packages = inlineCodeList(c.packages.slice(0, PACKAGES_SHOWN), 600);
  const more = c.packages.length > PACKAGES_SHOWN ? ` and ${c.packages.length - PACKAGES_SHOWN} more` : '';
  const users = c.users.map(
    (u) => `\`${escapeWithin(u.name, 40)}\`${u.ssh_key ? ' (SSH key)' : u.hasPassword ? ' (password)' : ''}`,
  );
  const openscap = c.openscap && openScapName(c.openscap);
  return [
    `*${escapeWithin(detail.name, 200)}*, version ${item.version}` +
      (changed ? `, last changed ${slackDate(changed, changed.toISOString().slice(0, 10))}` : ''),
    ...(detail.description ? [escapeWithin(detail.description, 500)] : []),
    `Distribution: ${detail.distribution ? `\`${escapeWithin(detail.distribution, 60)}\`` : 'image mode'}`,
    `Packages: ${c.packages.length === 0 ? 'none added' : `${c.packages.length} — ${packages ?? ''}${more}`}`,
    `Users: ${users.length === 0 ? 'none' : truncate(users.join(', '), 500)}`,
    `Registration: ${c.subscription ? `with Red Hat (organization ${c.subscription.organization})` : 'none'}`,
    ...(openscap ? [`OpenSCAP: ${escapeWithin(openscap, 200)}`] : []),
    ...(c.fips?.enabled ? ['FIPS mode: on'] : []),
  ];
}

function openScapName(openscap: NonNullable<BlueprintDetail['customizations']['openscap']>): string {
  if (!('profile_id' in openscap)) return 'a compliance policy';
  return openscap.profile_name ?? openscap.profile_id;
}

function targetsBlock(
  detail: BlueprintDetail,
  provider: Provider,
  targets: BlueprintTargets,
): types.KnownBlock[] | undefined {
  const own = matchingImageTypes(detail, provider).length > 0;
  const refusal = requesterTargetsRefusal(detail);
  const ownOption: types.PlainTextOption | undefined = own
    ? {
        text: plainText("The blueprint's own"),
        value: 'blueprint',
        description: plainText("As saved; the build stays in the blueprint's history."),
      }
    : undefined;
  const requesterOption: types.PlainTextOption | undefined = refusal
    ? undefined
    : {
        text: plainText('Mine, below'),
        value: 'requester',
        description: plainText("Shared as you say below; not in the blueprint's history."),
      };
  const options = [ownOption, requesterOption].filter((o): o is types.PlainTextOption => o !== undefined);
  const notes = [
    ...(own
      ? []
      : [
          `It has no image for ${provider.image.article} ${provider.image.one}, so it is built with your share targets.`,
        ]),
    ...(refusal ? [`Your own share targets cannot be used: ${refusal}.`] : []),
  ];
  if (options.length === 0) return [section(`:no_entry: It cannot be built here: ${refusal ?? 'no way to share it'}.`)];
  const initial = options.find((o) => o.value === targets) ?? options[0];
  const radios: types.InputBlock = {
    type: 'input',
    block_id: TARGETS_BLOCK_ID,
    dispatch_action: true,
    label: plainText('Share targets'),
    element: { type: 'radio_buttons', action_id: TARGETS_ACTION_ID, options, initial_option: initial },
  };
  return notes.length > 0 ? [radios, context(notes.join(' '))] : [radios];
}

const section = (mrkdwn: string): types.SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: shortenMarkup(mrkdwn, SECTION_TEXT_MAX) },
});
