import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { listInWords, quoted } from '../shared/text';
import type { ShareTarget } from '../providers/types';
import {
  ANY_BLUEPRINT,
  type ApprovalRules,
  OTHER_CHANNELS,
  POLICY_KEYS,
  type PolicyDocument,
  type RegistrationRule,
  type SharingRule,
} from './schema';

/*
 * The policy as the app asks it questions: may this person request an image here, is this person an admin, may an
 * image requested here be handed to these accounts, and is this person over a limit. Every refusal is a sentence
 * for the person refused that names the rule in the policy file that decided, so they know whom to ask.
 *
 * Sharing is decided per cloud: a channel's rule decides the clouds it names; every other cloud falls to the "*"
 * rule; a cloud neither names is not restricted. So a channel rule can only widen or narrow the clouds it names and
 * can never silently lift a restriction "*" places on another cloud.
 *
 * Blueprints are decided per channel: a channel's own rule, else the "*" rule, else every blueprint may be built.
 *
 * User group membership comes from Slack and is cached; when it cannot be read the request is refused (fail
 * closed) rather than allowed on stale or missing data.
 */

export type Decision = { allowed: true } | { allowed: false; reason: string };

export interface PolicyDependencies {
  /** The user ids in a Slack user group (usergroups.users.list); rejects when Slack cannot say. */
  usergroupMembers(groupId: string): Promise<readonly string[]>;
  clock: Clock;
  logger: Logger;
  /** How long a user group's members are trusted before they are read again. */
  cacheMs?: number;
}

export interface RequestCounts {
  /** The person's builds not yet finished. */
  inFlight: number;
  /** The person's requests since `dayStart()`. */
  today: number;
}

export interface Policy {
  /** The policy file, or undefined for the open policy. */
  readonly source: string | undefined;
  /** True when deciding who may request needs Slack user groups, i.e. the usergroups:read scope. */
  readonly usergroupsInUse: boolean;
  /** True when the policy names at least one admin. */
  readonly adminConfigured: boolean;
  mayRequest(userId: string, channelId: string | null): Promise<Decision>;
  isAdmin(userId: string): boolean;
  /** isAdmin with the sentence to show when not, e.g. that admins must first be named in a policy file. */
  mayAdminister(userId: string): Decision;
  /** One message per field id naming the rule and what it allows; undefined when every target is allowed. */
  checkShareTargets(channelId: string | null, targets: readonly ShareTarget[]): Record<string, string> | undefined;
  checkLimits(userId: string, counts: RequestCounts): Decision;
  /** Whether the blueprint of this name may be built from this channel (null: outside any channel). */
  mayBuildBlueprint(channelId: string | null, blueprintName: string): Decision;
  /** Of `blueprints`, those this channel may build, in the order given. */
  buildableBlueprints<T extends { name: string }>(channelId: string | null, blueprints: readonly T[]): T[];
  /** Start of the window `today` counts over: the last 24 hours, so no time zone has to be chosen. */
  dayStart(): Date;
  /** Whether an image of this channel may be registered (or left unregistered) as asked; see RegistrationAsked. */
  checkRegistration(channelId: string | null, asked: RegistrationAsked): Decision;
  /** The registration rule of this channel (its own, else "*"), for the form's box; undefined where none applies. */
  registrationRule(channelId: string | null): RegistrationRule | undefined;
  /** The approval rules put to work; undefined when the policy has no approvals part (nothing ever waits). */
  readonly approvals: ApprovalPolicy | undefined;
}

/** What the policy says about requests that wait for a person's yes. */
export interface ApprovalPolicy {
  /** The channel approvers are asked in. */
  readonly channel: string;
  /** How long a request waits before it is dropped. */
  readonly expireAfterMs: number;
  /** Who may approve, in words with Slack mentions: "<@U1> or members of <!subteam^S1>". */
  readonly approvers: string;
  /** Whether a share target the channel's rule refuses waits instead; `overLimits` likewise for the limits. */
  readonly outsideSharing: boolean;
  readonly overLimits: boolean;
  /** Why every request made here waits (policy approvals.required_in), or undefined when it need not. */
  requiredHere(channelId: string | null): string | undefined;
  /** Whether this person may approve requests; a group that cannot be read refuses (fail closed). */
  mayApprove(userId: string): Promise<Decision>;
}

/** What a request says about registration with Red Hat. */
export interface RegistrationAsked {
  /** Its distribution can be registered (RHEL); the rule says nothing about the others. */
  registrable: boolean;
  /** It is to be registered. */
  register: boolean;
  /** The bot has registration set up, so registering was possible. */
  configured: boolean;
}

