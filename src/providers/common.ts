import { addDays } from 'date-fns/addDays';
import {
  architecturesBuilding,
  distributionBuilds,
  preferredDistribution,
  type ArchitecturesOf,
} from './distributions';
import {
  ARCHITECTURES,
  type Architecture,
  type ComposeCustomizations,
  type ComposeRequestBody,
  type FieldSpec,
  type FinishedCompose,
  type LaunchSettings,
  SHARE_SUMMARY_MAX_LENGTH,
  type Provider,
  type RawValues,
  type Registration,
  type ResultDescription,
  type SummaryItem,
  type Validation,
} from './types';
import { PACKAGES_FIELD_ID, readPackages } from './packages';
import { hasControlCharacter, listInWords, quoted, truncate, wholeItemsWithin } from '../shared/text';
import { loginCustomizations, validateLogin, type Login } from './login';
import {
  readRegistration,
  registrable,
  registrationCustomizations,
  registrationField,
  REGISTRATION_FIELD_ID,
  type RegistrationOffer,
} from './registration';

/*
 * What every provider shares: the fields of any compose (distribution, architecture, compose image name), the
 * compose request around a provider's upload request, and small helpers for reading input and results.
 */

export const COMMON_FIELD_IDS = {
  distribution: 'distribution',
  architecture: 'architecture',
  imageName: 'image_name',
} as const;

export const IMAGE_NAME_MAX_LENGTH = 100;
export const IMAGE_DESCRIPTION_MAX_LENGTH = 250;

// ---------------------------------------------------------------------------------------------------------------
// Reading raw values: in read.ts, which the parts of a compose (packages.ts) use too

import { readSingle, type Read } from './read';
export { readList, readSingle, type Read } from './read';

