import * as z from 'zod';
import { listInWords } from '../shared/text';
import { canonicalPrincipal } from '../providers/gcpPrincipals';
import { canonicalAwsAccountId, canonicalGuid, DOMAIN_ONLY } from '../shared/ids';

/*
 * The policy file's one schema: who may request images, who administers the bot, where images may be shared from
 * each channel, which blueprints each channel may build, and per-person limits. example-policy.yaml beside this file documents the format for people.
 *
 * The file is an export control, so anything that could be read two ways is refused instead of guessed at:
 * unknown keys (a typo such as `aws_acounts` must not silently leave AWS unrestricted), keys without a value
 * (`aws_accounts:` — meant "none" or "any"?), rules that restrict nothing and a `requesters` that names nobody.
 * Every problem names its place in the file, e.g. `sharing.C0789IJKL.aws_accounts[2]`, and what is wrong there.
 */

/** The key of the sharing rule for every channel that has none of its own. */
export const OTHER_CHANNELS = '*';

export interface Requesters {
  users: readonly string[];
  usergroups: readonly string[];
  /** Requests made in these channels are allowed, whoever makes them. */
  channels: readonly string[];
}

/** A cloud key a rule leaves out is not restricted by that rule; the "*" rule may still restrict it. */
export interface SharingRule {
  awsAccounts?: readonly string[];
  /** Lower case. */
  azureSubscriptions?: readonly string[];
  /** Present when the rule has gcp_principals or gcp_domains (at least one of the two is then present). */
  gcp?: {
    /** With the kind spelled as IAM spells it (serviceAccount:…), as the gcp provider writes them. */
    principals?: readonly string[];
    /** Lower case, e.g. example.com. */
    domains?: readonly string[];
  };
}

export interface PolicyLimits {
  inFlightPerUser?: number;
  perUserPerDay?: number;
}

/** `required`: a RHEL image must be registered; `forbidden`: it must not be. */
export type RegistrationRule = 'required' | 'forbidden';

/** A validated policy; absent parts allow everything they would otherwise restrict. */
export interface PolicyDocument {
  /** The file it was read from; absent for the open policy (no policy file). */
  source?: string;
  /** Absent: everyone may request images. */
  requesters?: Requesters;
  /** Empty: admin-only commands are refused. */
  admins: readonly string[];
  /** By channel id or "*". Absent: images may be shared anywhere. A Map, so no channel id can reach a prototype. */
  sharing?: ReadonlyMap<string, SharingRule>;
  /**
   * The blueprints each channel may build, by channel id or "*": names as written ("*" among them for all; empty for
   * none), compared case-insensitively. Absent: every blueprint may be built everywhere.
   */
  blueprints?: ReadonlyMap<string, readonly string[]>;
  limits: PolicyLimits;
  /**
   * Whether images of RHEL requested in each channel (by id or "*") must or must not be registered with Red Hat at
   * first boot. Absent, or no rule for a channel: the requester chooses.
   */
  registration?: ReadonlyMap<string, RegistrationRule>;
  /**
   * Slack workspaces (T…) or Enterprise Grid organisations (E…) other than the installing one whose people may use
   * the bot, e.g. through a Slack Connect channel. Absent or empty: only the installing workspace's people.
   */
  externalTeams?: readonly string[];
  /** Absent: nothing waits for approval; what the policy refuses is refused. */
  approvals?: ApprovalRules;
}

/** Who may approve a request that waits, where it waits, and which requests wait instead of being refused. */
export interface ApprovalRules {
  approvers: { users: readonly string[]; usergroups: readonly string[] };
  /** The channel the approvers are asked in. */
  channel: string;
  /** Channels whose every request waits for approval. */
  requiredIn: readonly string[];
  /** A share target the channel's sharing rule does not allow waits for approval instead of being refused. */
  outsideSharing: boolean;
  /** A request over the per-user limits waits for approval instead of being refused. */
  overLimits: boolean;
  /** A request nobody decided on within this many hours is dropped, and its requester told. */
  expireAfterHours: number;
}

/** How long a request waits for approval when the policy does not say. */
export const DEFAULT_APPROVAL_EXPIRY_HOURS = 72;