export const DEFAULT_USERGROUP_CACHE_MS = 10 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How many allowed values or people a message lists before it says "and N more". */
const LISTED_MAX = 8;

const ALLOWED: Decision = Object.freeze({ allowed: true });
const refuse = (reason: string): Decision => ({ allowed: false, reason });

export function createPolicy(document: PolicyDocument, deps: PolicyDependencies): Policy {
  const usergroups = createUsergroupCache(deps);
  const requesters = document.requesters;
  const admins = new Set(document.admins);

  return {
    source: document.source,
    usergroupsInUse: (requesters?.usergroups.length ?? 0) > 0,
    adminConfigured: admins.size > 0,

    async mayRequest(userId, channelId) {
      if (!requesters) return ALLOWED;
      if (requesters.users.includes(userId)) return ALLOWED;
      if (channelId !== null && requesters.channels.includes(channelId)) return ALLOWED;
      const lookups = await Promise.all(requesters.usergroups.map((group) => usergroups.membersOf(group)));
      if (lookups.some((lookup) => lookup.ok && lookup.members.has(userId))) return ALLOWED;
      const unreadable = requesters.usergroups.filter((_group, i) => !lookups[i]?.ok);
      if (unreadable.length > 0) {
        return refuse(
          `I could not check whether you may request images: the members of ${listInWords(unreadable.map(usergroupMention), 'and')} ` +
            'could not be read from Slack. Please try again in a few minutes.',
        );
      }
      return refuse(`Only ${describeRequesters(requesters)} may request images (policy ${POLICY_KEYS.requesters}).`);
    },

    isAdmin: (userId) => admins.has(userId),

    mayAdminister(userId) {
      if (admins.has(userId)) return ALLOWED;
      if (admins.size === 0) {
        return refuse(
          document.source === undefined
            ? 'Admin commands are off because no admins are named: list them under admins in a policy file and set POLICY_FILE to it.'
            : `Admin commands are off because the policy file names no admins (policy ${POLICY_KEYS.admins}).`,
        );
      }
      return refuse(
        `Only ${listed(document.admins.map(userMention), 'or')} may do this (policy ${POLICY_KEYS.admins}).`,
      );
    },

    checkShareTargets(channelId, targets) {
      if (!document.sharing) return undefined;
      const problems: Record<string, string> = {};
      for (const [fieldId, fieldTargets] of groupByField(targets)) {
        const message = refusedTargets(document.sharing, channelId, fieldTargets);
        if (message) problems[fieldId] = message;
      }
      return Object.keys(problems).length > 0 ? problems : undefined;
    },

    checkLimits(_userId, counts) {
      const { inFlightPerUser, perUserPerDay } = document.limits;
      if (inFlightPerUser !== undefined && counts.inFlight >= inFlightPerUser) {
        return refuse(
          `You already have ${counts.inFlight} ${counts.inFlight === 1 ? 'build' : 'builds'} in progress, and one person may have at most ` +
            `${inFlightPerUser} at a time (policy limits.${POLICY_KEYS.inFlightPerUser}). Try again when one finishes.`,
        );
      }
      if (perUserPerDay !== undefined && counts.today >= perUserPerDay) {
        return refuse(
          `You have requested ${counts.today} ${counts.today === 1 ? 'image' : 'images'} in the last 24 hours, and one person may request ` +
            `at most ${perUserPerDay} a day (policy limits.${POLICY_KEYS.perUserPerDay}). Try again later.`,
        );
      }
      return ALLOWED;
    },

    mayBuildBlueprint: (channelId, blueprintName) => blueprintDecision(document.blueprints, channelId, blueprintName),

    buildableBlueprints(channelId, blueprints) {
      const decided = blueprintRuleFor(document.blueprints, channelId);
      return decided ? blueprints.filter((b) => allowsBlueprint(decided.names, b.name)) : [...blueprints];
    },

    dayStart: () => new Date(deps.clock.now().getTime() - DAY_MS),

    checkRegistration: (channelId, asked) => registrationDecision(document.registration, channelId, asked),
    registrationRule: (channelId) => registrationRuleFor(document.registration, channelId)?.rule,

    approvals: document.approvals && createApprovalPolicy(document.approvals, usergroups),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Approvals

const HOUR_MS = 60 * 60 * 1000;

function createApprovalPolicy(rules: ApprovalRules, usergroups: UsergroupCache): ApprovalPolicy {
  const { users, usergroups: groups } = rules.approvers;
  const approvers = listInWords(
    [
      ...(users.length > 0 ? [listed(users.map(userMention), 'or')] : []),
      ...(groups.length > 0 ? [`members of ${listed(groups.map(usergroupMention), 'or')}`] : []),
    ],
    'or',
  );
  const at = `policy ${POLICY_KEYS.approvals}`;
  return {
    channel: rules.channel,
    expireAfterMs: rules.expireAfterHours * HOUR_MS,
    approvers,
    outsideSharing: rules.outsideSharing,
    overLimits: rules.overLimits,
    requiredHere: (channelId) =>
      channelId !== null && rules.requiredIn.includes(channelId)
        ? `Every request made in ${channelMention(channelId)} needs approval (${at}.${POLICY_KEYS.requiredIn}).`
        : undefined,
    async mayApprove(userId) {
      if (users.includes(userId)) return ALLOWED;
      const lookups = await Promise.all(groups.map((group) => usergroups.membersOf(group)));
      if (lookups.some((lookup) => lookup.ok && lookup.members.has(userId))) return ALLOWED;
      if (lookups.some((lookup) => !lookup.ok)) {
        return refuse('I could not check whether you may approve requests: a user group could not be read from Slack.');
      }
      return refuse(`Only ${approvers} may approve requests (${at}.${POLICY_KEYS.approvers}).`);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Who may request

const userMention = (id: string) => `<@${id}>`;
const usergroupMention = (id: string) => `<!subteam^${id}>`;
const channelMention = (id: string) => `<#${id}>`;

/** "<@U1>, members of <!subteam^S1> or people asking in <#C1>". */
function describeRequesters(requesters: NonNullable<PolicyDocument['requesters']>): string {
  const parts = [
    ...(requesters.users.length > 0 ? [listed(requesters.users.map(userMention), 'and')] : []),
    ...(requesters.usergroups.length > 0
      ? [`members of ${listed(requesters.usergroups.map(usergroupMention), 'or')}`]
      : []),
    ...(requesters.channels.length > 0
      ? [`people asking in ${listed(requesters.channels.map(channelMention), 'or')}`]
      : []),
  ];
  return listInWords(parts, 'or');
}

/** Up to LISTED_MAX items in words, then "and N more". */
function listed(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= LISTED_MAX) return listInWords(items, conjunction);
  return `${items.slice(0, LISTED_MAX).join(', ')} ${conjunction} ${items.length - LISTED_MAX} more`;
}

interface UsergroupCache {
  membersOf(groupId: string): Promise<{ ok: true; members: ReadonlySet<string> } | { ok: false }>;
}

/**
 * Members per group, trusted for cacheMs. Callers that arrive while a read is under way share it, so a burst of
 * requests is one Slack call. A failed read is not remembered: the next request tries again. It is logged when a
 * group starts failing and when it recovers, not on every refused request.
 */
function createUsergroupCache(deps: PolicyDependencies): UsergroupCache {
  const cacheMs = deps.cacheMs ?? DEFAULT_USERGROUP_CACHE_MS;
  const fresh = new Map<string, { members: ReadonlySet<string>; readAt: number }>();
  const reading = new Map<string, ReturnType<UsergroupCache['membersOf']>>();
  const failing = new Set<string>();

  async function read(groupId: string): ReturnType<UsergroupCache['membersOf']> {
    try {
      const members = new Set(await deps.usergroupMembers(groupId));
      fresh.set(groupId, { members, readAt: deps.clock.now().getTime() });
      if (failing.delete(groupId)) deps.logger.info({ usergroup: groupId }, 'user group members can be read again');
      return { ok: true, members };
    } catch (error) {
      if (!failing.has(groupId)) {
        failing.add(groupId);
        deps.logger.warn(
          { err: error, usergroup: groupId },
          'could not read user group members; refusing requests that depend on them',
        );
      }
      return { ok: false };
    }
  }

  return {
    membersOf(groupId) {
      const cached = fresh.get(groupId);
      const age = cached ? deps.clock.now().getTime() - cached.readAt : Infinity;
      if (cached && age >= 0 && age < cacheMs) return Promise.resolve({ ok: true, members: cached.members });
      const pending = reading.get(groupId);
      if (pending) return pending;
      const started = read(groupId).finally(() => reading.delete(groupId));
      reading.set(groupId, started);
      return started;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Where images may be shared

type Cloud = 'aws' | 'azure' | 'gcp';

const CLOUD_OF: Record<ShareTarget['kind'], Cloud> = {
  'aws-account': 'aws',
  'azure-subscription': 'azure',
  'gcp-principal': 'gcp',
};

function groupByField(targets: readonly ShareTarget[]): Map<string, ShareTarget[]> {
  const byField = new Map<string, ShareTarget[]>();
  for (const target of targets) byField.set(target.fieldId, [...(byField.get(target.fieldId) ?? []), target]);
  return byField;
}

/** The rule that decides `cloud` for a channel: its own if it names the cloud, else "*" if that does, else none. */
function decidingRule(sharing: ReadonlyMap<string, SharingRule>, channelId: string | null, cloud: Cloud) {
  const names = (rule: SharingRule | undefined): rule is SharingRule =>
    rule !== undefined &&
    (cloud === 'aws' ? !!rule.awsAccounts : cloud === 'azure' ? !!rule.azureSubscriptions : !!rule.gcp);
  const own = channelId === null || channelId === OTHER_CHANNELS ? undefined : sharing.get(channelId);
  if (names(own)) return { key: channelId as string, rule: own };
  const fallback = sharing.get(OTHER_CHANNELS);
  return names(fallback) ? { key: OTHER_CHANNELS, rule: fallback } : undefined;
}

/** The message for one field's refused targets, or undefined when all are allowed. */
function refusedTargets(
  sharing: ReadonlyMap<string, SharingRule>,
  channelId: string | null,
  targets: readonly ShareTarget[],
): string | undefined {
  const messages: string[] = [];
  for (const cloud of ['aws', 'azure', 'gcp'] as const) {
    const values = targets.filter((t) => CLOUD_OF[t.kind] === cloud).map((t) => t.value);
    if (values.length === 0) continue;
    const decided = decidingRule(sharing, channelId, cloud);
    if (!decided) continue;
    const message = cloudMessage(cloud, decided.key, decided.rule, values);
    if (message) messages.push(message);
  }
  return messages.length > 0 ? messages.join(' ') : undefined;
}

function cloudMessage(
  cloud: Cloud,
  channelKey: string,
  rule: SharingRule,
  values: readonly string[],
): string | undefined {
  const at = `${POLICY_KEYS.sharing}.${channelKey}`;
  if (cloud === 'gcp') {
    const gcp = rule.gcp!;
    const refused = values.filter((principal) => !gcpAllows(gcp, principal));
    if (refused.length === 0) return undefined;
    const keys = [
      ...(gcp.principals ? [POLICY_KEYS.gcpPrincipals] : []),
      ...(gcp.domains ? [POLICY_KEYS.gcpDomains] : []),
    ];
    const principals = gcp.principals ?? [];
    const domains = gcp.domains ?? [];
    const allowed = [
      ...(principals.length > 0 ? [`Google principals ${listed(principals, 'and')}`] : []),
      ...(domains.length > 0 ? [`accounts in ${listed(domains, 'or')}`] : []),
    ];
    return refusal({
      noun: 'Google principal',
      allowed: listInWords(allowed, 'or'),
      rule: keys.map((k) => `${at}.${k}`).join(' and '),
      refused,
    });
  }
  const [allowedValues, noun, key] =
    cloud === 'aws'
      ? [rule.awsAccounts!, 'AWS account', POLICY_KEYS.awsAccounts]
      : [rule.azureSubscriptions!, 'Azure subscription', POLICY_KEYS.azureSubscriptions];
  // Both sides are canonical already (12 digits; lower-case GUIDs); lower-casing guards a caller that skipped validation.
  const refused = values.filter((value) => !allowedValues.includes(value.toLowerCase()));
  if (refused.length === 0) return undefined;
  const allowed = allowedValues.length > 0 ? `${noun}s ${listed(allowedValues, 'and')}` : '';
  return refusal({ noun, allowed, rule: `${at}.${key}`, refused });
}

/** "… may only be shared with AWS accounts 1 and 2 (policy sharing.C1.aws_accounts); 3 is not one of them." */
function refusal(what: { noun: string; allowed: string; rule: string; refused: readonly string[] }): string {
  if (what.allowed === '')
    return `Images requested here may not be shared with any ${what.noun} (policy ${what.rule}).`;
  const refused = listed(what.refused, 'and');
  const verdict = what.refused.length === 1 ? `${refused} is not one of them` : `${refused} are not among them`;
  return `Images requested here may only be shared with ${what.allowed} (policy ${what.rule}); ${verdict}.`;
}

/**
 * A principal is allowed when the rule lists it (IAM compares e-mail addresses without regard to case), or when it
 * is in a listed domain: user:/group:/serviceAccount: addresses whose domain is exactly that domain, and
 * domain:that-domain itself. Subdomains are other domains; list them separately.
 */
function gcpAllows(rule: NonNullable<SharingRule['gcp']>, principal: string): boolean {
  const wanted = principal.toLowerCase();
  if ((rule.principals ?? []).some((p) => p.toLowerCase() === wanted)) return true;
  const colon = wanted.indexOf(':');
  const kind = wanted.slice(0, colon);
  const value = wanted.slice(colon + 1);
  const domain = kind === 'domain' ? value : value.slice(value.lastIndexOf('@') + 1);
  return (kind === 'domain' || value.includes('@')) && (rule.domains ?? []).includes(domain);
}

// ---------------------------------------------------------------------------------------------------------------
// Which blueprints may be built

// As the blueprint catalog matches names: the service keeps them as typed, people type them in any case.
const foldName = (name: string) => name.trim().toLowerCase();

/** The rule that decides a channel's blueprints: its own, else "*"; undefined when neither exists (any blueprint). */
function blueprintRuleFor(rules: PolicyDocument['blueprints'], channelId: string | null) {
  if (!rules) return undefined;
  const own = channelId === null || channelId === OTHER_CHANNELS ? undefined : rules.get(channelId);
  if (own) return { key: channelId as string, names: own };
  const fallback = rules.get(OTHER_CHANNELS);
  return fallback ? { key: OTHER_CHANNELS, names: fallback } : undefined;
}

function allowsBlueprint(names: readonly string[], name: string): boolean {
  const wanted = foldName(name);
  return names.some((allowed) => allowed === ANY_BLUEPRINT || foldName(allowed) === wanted);
}

/**
 * A name from the service or the policy file in a reason, which is shown both as mrkdwn and as plain text: quoted,
 * and with angle brackets that could make a mention or a link in mrkdwn swapped for look-alikes.
 */
const blueprintShown = (name: string) => quoted(name).replace(/</g, '‹').replace(/>/g, '›');

/** Where a request was made, in words: a channel as Slack shows it, a DM or no channel at all. */
function placeInWords(channelId: string | null): string {
  if (channelId === null) return 'outside a channel';
  return channelId.startsWith('D') ? 'in a direct message' : `in ${channelMention(channelId)}`;
}

function blueprintDecision(rules: PolicyDocument['blueprints'], channelId: string | null, name: string): Decision {
  const decided = blueprintRuleFor(rules, channelId);
  if (!decided || allowsBlueprint(decided.names, name)) return ALLOWED;
  const rule = `policy ${POLICY_KEYS.blueprints}.${decided.key}`;
  const place = placeInWords(channelId);
  if (decided.names.length === 0) {
    return refuse(`No blueprint may be built ${place} (${rule}), so ${blueprintShown(name)} may not either.`);
  }
  return refuse(
    `The blueprint ${blueprintShown(name)} may not be built ${place} (${rule}); ` +
      `the ones allowed there are ${listed(decided.names.map(blueprintShown), 'and')}.`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Registration with Red Hat

/** The rule that decides a channel's registration: its own, else "*"; undefined when neither exists. */
function registrationRuleFor(rules: PolicyDocument['registration'], channelId: string | null) {
  if (!rules) return undefined;
  const own = channelId === null || channelId === OTHER_CHANNELS ? undefined : rules.get(channelId);
  if (own) return { key: channelId as string, rule: own };
  const fallback = rules.get(OTHER_CHANNELS);
  return fallback ? { key: OTHER_CHANNELS, rule: fallback } : undefined;
}

function registrationDecision(
  rules: PolicyDocument['registration'],
  channelId: string | null,
  asked: RegistrationAsked,
): Decision {
  const decided = registrationRuleFor(rules, channelId);
  if (!decided || !asked.registrable) return ALLOWED;
  const rule: RegistrationRule = decided.rule;
  const at = `policy ${POLICY_KEYS.registration}.${decided.key}`;
  const place = placeInWords(channelId);
  if (rule === 'forbidden' && asked.register) {
    return refuse(`RHEL images requested ${place} may not be registered with Red Hat (${at}); untick the box.`);
  }
  if (rule === 'required' && !asked.register) {
    return refuse(
      asked.configured
        ? `RHEL images requested ${place} must be registered with Red Hat (${at}); tick the box.`
        : `RHEL images requested ${place} must be registered with Red Hat (${at}), and this bot has no registration ` +
            'set up; ask whoever runs it.',
    );
  }
  return ALLOWED;
}