/** "shared with AWS accounts a, b, c", or with as many whole entries as fit and "and N more". */
export function shareSummaryOf(what: string, entries: readonly string[]): string {
  const render = (shown: readonly string[], more: number) =>
    `${what} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  return (
    wholeItemsWithin(entries, SHARE_SUMMARY_MAX_LENGTH, render) ??
    truncate(render(entries, 0), SHARE_SUMMARY_MAX_LENGTH)
  );
}

/** One message for the invalid entries of a list field, naming the first few. */
export function invalidEntriesMessage(
  invalid: readonly string[],
  what: { one: string; many: string },
  rule: string,
): string {
  const shown = invalid.slice(0, 3).map(quoted);
  const more = invalid.length > 3 ? ` (and ${invalid.length - 3} more)` : '';
  return invalid.length === 1
    ? `${shown[0]} is not ${what.one}: ${rule}`
    : `${listInWords(shown)}${more} are not ${what.many}: ${rule}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The fields every compose has

export interface DistributionChoice {
  name: string;
  description?: string;
}

export interface CommonContext {
  /** What GET /distributions offers this account. */
  distributions: readonly string[];
  /** What GET /architectures/{distribution} says, where known: a distribution that builds none of this image is refused. */
  architecturesOf?: ArchitecturesOf;
  /** What GET /architectures/{distribution} offers, when known; further narrows provider.architectures. */
  architectures?: readonly Architecture[];
  /** The bot has registration with Red Hat set up (IMAGE_REGISTRATION_*). */
  registrationConfigured?: boolean;
  /** Registered when the form says nothing of it (no box shown): as configured, unless the policy forbids it here. */
  registrationByDefault?: boolean;
}

export interface CommonSelection {
  distribution: string;
  architecture: Architecture;
  /** Top-level compose `image_name`: how the build is listed in the console. */
  imageName?: string;
  /** Register the instance with Red Hat at first boot (RHEL, with registration set up). */
  register?: true;
}

const SLACK_OPTION_TEXT_MAX = 75;
const ARCHITECTURE_LABELS: Record<Architecture, string> = { x86_64: 'x86_64 (Intel/AMD)', aarch64: 'aarch64 (Arm)' };

/**
 * Field specs for the shared fields, with the choices this account has right now: the distributions (newest first)
 * that can build this provider's image, as far as the service has said, and the architectures it builds that image
 * on for the distribution chosen (`chosenDistribution`, else the one preselected).
 */
export function commonFields(
  provider: Pick<Provider, 'architectures' | 'imageType' | 'imageTypeAliases'>,
  offered: {
    distributions: readonly DistributionChoice[];
    architectures?: readonly Architecture[];
    architecturesOf?: ArchitecturesOf;
    /** Registration is set up and not forbidden here: RHEL images get the "Register with Red Hat" box. */
    registration?: RegistrationOffer;
    /** The distribution the form shows chosen, when it is one of those offered. */
    chosenDistribution?: string;
  },
): FieldSpec[] {
  const distributions = offered.distributions.filter((d) =>
    distributionBuilds(provider, d.name, offered.architecturesOf),
  );
  const distribution = preferredDistribution(distributions);
  const shown = distributions.some((d) => d.name === offered.chosenDistribution)
    ? offered.chosenDistribution
    : distribution;
  const ofShown = shown ? architecturesBuilding(provider, offered.architecturesOf?.(shown)) : undefined;
  const architectures = buildableArchitectures(provider, offered.architectures ?? ofShown);
  const preselected = defaultArchitecture(architectures);
  return [
    {
      id: COMMON_FIELD_IDS.distribution,
      label: 'Distribution',
      kind: 'select',
      required: true,
      ...(distribution ? { default: distribution } : {}),
      options: distributions.map((d) => ({
        value: d.name,
        label: truncate(d.description ? `${d.description} (${d.name})` : d.name, SLACK_OPTION_TEXT_MAX),
      })),
      cli: { flag: 'distribution', description: 'distribution to build, e.g. rhel-9' },
    },
    {
      id: COMMON_FIELD_IDS.architecture,
      label: 'Architecture',
      kind: 'select',
      required: true,
      ...(preselected ? { default: preselected } : {}),
      options: architectures.map((a) => ({ value: a, label: ARCHITECTURE_LABELS[a] })),
      cli: { flag: 'arch', description: `CPU architecture: ${architectures.join(' or ')}` },
    },
    {
      id: COMMON_FIELD_IDS.imageName,
      label: 'Build name (optional)',
      hint: 'How this build is listed in the Image Builder console. Up to 100 characters.',
      kind: 'text',
      required: false,
      cli: { flag: 'image-name', description: 'name of the build in the Image Builder console' },
    },
    // Offered when some distribution here can register; the hint says it is for RHEL only.
    ...(offered.registration && distributions.some((d) => registrable(d.name))
      ? [registrationField(offered.registration)]
      : []),
  ];
}

const ARCHITECTURE_ALIASES: ReadonlyMap<string, Architecture> = new Map([
  ['x86_64', 'x86_64'],
  ['x86-64', 'x86_64'],
  ['amd64', 'x86_64'],
  ['x64', 'x86_64'],
  ['aarch64', 'aarch64'],
  ['arm64', 'aarch64'],
]);

function buildableArchitectures(provider: Pick<Provider, 'architectures'>, offered?: readonly Architecture[]) {
  return ARCHITECTURES.filter((a) => provider.architectures.includes(a) && (!offered || offered.includes(a)));
}

function defaultArchitecture(buildable: readonly Architecture[]): Architecture | undefined {
  return buildable.includes('x86_64') ? 'x86_64' : buildable[0];
}

export function validateCommon(
  provider: Pick<Provider, 'image' | 'architectures' | 'imageType' | 'imageTypeAliases'>,
  raw: RawValues,
  context: CommonContext,
): Validation<CommonSelection> {
  const distribution = readDistribution(raw, provider, context);
  const architecture = readArchitecture(raw, provider, offeredArchitectures(provider, context, distribution));
  const imageName = readImageName(raw);
  const configured = !!context.registrationConfigured;
  const register = readRegistration(
    raw,
    distribution.ok ? distribution.value : '',
    configured,
    context.registrationByDefault ?? configured,
  );
  if (distribution.ok && architecture.ok && imageName.ok && register.ok) {
    const value: CommonSelection = {
      distribution: distribution.value,
      architecture: architecture.value,
      ...(register.value ? { register: true as const } : {}),
    };
    return { ok: true, value: imageName.value === undefined ? value : { ...value, imageName: imageName.value } };
  }
  const errors: Record<string, string> = {};
  if (!distribution.ok) errors[COMMON_FIELD_IDS.distribution] = distribution.error;
  if (!architecture.ok) errors[COMMON_FIELD_IDS.architecture] = architecture.error;
  if (!imageName.ok) errors[COMMON_FIELD_IDS.imageName] = imageName.error;
  if (!register.ok) errors[REGISTRATION_FIELD_ID] = register.error;
  return { ok: false, errors };
}

const DISTRIBUTIONS_SHOWN = 8;

/**
 * The architectures offered for the chosen distribution: as the caller says, else those on which the service said
 * it builds this image of it (WSL of rhel-10 on x86_64 only), else, while that is not known, any.
 */
function offeredArchitectures(
  provider: Pick<Provider, 'architectures' | 'imageType' | 'imageTypeAliases'>,
  context: CommonContext,
  distribution: Read<string>,
): readonly Architecture[] | undefined {
  if (context.architectures || !distribution.ok) return context.architectures;
  return architecturesBuilding(provider, context.architecturesOf?.(distribution.value));
}

function readDistribution(
  raw: RawValues,
  provider: Pick<Provider, 'image' | 'architectures' | 'imageType' | 'imageTypeAliases'>,
  context: CommonContext,
): Read<string> {
  const read = readSingle(raw, COMMON_FIELD_IDS.distribution);
  if (!read.ok) return read;
  if (read.value === undefined) return { ok: false, error: 'Choose a distribution.' };
  const wanted = read.value.toLowerCase();
  const distribution = context.distributions.find((d) => d.toLowerCase() === wanted);
  const buildable = context.distributions.filter((d) => distributionBuilds(provider, d, context.architecturesOf));
  if (distribution && buildable.includes(distribution)) return { ok: true, value: distribution };
  if (context.distributions.length === 0)
    return { ok: false, error: 'Image Builder offers no distributions to this account right now.' };
  if (buildable.length === 0) {
    return {
      ok: false,
      error: `None of the distributions Image Builder offers this account builds ${provider.image.many} right now.`,
    };
  }
  if (distribution) {
    return {
      ok: false,
      error: `Image Builder cannot build ${provider.image.many} of ${distribution}. Choose one of ${offeredList(buildable)}.`,
    };
  }
  return {
    ok: false,
    error: `${quoted(read.value)} is not a distribution this account can build. Choose one of ${offeredList(buildable)}.`,
  };
}

function readArchitecture(
  raw: RawValues,
  provider: Pick<Provider, 'image' | 'architectures'>,
  offered: readonly Architecture[] | undefined,
): Read<Architecture> {
  const buildable = buildableArchitectures(provider, offered);
  const nothingBuildable = `Image Builder cannot build ${provider.image.many} for any architecture offered here.`;
  const read = readSingle(raw, COMMON_FIELD_IDS.architecture);
  if (!read.ok) return read;
  if (read.value === undefined) {
    const fallback = defaultArchitecture(buildable);
    return fallback ? { ok: true, value: fallback } : { ok: false, error: nothingBuildable };
  }
  const asked = ARCHITECTURE_ALIASES.get(read.value.toLowerCase());
  if (asked && buildable.includes(asked)) return { ok: true, value: asked };
  if (asked && provider.architectures.includes(asked)) {
    return {
      ok: false,
      error: buildable.length
        ? `${asked} is not offered for this distribution; choose ${listInWords(buildable, 'or')}.`
        : nothingBuildable,
    };
  }
  const choices = listInWords(buildable.length ? buildable : provider.architectures, 'or');
  return {
    ok: false,
    error: `${quoted(read.value)} is not an architecture ${provider.image.many} can be built for; choose ${choices}.`,
  };
}

function readImageName(raw: RawValues): Read<string | undefined> {
  const read = readSingle(raw, COMMON_FIELD_IDS.imageName);
  if (!read.ok || read.value === undefined) return read;
  if (hasControlCharacter(read.value)) {
    return { ok: false, error: 'The build name cannot contain line breaks, tabs or other control characters.' };
  }
  if (read.value.length > IMAGE_NAME_MAX_LENGTH) {
    return {
      ok: false,
      error: `The build name can be at most ${IMAGE_NAME_MAX_LENGTH} characters; this one has ${read.value.length}.`,
    };
  }
  return read;
}

function offeredList(distributions: readonly string[]): string {
  const shown = distributions.slice(0, DISTRIBUTIONS_SHOWN).join(', ');
  return distributions.length > DISTRIBUTIONS_SHOWN ? `${shown}, …` : shown;
}

export interface Order<Options> extends CommonSelection {
  options: Options;
  /** The user and SSH key the image lets in at first boot, when one was given. */
  login?: Login;
  /** Extra packages and groups to install, as typed (not yet looked up); empty for none. */
  packages: string[];
}

export interface OrderContext extends CommonContext {
  /** The requester's name (Slack's), made the login's user name when none is given. */
  requesterName?: string;
}

/** The shared fields, the provider's own, the login and the extras, with every field's message at once. */
export function validateOrder<Options>(
  provider: Provider<Options>,
  raw: RawValues,
  context: OrderContext,
): Validation<Order<Options>> {
  const common = validateCommon(provider, raw, context);
  const own = provider.validate(raw);
  const login = validateLogin(raw, context.requesterName);
  const packages = readPackages(raw);
  const unbuilt = common.ok && own.ok ? chosenImageTypeProblem(provider, common.value, own.value, context) : undefined;
  if (common.ok && own.ok && login.ok && packages.ok && !unbuilt) {
    const order = { ...common.value, options: own.value, packages: packages.value };
    return { ok: true, value: login.value ? { ...order, login: login.value } : order };
  }
  const failed = [common, own, login].flatMap((part) => (part.ok ? [] : [part.errors]));
  const packageError = packages.ok ? {} : { [PACKAGES_FIELD_ID]: packages.error };
  const unbuiltError = unbuilt ? { [COMMON_FIELD_IDS.distribution]: unbuilt } : {};
  return { ok: false, errors: Object.assign({}, ...failed, packageError, unbuiltError) as Record<string, string> };
}

/**
 * When a form choice picks the image type (vSphere's OVA or VMDK): why the service would not build that one of the
 * chosen distribution on the chosen architecture, as far as it has said (rhel-85 builds a VMDK but no OVA).
 */
function chosenImageTypeProblem<Options>(
  provider: Pick<Provider<Options>, 'imageTypeFor'>,
  selection: CommonSelection,
  options: Options,
  context: Pick<CommonContext, 'architecturesOf'>,
): string | undefined {
  const imageType = provider.imageTypeFor?.(options);
  const offered = context.architecturesOf?.(selection.distribution);
  if (imageType === undefined || offered === undefined) return undefined;
  const builds = offered.some((o) => o.arch === selection.architecture && o.image_types.includes(imageType));
  return builds
    ? undefined
    : `Image Builder does not build ${imageType} of ${selection.distribution} on ${selection.architecture}; ` +
        'choose another distribution or another image type.';
}

// ---------------------------------------------------------------------------------------------------------------
// The compose request

export interface ComposeRequestInput<Options> {
  provider: Pick<Provider<Options>, 'imageType' | 'imageTypeFor' | 'uploadRequest'>;
  distribution: string;
  architecture: Architecture;
  /** Already validated by validateCommon. */
  imageName?: string;
  /** Free text from the bot; shortened to the service's limit. */
  imageDescription?: string;
  options: Options;
  /** Already validated by validateOrder. */
  login?: Login;
  /** What the image registers with at first boot; absent, it is not registered. */
  registration?: Registration;
  /** Extra packages and groups, already validated (readPackages). */
  packages?: readonly string[];
}

/** `customizations`, each part (registration, login, packages) adding its own keys; undefined when there are none. */
function customizationsOf(
  input: Pick<ComposeRequestInput<unknown>, 'login' | 'registration' | 'packages'>,
): ComposeCustomizations | undefined {
  const customizations: ComposeCustomizations = {
    ...registrationCustomizations(input.registration),
    ...loginCustomizations(input.login),
    ...packagesPart(input.packages),
  };
  return Object.keys(customizations).length > 0 ? customizations : undefined;
}

/** Exactly the keys the service accepts for one image; it rejects unknown keys with 400. */
export function buildComposeRequest<Options>(input: ComposeRequestInput<Options>): ComposeRequestBody {
  const imageName = input.imageName?.trim();
  const description = input.imageDescription === undefined ? '' : cleanDescription(input.imageDescription);
  const customizations = customizationsOf(input);
  return {
    distribution: input.distribution,
    ...(imageName ? { image_name: imageName } : {}),
    ...(description ? { image_description: description } : {}),
    client_id: 'api',
    image_requests: [
      {
        architecture: input.architecture,
        image_type: input.provider.imageTypeFor?.(input.options) ?? input.provider.imageType,
        upload_request: input.provider.uploadRequest(input.options),
      },
    ],
    ...(customizations ? { customizations } : {}),
  };
}

function packagesPart(packages: readonly string[] | undefined): Pick<ComposeCustomizations, 'packages'> {
  return packages && packages.length > 0 ? { packages: [...packages] } : {};
}

const LINE_BREAKS_AND_CONTROLS = /[\p{Cc}\p{Zl}\p{Zp}]+/gu;
const LONE_SURROGATES = /\p{Cs}/gu;

function cleanDescription(text: string): string {
  const oneLine = text.replace(LONE_SURROGATES, '\uFFFD').replace(LINE_BREAKS_AND_CONTROLS, ' ').trim();
  return truncate(oneLine, IMAGE_DESCRIPTION_MAX_LENGTH);
}

// ---------------------------------------------------------------------------------------------------------------
// Describing results

/** A non-empty string option of an upload status, or undefined; results are read leniently. */
export function textOption(options: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined {
  const value = options?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A list-of-strings option (e.g. share_with_accounts echoed in the request), or an empty list. */
export function listOption(options: Readonly<Record<string, unknown>> | undefined, key: string): string[] {
  const value = options?.[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * A build's launch settings as its row keeps them (JSON text, see LaunchSettings), read leniently like the upload
 * options: anything but an object is no settings.
 */
export function readLaunchSettings(stored: string | null): LaunchSettings {
  if (!stored) return {};
  try {
    const settings: unknown = JSON.parse(stored);
    return typeof settings === 'object' && settings !== null && !Array.isArray(settings)
      ? (settings as LaunchSettings)
      : {};
  } catch {
    return {};
  }
}

/** Expiry counted from the compose's created_at when known, else from when we submitted it. */
export function expiryOf(
  compose: Pick<FinishedCompose, 'createdAt' | 'submittedAt'>,
  lifetimeDays: number | undefined,
): Pick<ResultDescription, 'expiresAt' | 'lifetimeDays'> {
  if (lifetimeDays === undefined) return {};
  return { expiresAt: addDays(compose.createdAt ?? compose.submittedAt, lifetimeDays), lifetimeDays };
}

/** The lines every result starts with. */
export function baseSummary(compose: FinishedCompose): SummaryItem[] {
  return [
    ...(compose.imageName ? [{ label: 'Build name', value: compose.imageName }] : []),
    { label: 'Distribution', value: compose.distribution },
    { label: 'Architecture', value: compose.architecture },
    ...(compose.registersAtFirstBoot
      ? [{ label: 'Registration', value: 'the instance registers itself with Red Hat at first boot (rhc, Insights)' }]
      : []),
  ];
}

/**
 * The words a generated resource name is made of — distribution, architecture and the first 8 characters of the
 * compose id — e.g. ['rhel-9', 'x86_64', '1a2b3c4d']. Each target's CLI has its own rules, so callers sanitise.
 */
export function nameWords(compose: Pick<FinishedCompose, 'distribution' | 'architecture' | 'composeId'>): string[] {
  const shortId = compose.composeId
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8)
    .toLowerCase();
  return [compose.distribution, compose.architecture, shortId].filter((w) => w !== '');
}

/**
 * Joins words with '-', replacing every character `allowed` (a non-global pattern for one character) does not match
 * with '-', collapsing runs of '-' and
 * trimming them from both ends, within `maxLength`.
 */
export function slug(words: readonly string[], allowed: RegExp, maxLength: number): string {
  const replaced = Array.from(words.join('-'), (c) => (allowed.test(c) ? c : '-')).join('');
  const collapsed = replaced.replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
  return collapsed.slice(0, maxLength).replace(/-+$/, '');
}
