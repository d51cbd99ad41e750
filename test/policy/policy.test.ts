import { createLogger } from '../../src/platform/logger';
import { createPolicy, OPEN_POLICY, parsePolicy, type Policy, type PolicyDependencies } from '../../src/policy';
import type { ShareTarget } from '../../src/providers/types';

const ALICE = 'U0000ALICE';
const BOB = 'U00000BOB';
const CAROL = 'W000CAROL';
const PLATFORM = 'S0PLATFORM';
const RELEASE = 'S00RELEASE';
const BUILDS = 'C00BUILDS';
const RANDOM = 'C00RANDOM';

function fakeClock(start = '2025-03-01T10:00:00Z') {
  let now = new Date(start).getTime();
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

/** Log lines as objects, to count what was logged. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    secrets: [],
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

function policyFrom(yaml: string | undefined, overrides: Partial<PolicyDependencies> = {}): Policy {
  const document = yaml === undefined ? OPEN_POLICY : parsePolicy(yaml, 'policy.yaml');
  return createPolicy(document, {
    usergroupMembers: async () => [],
    clock: fakeClock(),
    logger: recordingLogger().logger,
    ...overrides,
  });
}

const aws = (...accounts: string[]): ShareTarget[] =>
  accounts.map((value) => ({ kind: 'aws-account', value, fieldId: 'share_with_accounts' }));
const gcp = (...principals: string[]): ShareTarget[] =>
  principals.map((value) => ({ kind: 'gcp-principal', value, fieldId: 'share_with' }));
const azure = (value: string): ShareTarget[] => [{ kind: 'azure-subscription', value, fieldId: 'subscription_id' }];

describe('the open policy (no POLICY_FILE)', () => {
  const policy = policyFrom(undefined);

  it('lets everyone request images, anywhere, shared with anyone, without limits', async () => {
    await expect(policy.mayRequest(ALICE, RANDOM)).resolves.toEqual({ allowed: true });
    await expect(policy.mayRequest(ALICE, null)).resolves.toEqual({ allowed: true });
    expect(
      policy.checkShareTargets(RANDOM, [...aws('999999999999'), ...gcp('domain:anywhere.example')]),
    ).toBeUndefined();
    expect(policy.checkLimits(ALICE, { inFlight: 1000, today: 1000 })).toEqual({ allowed: true });
    expect(policy.usergroupsInUse).toBe(false);
    expect(policy.source).toBeUndefined();
  });

  it('has no admins, and says how to name them', () => {
    expect(policy.adminConfigured).toBe(false);
    expect(policy.isAdmin(ALICE)).toBe(false);
    expect(policy.mayAdminister(ALICE)).toEqual({
      allowed: false,
      reason:
        'Admin commands are off because no admins are named: list them under admins in a policy file and set POLICY_FILE to it.',
    });
  });
});

describe('who may request images', () => {
  const yaml = `requesters:\n  users: [${ALICE}]\n  usergroups: [${PLATFORM}]\n  channels: [${BUILDS}]\n`;

  it('allows a listed person anywhere, without asking Slack about groups', async () => {
    const usergroupMembers = jest.fn(async () => [BOB]);
    const policy = policyFrom(yaml, { usergroupMembers });
    await expect(policy.mayRequest(ALICE, RANDOM)).resolves.toEqual({ allowed: true });
    await expect(policy.mayRequest(ALICE, null)).resolves.toEqual({ allowed: true });
    expect(usergroupMembers).not.toHaveBeenCalled();
  });

  it('allows anyone asking in a listed channel, but not the same person elsewhere', async () => {
    const policy = policyFrom(yaml);
    await expect(policy.mayRequest(CAROL, BUILDS)).resolves.toEqual({ allowed: true });
    await expect(policy.mayRequest(CAROL, RANDOM)).resolves.toMatchObject({ allowed: false });
    await expect(policy.mayRequest(CAROL, null)).resolves.toMatchObject({ allowed: false });
  });

  it('allows members of a listed user group', async () => {
    const policy = policyFrom(yaml, { usergroupMembers: async (group) => (group === PLATFORM ? [BOB] : []) });
    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toEqual({ allowed: true });
    expect(policy.usergroupsInUse).toBe(true);
  });

  it('tells anyone else who may, naming the rule', async () => {
    const policy = policyFrom(yaml);
    await expect(policy.mayRequest(CAROL, RANDOM)).resolves.toEqual({
      allowed: false,
      reason: `Only <@${ALICE}>, members of <!subteam^${PLATFORM}> or people asking in <#${BUILDS}> may request images (policy requesters).`,
    });
  });

  it.each([
    [
      `requesters:\n  usergroups: [${PLATFORM}, ${RELEASE}]\n`,
      `Only members of <!subteam^${PLATFORM}> or <!subteam^${RELEASE}> may request images (policy requesters).`,
    ],
    [
      `requesters:\n  users: [${ALICE}, ${BOB}]\n`,
      `Only <@${ALICE}> and <@${BOB}> may request images (policy requesters).`,
    ],
    [
      `requesters:\n  channels: [${BUILDS}]\n`,
      `Only people asking in <#${BUILDS}> may request images (policy requesters).`,
    ],
  ])('names only the kinds the rule lists', async (rule, reason) => {
    await expect(policyFrom(rule).mayRequest(CAROL, RANDOM)).resolves.toEqual({ allowed: false, reason });
  });

  it('does not need user groups when none are listed', () => {
    expect(policyFrom(`requesters:\n  users: [${ALICE}]\n`).usergroupsInUse).toBe(false);
  });
});

describe('user groups read from Slack', () => {
  const yaml = `requesters:\n  usergroups: [${PLATFORM}, ${RELEASE}]\n`;

  it('reads each group once for requests that arrive together', async () => {
    let release: (members: string[]) => void = () => undefined;
    const usergroupMembers = jest.fn((group: string) =>
      group === PLATFORM ? new Promise<string[]>((resolve) => (release = resolve)) : Promise.resolve([]),
    );
    const policy = policyFrom(yaml, { usergroupMembers });
    const decisions = Promise.all([
      policy.mayRequest(BOB, RANDOM),
      policy.mayRequest(BOB, RANDOM),
      policy.mayRequest(CAROL, RANDOM),
    ]);
    release([BOB]);
    await expect(decisions).resolves.toEqual([
      { allowed: true },
      { allowed: true },
      expect.objectContaining({ allowed: false }),
    ]);
    expect(usergroupMembers.mock.calls).toEqual([[PLATFORM], [RELEASE]]);
  });

  it('trusts what it read for the cache time, then reads again and sees changes', async () => {
    const clock = fakeClock();
    let platform = [BOB];
    const usergroupMembers = jest.fn(async (group: string) => (group === PLATFORM ? platform : []));
    const policy = policyFrom(yaml, { usergroupMembers, clock, cacheMs: 60_000 });

    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toEqual({ allowed: true });
    platform = [];
    clock.advance(59_999);
    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toEqual({ allowed: true });
    expect(usergroupMembers).toHaveBeenCalledTimes(2);

    clock.advance(1);
    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toMatchObject({ allowed: false });
    expect(usergroupMembers).toHaveBeenCalledTimes(4);
  });

  it('keeps members for ten minutes by default', async () => {
    const clock = fakeClock();
    const usergroupMembers = jest.fn(async () => [BOB]);
    const policy = policyFrom(`requesters:\n  usergroups: [${PLATFORM}]\n`, { usergroupMembers, clock });
    await policy.mayRequest(BOB, null);
    clock.advance(10 * 60 * 1000 - 1);
    await policy.mayRequest(BOB, null);
    expect(usergroupMembers).toHaveBeenCalledTimes(1);
    clock.advance(1);
    await policy.mayRequest(BOB, null);
    expect(usergroupMembers).toHaveBeenCalledTimes(2);
  });

  it('refuses when a group cannot be read (fail closed), saying the policy could not be checked', async () => {
    const policy = policyFrom(yaml, {
      usergroupMembers: async (group) => {
        if (group === RELEASE) throw new Error('missing_scope');
        return [];
      },
    });
    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toEqual({
      allowed: false,
      reason:
        `I could not check whether you may request images: the members of <!subteam^${RELEASE}> could not be read from Slack. ` +
        'Please try again in a few minutes.',
    });
  });

  it('still allows a member of a group that could be read', async () => {
    const policy = policyFrom(yaml, {
      usergroupMembers: async (group) => {
        if (group === RELEASE) throw new Error('ratelimited');
        return [BOB];
      },
    });
    await expect(policy.mayRequest(BOB, RANDOM)).resolves.toEqual({ allowed: true });
  });

  it('logs a failing group once, not on every refused request, and logs when it recovers', async () => {
    const { logger, lines } = recordingLogger();
    let failing = true;
    const usergroupMembers = jest.fn(async () => {
      if (failing) throw new Error('service_unavailable');
      return [BOB];
    });
    const policy = policyFrom(`requesters:\n  usergroups: [${PLATFORM}]\n`, { usergroupMembers, logger });

    await Promise.all([policy.mayRequest(BOB, null), policy.mayRequest(BOB, null)]);
    await policy.mayRequest(BOB, null);
    expect(usergroupMembers).toHaveBeenCalledTimes(2);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        usergroup: PLATFORM,
        msg: 'could not read user group members; refusing requests that depend on them',
      }),
    ]);

    failing = false;
    await expect(policy.mayRequest(BOB, null)).resolves.toEqual({ allowed: true });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 'info', usergroup: PLATFORM, msg: 'user group members can be read again' });
  });
});

describe('admins', () => {
  it('are the people listed under admins', () => {
    const policy = policyFrom(`admins: [${ALICE}, ${CAROL}]\n`);
    expect(policy.adminConfigured).toBe(true);
    expect(policy.isAdmin(ALICE)).toBe(true);
    expect(policy.isAdmin(CAROL)).toBe(true);
    expect(policy.isAdmin(BOB)).toBe(false);
    expect(policy.mayAdminister(ALICE)).toEqual({ allowed: true });
    expect(policy.mayAdminister(BOB)).toEqual({
      allowed: false,
      reason: `Only <@${ALICE}> or <@${CAROL}> may do this (policy admins).`,
    });
  });

  it('are nobody when a policy file names none', () => {
    const policy = policyFrom('admins: []\n');
    expect(policy.adminConfigured).toBe(false);
    expect(policy.mayAdminister(ALICE)).toEqual({
      allowed: false,
      reason: 'Admin commands are off because the policy file names no admins (policy admins).',
    });
  });
});

describe('where images may be shared', () => {
  const yaml = [
    'sharing:',
    `  ${BUILDS}:`,
    '    aws_accounts: ["123456789012", "210987654321"]',
    `  "*":`,
    '    aws_accounts: []',
    '    gcp_principals: ["group:platform@example.com"]',
    '    gcp_domains: [example.com]',
    '',
  ].join('\n');
  const policy = policyFrom(yaml);

  it('allows what the channel rule lists', () => {
    expect(policy.checkShareTargets(BUILDS, aws('123456789012', '210987654321'))).toBeUndefined();
  });

  it('refuses anything else, naming the rule, what it allows and what is not allowed', () => {
    expect(policy.checkShareTargets(BUILDS, aws('123456789012', '999999999999'))).toEqual({
      share_with_accounts:
        'Images requested here may only be shared with AWS accounts 123456789012 and 210987654321 (policy sharing.C00BUILDS.aws_accounts); ' +
        '999999999999 is not one of them.',
    });
    expect(policy.checkShareTargets(BUILDS, aws('999999999999', '888888888888'))).toEqual({
      share_with_accounts:
        'Images requested here may only be shared with AWS accounts 123456789012 and 210987654321 (policy sharing.C00BUILDS.aws_accounts); ' +
        '999999999999 and 888888888888 are not among them.',
    });
  });

  it('applies "*" to channels without a rule, and to requests outside any channel', () => {
    const nowhere = {
      share_with_accounts:
        'Images requested here may not be shared with any AWS account (policy sharing.*.aws_accounts).',
    };
    expect(policy.checkShareTargets(RANDOM, aws('123456789012'))).toEqual(nowhere);
    expect(policy.checkShareTargets(null, aws('123456789012'))).toEqual(nowhere);
  });

  it('lets "*" decide the clouds a channel rule does not name', () => {
    expect(policy.checkShareTargets(BUILDS, gcp('user:mallory@evil.example'))).toEqual({
      share_with:
        'Images requested here may only be shared with Google principals group:platform@example.com or accounts in example.com ' +
        '(policy sharing.*.gcp_principals and sharing.*.gcp_domains); user:mallory@evil.example is not one of them.',
    });
  });

  it('leaves a cloud that no rule names unrestricted', () => {
    expect(policy.checkShareTargets(BUILDS, azure('4e5d8b2c-ab24-4413-90c5-612306e809e2'))).toBeUndefined();
    expect(policy.checkShareTargets(RANDOM, azure('4e5d8b2c-ab24-4413-90c5-612306e809e2'))).toBeUndefined();
  });

  it('treats odd channel ids such as prototype names as channels without a rule', () => {
    expect(policy.checkShareTargets('constructor', aws('123456789012'))).toEqual({
      share_with_accounts:
        'Images requested here may not be shared with any AWS account (policy sharing.*.aws_accounts).',
    });
  });

  it('allows anything when there is no "*" rule and the channel has none', () => {
    const onlyBuilds = policyFrom(`sharing:\n  ${BUILDS}:\n    aws_accounts: ["123456789012"]\n`);
    expect(onlyBuilds.checkShareTargets(RANDOM, aws('999999999999'))).toBeUndefined();
    expect(onlyBuilds.checkShareTargets(BUILDS, aws('999999999999'))).toBeDefined();
  });

  it('checks Azure subscriptions whatever their case', () => {
    const subscriptions = policyFrom(
      'sharing:\n  "*":\n    azure_subscriptions: [4E5D8B2C-AB24-4413-90C5-612306E809E2]\n',
    );
    expect(subscriptions.checkShareTargets(null, azure('4e5d8b2c-ab24-4413-90c5-612306e809e2'))).toBeUndefined();
    expect(subscriptions.checkShareTargets(null, azure('00000000-0000-0000-0000-000000000000'))).toEqual({
      subscription_id:
        'Images requested here may only be shared with Azure subscriptions 4e5d8b2c-ab24-4413-90c5-612306e809e2 ' +
        '(policy sharing.*.azure_subscriptions); 00000000-0000-0000-0000-000000000000 is not one of them.',
    });
  });

  it('gives one message per field when several clouds are refused', () => {
    const targets = [
      ...aws('999999999999'),
      ...gcp('user:a@evil.example'),
      ...azure('4e5d8b2c-ab24-4413-90c5-612306e809e2'),
    ];
    expect(Object.keys(policy.checkShareTargets(RANDOM, targets) ?? {})).toEqual(['share_with_accounts', 'share_with']);
  });

  it('lists at most eight allowed values', () => {
    const accounts = Array.from({ length: 10 }, (_, i) => `"${String(i).padStart(12, '1')}"`);
    const many = policyFrom(`sharing:\n  "*":\n    aws_accounts: [${accounts.join(', ')}]\n`);
    expect(many.checkShareTargets(null, aws('999999999999'))?.share_with_accounts).toBe(
      'Images requested here may only be shared with AWS accounts 111111111110, 111111111111, 111111111112, 111111111113, ' +
        '111111111114, 111111111115, 111111111116, 111111111117 and 2 more (policy sharing.*.aws_accounts); 999999999999 is not one of them.',
    );
  });
});

describe('Google principals and domains', () => {
  const policy = policyFrom(
    'sharing:\n  "*":\n    gcp_principals: ["user:Alice@Partner.example", "domain:partner.example"]\n    gcp_domains: [example.com]\n',
  );
  const allowed = (principal: string) => policy.checkShareTargets(null, gcp(principal)) === undefined;

  it.each([
    ['user:a@example.com', true],
    ['group:ops@example.com', true],
    ['serviceAccount:ci@example.com', true],
    ['domain:example.com', true],
    ['user:a@EXAMPLE.com', true],
    ['user:a@sub.example.com', false],
    ['domain:sub.example.com', false],
    ['user:a@notexample.com', false],
    ['user:a@example.com.evil.example', false],
    ['serviceAccount:ci@p.iam.gserviceaccount.com', false],
    ['user:alice@partner.example', true],
    ['domain:partner.example', true],
    ['user:bob@partner.example', false],
  ])('%s is allowed: %p', (principal, expected) => {
    expect(allowed(principal)).toBe(expected);
  });

  it('says which domains are allowed', () => {
    const onlyDomains = policyFrom('sharing:\n  "*":\n    gcp_domains: [example.com, example.org]\n');
    expect(onlyDomains.checkShareTargets(null, gcp('user:a@sub.example.com'))).toEqual({
      share_with:
        'Images requested here may only be shared with accounts in example.com or example.org (policy sharing.*.gcp_domains); ' +
        'user:a@sub.example.com is not one of them.',
    });
  });

  it('refuses every principal when both lists are empty', () => {
    const nowhere = policyFrom('sharing:\n  "*":\n    gcp_principals: []\n    gcp_domains: []\n');
    expect(nowhere.checkShareTargets(null, gcp('domain:example.com'))).toEqual({
      share_with:
        'Images requested here may not be shared with any Google principal (policy sharing.*.gcp_principals and sharing.*.gcp_domains).',
    });
  });
});

describe('per-person limits', () => {
  const clock = fakeClock('2025-03-01T10:00:00Z');
  const policy = policyFrom('limits:\n  in_flight_per_user: 3\n  per_user_per_day: 10\n', { clock });

  it('allows requests under both limits', () => {
    expect(policy.checkLimits(ALICE, { inFlight: 2, today: 9 })).toEqual({ allowed: true });
  });

  it('refuses a fourth build in progress', () => {
    expect(policy.checkLimits(ALICE, { inFlight: 3, today: 3 })).toEqual({
      allowed: false,
      reason:
        'You already have 3 builds in progress, and one person may have at most 3 at a time (policy limits.in_flight_per_user). ' +
        'Try again when one finishes.',
    });
  });

  it('refuses an eleventh request in 24 hours', () => {
    expect(policy.checkLimits(ALICE, { inFlight: 0, today: 10 })).toEqual({
      allowed: false,
      reason:
        'You have requested 10 images in the last 24 hours, and one person may request at most 10 a day (policy limits.per_user_per_day). ' +
        'Try again later.',
    });
  });

  it('counts the day as the last 24 hours', () => {
    expect(policy.dayStart()).toEqual(new Date('2025-02-28T10:00:00Z'));
  });

  it('says what the limit is when someone is over it (e.g. after it was lowered)', () => {
    expect(policy.checkLimits(ALICE, { inFlight: 1, today: 1 })).toEqual({ allowed: true });
    const strict = policyFrom('limits:\n  in_flight_per_user: 1\n');
    expect(strict.checkLimits(ALICE, { inFlight: 2, today: 0 })).toEqual({
      allowed: false,
      reason:
        'You already have 2 builds in progress, and one person may have at most 1 at a time (policy limits.in_flight_per_user). ' +
        'Try again when one finishes.',
    });
  });

  it('has no limit that the file does not set', () => {
    const onlyDaily = policyFrom('limits:\n  per_user_per_day: 1\n');
    expect(onlyDaily.checkLimits(ALICE, { inFlight: 500, today: 0 })).toEqual({ allowed: true });
  });
});

describe('which blueprints a channel may build', () => {
  const BLUEPRINTS = [{ name: 'rhel9-golden' }, { name: 'Web-Base' }, { name: 'db-hardened' }];
  const names = (list: readonly { name: string }[]) => list.map((b) => b.name);

  it('lets every blueprint be built everywhere when the policy says nothing of blueprints', () => {
    const policy = policyFrom('admins: []');
    expect(policy.mayBuildBlueprint(BUILDS, 'anything')).toEqual({ allowed: true });
    expect(policy.mayBuildBlueprint(null, 'anything')).toEqual({ allowed: true });
    expect(names(policy.buildableBlueprints(BUILDS, BLUEPRINTS))).toEqual(['rhel9-golden', 'Web-Base', 'db-hardened']);
  });

  it("decides by the channel's own rule, names compared without regard to case", () => {
    const policy = policyFrom(`blueprints:\n  ${BUILDS}: [RHEL9-Golden, web-base]\n  "*": []\n`);
    expect(policy.mayBuildBlueprint(BUILDS, 'rhel9-golden')).toEqual({ allowed: true });
    expect(policy.mayBuildBlueprint(BUILDS, 'WEB-BASE')).toEqual({ allowed: true });
    expect(names(policy.buildableBlueprints(BUILDS, BLUEPRINTS))).toEqual(['rhel9-golden', 'Web-Base']);
    expect(policy.mayBuildBlueprint(BUILDS, 'db-hardened')).toEqual({
      allowed: false,
      reason:
        `The blueprint “db-hardened” may not be built in <#${BUILDS}> (policy blueprints.${BUILDS}); ` +
        'the ones allowed there are “RHEL9-Golden” and “web-base”.',
    });
  });

  it('decides channels without a rule, direct messages and requests outside any channel by the "*" rule', () => {
    const policy = policyFrom(`blueprints:\n  ${BUILDS}: ["*"]\n  "*": [web-base]\n`);
    expect(names(policy.buildableBlueprints(BUILDS, BLUEPRINTS))).toEqual(['rhel9-golden', 'Web-Base', 'db-hardened']);
    for (const channel of [RANDOM, 'D0123ABCD', null]) {
      expect(names(policy.buildableBlueprints(channel, BLUEPRINTS))).toEqual(['Web-Base']);
    }
    expect(policy.mayBuildBlueprint(RANDOM, 'rhel9-golden')).toMatchObject({
      reason: `The blueprint “rhel9-golden” may not be built in <#${RANDOM}> (policy blueprints.*); the ones allowed there are “web-base”.`,
    });
    expect(policy.mayBuildBlueprint('D0123ABCD', 'rhel9-golden')).toMatchObject({
      reason: expect.stringContaining('may not be built in a direct message (policy blueprints.*)'),
    });
    expect(policy.mayBuildBlueprint(null, 'rhel9-golden')).toMatchObject({
      reason: expect.stringContaining('may not be built outside a channel (policy blueprints.*)'),
    });
  });

  it('lets a channel not named build everything when there is no "*" rule', () => {
    const policy = policyFrom(`blueprints:\n  ${BUILDS}: []\n`);
    expect(policy.buildableBlueprints(BUILDS, BLUEPRINTS)).toEqual([]);
    expect(policy.mayBuildBlueprint(BUILDS, 'rhel9-golden')).toEqual({
      allowed: false,
      reason: `No blueprint may be built in <#${BUILDS}> (policy blueprints.${BUILDS}), so “rhel9-golden” may not either.`,
    });
    expect(names(policy.buildableBlueprints(RANDOM, BLUEPRINTS))).toHaveLength(3);
    expect(policy.mayBuildBlueprint(null, 'rhel9-golden')).toEqual({ allowed: true });
  });

  it('never lets a blueprint name in a reason mention anyone or make a link', () => {
    const policy = policyFrom(`blueprints:\n  "*": ["<!channel>"]\n`);
    const decision = policy.mayBuildBlueprint(RANDOM, '<https://evil.example|click>');
    expect(decision.allowed).toBe(false);
    const reason = (decision as { reason: string }).reason;
    expect(reason).not.toMatch(/<!channel>|<https:/);
    expect(reason).toContain('‹!channel›');
  });
});

describe('registration with Red Hat', () => {
  const policy = policyFrom(['registration:', `  ${BUILDS}: required`, '  "*": forbidden'].join('\n'));
  const rhel = (register: boolean, configured = true) => ({ registrable: true, register, configured });

  it('lets the requester choose where no rule applies, and for distributions that cannot register', () => {
    const open = policyFrom(undefined);
    expect(open.checkRegistration(BUILDS, rhel(false))).toEqual({ allowed: true });
    expect(open.checkRegistration(BUILDS, rhel(true))).toEqual({ allowed: true });
    expect(policy.checkRegistration(RANDOM, { registrable: false, register: false, configured: true })).toEqual({
      allowed: true,
    });
  });

  it('refuses an unregistered RHEL image in a channel that requires registration, naming the rule', () => {
    expect(policy.checkRegistration(BUILDS, rhel(true))).toEqual({ allowed: true });
    expect(policy.checkRegistration(BUILDS, rhel(false))).toEqual({
      allowed: false,
      reason: `RHEL images requested in <#${BUILDS}> must be registered with Red Hat (policy registration.${BUILDS}); tick the box.`,
    });
    expect(policy.checkRegistration(BUILDS, rhel(false, false))).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/no registration set up; ask whoever runs it/),
    });
  });

  it('refuses a registered image where the "*" rule forbids it, outside any channel too', () => {
    expect(policy.checkRegistration(RANDOM, rhel(false))).toEqual({ allowed: true });
    expect(policy.checkRegistration(null, rhel(true))).toEqual({
      allowed: false,
      reason:
        'RHEL images requested outside a channel may not be registered with Red Hat (policy registration.*); untick the box.',
    });
  });
});

describe('approvals', () => {
  const yaml = [
    'approvals:',
    '  approvers:',
    `    users: [${ALICE}]`,
    `    usergroups: [${PLATFORM}]`,
    '  channel: C0APPROVE',
    `  required_in: [${BUILDS}]`,
    '  expire_after_hours: 2',
  ].join('\n');

  it('is absent when the policy has no approvals part', () => {
    expect(policyFrom('admins: []').approvals).toBeUndefined();
  });

  it('lets listed approvers and members of a listed group approve, and tells anyone else who may', async () => {
    const approvals = policyFrom(yaml, { usergroupMembers: async () => [CAROL] }).approvals!;
    expect(await approvals.mayApprove(ALICE)).toEqual({ allowed: true });
    expect(await approvals.mayApprove(CAROL)).toEqual({ allowed: true });
    expect(await approvals.mayApprove(BOB)).toEqual({
      allowed: false,
      reason: `Only <@${ALICE}> or members of <!subteam^${PLATFORM}> may approve requests (policy approvals.approvers).`,
    });
  });

  it('refuses an approval it cannot check because a group cannot be read (fail closed)', async () => {
    const approvals = policyFrom(yaml, {
      usergroupMembers: async () => {
        throw new Error('Slack is down');
      },
    }).approvals!;
    expect((await approvals.mayApprove(CAROL)).allowed).toBe(false);
  });

  it('makes every request of a listed channel wait, saying why, and no other', () => {
    const approvals = policyFrom(yaml).approvals!;
    expect(approvals.requiredHere(BUILDS)).toBe(
      `Every request made in <#${BUILDS}> needs approval (policy approvals.required_in).`,
    );
    expect(approvals.requiredHere(RANDOM)).toBeUndefined();
    expect(approvals.requiredHere(null)).toBeUndefined();
    expect(approvals.expireAfterMs).toBe(2 * 60 * 60 * 1000);
    expect(approvals.channel).toBe('C0APPROVE');
  });
});