/** The YAML keys, for messages that name the rule that decided. */
export const POLICY_KEYS = {
  requesters: 'requesters',
  admins: 'admins',
  sharing: 'sharing',
  awsAccounts: 'aws_accounts',
  azureSubscriptions: 'azure_subscriptions',
  gcpPrincipals: 'gcp_principals',
  gcpDomains: 'gcp_domains',
  inFlightPerUser: 'in_flight_per_user',
  perUserPerDay: 'per_user_per_day',
  externalTeams: 'external_teams',
  blueprints: 'blueprints',
  registration: 'registration',
  approvals: 'approvals',
  approvers: 'approvers',
  requiredIn: 'required_in',
  outsideSharing: 'outside_sharing',
  overLimits: 'over_limits',
  expireAfterHours: 'expire_after_hours',
} as const;

/** In a channel's list of blueprints: every blueprint. */
export const ANY_BLUEPRINT = '*';

// ---------------------------------------------------------------------------------------------------------------
// Showing what the file says

const SHOWN_MAX = 40;
// Controls, lone surrogates, line separators and bidirectional overrides would make a message display as something else.
const INVISIBLE = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu;

/** A value from the file as a message repeats it: strings quoted, shortened and with invisible characters escaped. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const points = Array.from(value);
    const shown = points.length > SHOWN_MAX ? `${points.slice(0, SHOWN_MAX - 1).join('')}…` : value;
    return JSON.stringify(shown).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'empty';
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

/** `sharing.C0789IJKL.aws_accounts[2]`; keys that are not plain words are quoted: `sharing["#builds"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z0-9_*-]+$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${show(key)}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

type IssueInput = { input?: unknown };

/** A mapping with exactly these keys. Each unknown key becomes a problem of its own (see problemsOf). */
function mapping<Shape extends z.core.$ZodLooseShape>(shape: Shape, ifEmpty: string) {
  const keys = listInWords(Object.keys(shape), 'or');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; expected ${keys}`;
      return issue.input === null || issue.input === undefined
        ? ifEmpty
        : `must be a mapping with ${keys}; it is ${show(issue.input)}`;
    },
  });
}

/** A list of entries; `key:` with no value is refused, since it could mean "none" or "any". */
function list<Item extends z.ZodType>(item: Item, ifEmpty: string, example: string) {
  return z.array(item, {
    error: (issue: IssueInput) =>
      issue.input === null || issue.input === undefined
        ? ifEmpty
        : `must be a list such as [${example}]; it is ${show(issue.input)}`,
  });
}

/** A text entry matching `pattern`, or the message `problem(input)`. */
function text(pattern: RegExp, problem: (input: unknown) => string) {
  const error = (issue: IssueInput) => problem(issue.input);
  return z.string({ error }).regex(pattern, { error });
}

/** A text entry turned into its canonical form, or the message `problem(input)` when it has none. */
function canonical(read: (value: string) => string | undefined, problem: (input: unknown) => string) {
  return z.string({ error: (issue: IssueInput) => problem(issue.input) }).transform((value, context) => {
    const result = read(value);
    if (result === undefined) {
      context.addIssue({ code: 'custom', message: problem(value), input: value });
      return z.NEVER;
    }
    return result;
  });
}

/** "Names nobody"-style checks only make sense once the mapping itself is sound; otherwise they repeat its problems. */
const onlyIfValid = (payload: z.core.ParsePayload) => payload.issues.length === 0;

// Slack ids are upper-case letters and digits after a letter that gives their kind.
const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,30}$/;
const USERGROUP_ID = /^S[A-Z0-9]{2,30}$/;
const TEAM_ID = /^[TE][A-Z0-9]{2,30}$/;

const userIds = list(
  text(USER_ID, (v) => `${show(v)} is not a Slack user id (U… or W…, e.g. U0123ABCD)`),
  'has no value; write [] for nobody, or list Slack user ids such as U0123ABCD',
  'U0123ABCD',
);
const usergroupIds = list(
  text(USERGROUP_ID, (v) => `${show(v)} is not a Slack user group id (S…, e.g. S0456EFGH)`),
  'has no value; write [] for none, or list Slack user group ids such as S0456EFGH',
  'S0456EFGH',
);
const channelIds = list(
  text(CHANNEL_ID, (v) => `${show(v)} is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL)`),
  'has no value; write [] for none, or list Slack channel ids such as C0789IJKL',
  'C0789IJKL',
);
const teamIds = list(
  text(TEAM_ID, (v) => `${show(v)} is not a Slack workspace or organisation id (T… or E…, e.g. T0123ABCD)`),
  'has no value; write [] for none, or list Slack workspace ids such as T0123ABCD',
  'T0123ABCD',
);

// ---------------------------------------------------------------------------------------------------------------
// Sharing targets

function awsAccountProblem(input: unknown): string {
  const droppedZeros = typeof input === 'number' && Number.isSafeInteger(input) && input >= 0 && input < 1e11;
  const hint = droppedZeros ? ' (if it starts with 0, put it in quotes: YAML drops the leading zeros of a number)' : '';
  return `${show(input)} is not a 12-digit AWS account id${hint}`;
}

const awsAccount = z.preprocess(
  // Unquoted, YAML reads 123456789012 as a number; with exactly 12 digits nothing was lost.
  (value) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 1e11 && value < 1e12 ? String(value) : value,
  canonical(canonicalAwsAccountId, awsAccountProblem),
);

const azureSubscription = canonical(
  canonicalGuid,
  (v) => `${show(v)} is not an Azure subscription id (a GUID such as 4e5d8b2c-ab24-4413-90c5-612306e809e2)`,
);

const gcpPrincipal = canonical(
  canonicalPrincipal,
  (v) => `${show(v)} is not a Google principal (user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN)`,
);

const gcpDomain = canonical(
  (value) => (DOMAIN_ONLY.test(value) ? value.toLowerCase() : undefined),
  (v) =>
    typeof v === 'string' && /^domain:/i.test(v)
      ? `${show(v)} is not a domain; write it without "domain:", e.g. ${show(v.slice('domain:'.length))}`
      : `${show(v)} is not a domain such as example.com`,
);

const noneOrList = (what: string) => `has no value; write [] to allow no ${what} at all, or list the ones allowed`;

const sharingRule = mapping(
  {
    aws_accounts: list(awsAccount, noneOrList('AWS accounts'), '"123456789012"').optional(),
    azure_subscriptions: list(
      azureSubscription,
      noneOrList('Azure subscriptions'),
      '"4e5d8b2c-ab24-4413-90c5-612306e809e2"',
    ).optional(),
    gcp_principals: list(gcpPrincipal, noneOrList('Google principals'), '"group:platform@example.com"').optional(),
    gcp_domains: list(gcpDomain, noneOrList('Google domains'), '"example.com"').optional(),
  },
  'has no value; list aws_accounts, azure_subscriptions, gcp_principals or gcp_domains under it',
).refine((rule) => Object.keys(rule).length > 0, {
  when: onlyIfValid,
  error:
    'restricts nothing; list aws_accounts, azure_subscriptions, gcp_principals or gcp_domains (an empty list [] means nowhere)',
});

const sharingKeyProblem = (v: unknown) =>
  `${show(v)} is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "${OTHER_CHANNELS}" for every other channel`;
const sharingKey = text(/^(?:\*|[CGD][A-Z0-9]{2,30})$/, sharingKeyProblem);

const sharing = z
  .record(sharingKey, sharingRule, {
    error: (issue: IssueInput) =>
      issue.input === null || issue.input === undefined
        ? 'has no value; add a rule per channel, or remove sharing to allow sharing anywhere'
        : `must be a mapping from channel ids (or "${OTHER_CHANNELS}") to rules; it is ${show(issue.input)}`,
  })
  .refine((rules) => Object.keys(rules).length > 0, {
    when: onlyIfValid,
    error: 'names no channels; add a rule per channel, or remove sharing to allow sharing anywhere',
  });

// ---------------------------------------------------------------------------------------------------------------
// Blueprints

const blueprintName = z
  .string({ error: (issue: IssueInput) => `${show(issue.input)} is not a blueprint name; write the name as text` })
  .refine((name) => name.trim() !== '', { error: 'is blank; write a blueprint name, or "*" for every blueprint' });

const blueprintRule = list(
  blueprintName,
  `has no value; write [] to allow no blueprint at all, ["${ANY_BLUEPRINT}"] for every one, or list the names allowed`,
  '"rhel9-golden"',
);

const blueprints = z
  .record(sharingKey, blueprintRule, {
    error: (issue: IssueInput) =>
      issue.input === null || issue.input === undefined
        ? 'has no value; list blueprints per channel, or remove blueprints to let every blueprint be built everywhere'
        : `must be a mapping from channel ids (or "${OTHER_CHANNELS}") to lists of blueprint names; it is ${show(issue.input)}`,
  })
  .refine((rules) => Object.keys(rules).length > 0, {
    when: onlyIfValid,
    error:
      'names no channels; list blueprints per channel, or remove blueprints to let every blueprint be built everywhere',
  });

// ---------------------------------------------------------------------------------------------------------------
// Registration

const registrationRule = z.enum(['required', 'forbidden'], {
  error: (issue: IssueInput) =>
    issue.input === null || issue.input === undefined
      ? 'has no value; write required or forbidden, or remove the channel to let the requester choose'
      : `must be required or forbidden; it is ${show(issue.input)}`,
});

const registration = z
  .record(sharingKey, registrationRule, {
    error: (issue: IssueInput) =>
      issue.input === null || issue.input === undefined
        ? 'has no value; give required or forbidden per channel, or remove registration to let requesters choose'
        : `must be a mapping from channel ids (or "${OTHER_CHANNELS}") to required or forbidden; it is ${show(issue.input)}`,
  })
  .refine((rules) => Object.keys(rules).length > 0, {
    when: onlyIfValid,
    error: 'names no channels; give required or forbidden per channel, or remove registration to let requesters choose',
  });

// ---------------------------------------------------------------------------------------------------------------
// The file

const LIMIT_MAX = 100_000;
const limit = (() => {
  const error = (issue: IssueInput) =>
    `must be a whole number from 1 to ${LIMIT_MAX} (remove it for no limit); it is ${show(issue.input)}`;
  return z.int({ error }).min(1, { error }).max(LIMIT_MAX, { error });
})();

const requesters = mapping(
  { users: userIds.optional(), usergroups: usergroupIds.optional(), channels: channelIds.optional() },
  'has no value; list users, usergroups or channels under it, or remove requesters to let everyone request images',
).refine((r) => (r.users?.length ?? 0) + (r.usergroups?.length ?? 0) + (r.channels?.length ?? 0) > 0, {
  when: onlyIfValid,
  error:
    'names nobody, so nobody could request images; list users, usergroups or channels, or remove requesters to let everyone request',
});

// ---------------------------------------------------------------------------------------------------------------
// Approvals

const flag = z.boolean({
  error: (issue: IssueInput) => `must be true or false; it is ${show(issue.input)}`,
});

const EXPIRY_HOURS_MAX = 24 * 90;
const expiryHours = (() => {
  const error = (issue: IssueInput) =>
    `must be a whole number of hours from 1 to ${EXPIRY_HOURS_MAX} (remove it for ${DEFAULT_APPROVAL_EXPIRY_HOURS}); it is ${show(issue.input)}`;
  return z.int({ error }).min(1, { error }).max(EXPIRY_HOURS_MAX, { error });
})();

const approvers = mapping(
  { users: userIds.optional(), usergroups: usergroupIds.optional() },
  'has no value; list users or usergroups under it who may approve requests',
).refine((a) => (a.users?.length ?? 0) + (a.usergroups?.length ?? 0) > 0, {
  when: onlyIfValid,
  error: 'names nobody, so nothing could ever be approved; list users or usergroups',
});

const approvalChannel = text(
  /^[CG][A-Z0-9]{2,30}$/,
  (v) => `${show(v)} is not a Slack channel id (C… or G…, e.g. C0789IJKL) where approvers are asked`,
);

const approvals = mapping(
  {
    approvers,
    channel: approvalChannel,
    required_in: channelIds.optional(),
    outside_sharing: flag.optional(),
    over_limits: flag.optional(),
    expire_after_hours: expiryHours.optional(),
  },
  'has no value; give approvers and channel under it, or remove approvals',
).refine((a) => (a.required_in?.length ?? 0) > 0 || a.outside_sharing === true || a.over_limits === true, {
  when: onlyIfValid,
  error: 'makes nothing wait for approval; set required_in, outside_sharing: true or over_limits: true',
});

const policyFile = mapping(
  {
    requesters: requesters.optional(),
    admins: userIds.optional(),
    sharing: sharing.optional(),
    limits: mapping(
      { in_flight_per_user: limit.optional(), per_user_per_day: limit.optional() },
      'has no value; set in_flight_per_user or per_user_per_day under it, or remove limits',
    ).optional(),
    external_teams: teamIds.optional(),
    blueprints: blueprints.optional(),
    registration: registration.optional(),
    approvals: approvals.optional(),
  },
  'the file has no policy in it',
);

type PolicyFile = z.output<typeof policyFile>;
type SharingRuleFile = z.output<typeof sharingRule>;

function toSharingRule(rule: SharingRuleFile): SharingRule {
  const gcp = {
    ...(rule.gcp_principals ? { principals: rule.gcp_principals } : {}),
    ...(rule.gcp_domains ? { domains: rule.gcp_domains } : {}),
  };
  return {
    ...(rule.aws_accounts ? { awsAccounts: rule.aws_accounts } : {}),
    ...(rule.azure_subscriptions ? { azureSubscriptions: rule.azure_subscriptions } : {}),
    ...(gcp.principals || gcp.domains ? { gcp } : {}),
  };
}

function toDocument(file: PolicyFile): PolicyDocument {
  const limits: PolicyLimits = {
    ...(file.limits?.in_flight_per_user !== undefined ? { inFlightPerUser: file.limits.in_flight_per_user } : {}),
    ...(file.limits?.per_user_per_day !== undefined ? { perUserPerDay: file.limits.per_user_per_day } : {}),
  };
  return {
    ...(file.requesters
      ? {
          requesters: {
            users: file.requesters.users ?? [],
            usergroups: file.requesters.usergroups ?? [],
            channels: file.requesters.channels ?? [],
          },
        }
      : {}),
    admins: file.admins ?? [],
    ...(file.sharing
      ? { sharing: new Map(Object.entries(file.sharing).map(([channel, rule]) => [channel, toSharingRule(rule)])) }
      : {}),
    limits,
    ...(file.external_teams?.length ? { externalTeams: file.external_teams } : {}),
    ...(file.blueprints ? { blueprints: new Map(Object.entries(file.blueprints)) } : {}),
    ...(file.registration ? { registration: new Map(Object.entries(file.registration)) } : {}),
    ...(file.approvals ? { approvals: toApprovalRules(file.approvals) } : {}),
  };
}

function toApprovalRules(rules: NonNullable<PolicyFile['approvals']>): ApprovalRules {
  return {
    approvers: { users: rules.approvers.users ?? [], usergroups: rules.approvers.usergroups ?? [] },
    channel: rules.channel,
    requiredIn: rules.required_in ?? [],
    outsideSharing: rules.outside_sharing ?? false,
    overLimits: rules.over_limits ?? false,
    expireAfterHours: rules.expire_after_hours ?? DEFAULT_APPROVAL_EXPIRY_HOURS,
  };
}

/** One problem at one place in the file. */
export interface SchemaProblem {
  path: readonly PropertyKey[];
  message: string;
}

/** The file's content (as YAML parsed it) checked against the schema: the document, or every problem in it. */
export function parsePolicyContent(
  content: unknown,
): { ok: true; document: PolicyDocument } | { ok: false; problems: SchemaProblem[] } {
  const parsed = policyFile.safeParse(content);
  const problems = [...protoKeyProblems(content), ...(parsed.success ? [] : parsed.error.issues.flatMap(problemsOf))];
  if (parsed.success && problems.length === 0) return { ok: true, document: toDocument(parsed.data) };
  return { ok: false, problems };
}

/** zod drops a record's __proto__ key without a word; say so rather than ignore a rule someone wrote. */
function protoKeyProblems(content: unknown): SchemaProblem[] {
  if (typeof content !== 'object' || content === null) return [];
  return [POLICY_KEYS.sharing, POLICY_KEYS.blueprints, POLICY_KEYS.registration].flatMap((part) => {
    const rules = (content as Record<string, unknown>)[part];
    if (typeof rules !== 'object' || rules === null || !Object.hasOwn(rules, '__proto__')) return [];
    return [{ path: [part, '__proto__'], message: sharingKeyProblem('__proto__') }];
  });
}

function problemsOf(issue: z.core.$ZodIssue): SchemaProblem[] {
  switch (issue.code) {
    // One problem per unknown key, at the key itself, so its line can be shown.
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...issue.path, key], message: issue.message }));
    // A bad key of `sharing`: the key's own message says what it should be.
    case 'invalid_key':
      return [{ path: issue.path, message: issue.issues[0]?.message ?? issue.message }];
    default:
      return [{ path: issue.path, message: issue.message }];
  }
}
