import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePolicy, PolicyError, POLICY_MAX_ALIAS_COUNT, type PolicyDocument } from '../../src/policy';

/** The error parsePolicy throws for `text`; fails the test when it accepts it. */
function errorFrom(text: string, file = 'policy.yaml'): PolicyError {
  try {
    parsePolicy(text, file);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('the policy was accepted');
}

function problemsOf(text: string): { kind: string; problems: readonly string[] } {
  const { kind, problems } = errorFrom(text);
  return { kind, problems };
}

const lines = (...rows: string[]) => rows.map((row) => `${row}\n`).join('');

describe('policy file: what a valid file means', () => {
  it('reads the documented example', () => {
    const text = readFileSync(path.join(__dirname, '../../src/policy/example-policy.yaml'), 'utf8');
    const policy = parsePolicy(text, 'example-policy.yaml');
    expect(policy).toEqual<PolicyDocument>({
      source: 'example-policy.yaml',
      requesters: { users: ['U0123ABCD'], usergroups: ['S0456EFGH'], channels: ['C0789IJKL'] },
      admins: ['U0123ABCD'],
      sharing: new Map([
        [
          'C0789IJKL',
          {
            awsAccounts: ['123456789012', '210987654321'],
            azureSubscriptions: ['4e5d8b2c-ab24-4413-90c5-612306e809e2'],
            gcp: { principals: ['group:platform@example.com'], domains: ['example.com'] },
          },
        ],
        ['*', { awsAccounts: [], azureSubscriptions: [], gcp: { principals: [] } }],
      ]),
      limits: { inFlightPerUser: 3, perUserPerDay: 10 },
      externalTeams: ['T0246PQRS'],
      blueprints: new Map([
        ['C0789IJKL', ['*']],
        ['*', ['rhel9-golden', 'web-base']],
      ]),
      registration: new Map([
        ['C0789IJKL', 'required'],
        ['*', 'forbidden'],
      ]),
      approvals: {
        approvers: { users: ['U0123ABCD'], usergroups: ['S0456EFGH'] },
        channel: 'C0246APPR',
        requiredIn: ['C0789IJKL'],
        outsideSharing: true,
        overLimits: true,
        expireAfterHours: 72,
      },
    });
  });

  it.each<[string, string, Partial<PolicyDocument>]>([
    [
      'only admins: everything else open',
      'admins: [U0123ABCD, W0123ABCD]',
      { admins: ['U0123ABCD', 'W0123ABCD'], limits: {} },
    ],
    ['an empty admins list', 'admins: []', { admins: [], limits: {} }],
    [
      'requesters by one kind only; the others count as empty',
      lines('requesters:', '  usergroups: [S0456EFGH]'),
      { requesters: { users: [], usergroups: ['S0456EFGH'], channels: [] }, admins: [], limits: {} },
    ],
    ['one limit only', lines('limits:', '  per_user_per_day: 5'), { admins: [], limits: { perUserPerDay: 5 } }],
    [
      'external teams: workspaces and Enterprise Grid organisations',
      'external_teams: [T0246PQRS, E0135MNOP]',
      { admins: [], limits: {}, externalTeams: ['T0246PQRS', 'E0135MNOP'] },
    ],
    ['no external teams', 'external_teams: []', { admins: [], limits: {} }],
    [
      'AWS accounts written as numbers (12 digits lose nothing) or with dashes as the console shows them',
      lines('sharing:', '  "*":', '    aws_accounts: [123456789012, "1234-5678-9012"]'),
      { admins: [], limits: {}, sharing: new Map([['*', { awsAccounts: ['123456789012', '123456789012'] }]]) },
    ],
    [
      'subscriptions in any case, Google principals with the kind in any case, domains in any case',
      lines(
        'sharing:',
        '  G0789IJKL:',
        '    azure_subscriptions: [4E5D8B2C-AB24-4413-90C5-612306E809E2]',
        '    gcp_principals: [ServiceAccount:ci@p.iam.gserviceaccount.com]',
        '  D0789IJKL:',
        '    gcp_domains: [Example.COM]',
      ),
      {
        admins: [],
        limits: {},
        sharing: new Map([
          [
            'G0789IJKL',
            {
              azureSubscriptions: ['4e5d8b2c-ab24-4413-90c5-612306e809e2'],
              gcp: { principals: ['serviceAccount:ci@p.iam.gserviceaccount.com'] },
            },
          ],
          ['D0789IJKL', { gcp: { domains: ['example.com'] } }],
        ]),
      },
    ],
    [
      'anchors reused a few times',
      lines('sharing:', '  C0789IJKL: &prod', '    aws_accounts: ["123456789012"]', '  C0789IJKM: *prod'),
      {
        admins: [],
        limits: {},
        sharing: new Map([
          ['C0789IJKL', { awsAccounts: ['123456789012'] }],
          ['C0789IJKM', { awsAccounts: ['123456789012'] }],
        ]),
      },
    ],
    [
      'blueprints per channel, "*" in a list for all, [] for none, names as written',
      lines('blueprints:', '  C0789IJKL: [RHEL9-Golden, "web-base"]', '  G0789IJKL: ["*"]', '  "*": []'),
      {
        admins: [],
        limits: {},
        blueprints: new Map([
          ['C0789IJKL', ['RHEL9-Golden', 'web-base']],
          ['G0789IJKL', ['*']],
          ['*', []],
        ]),
      },
    ],
    [
      'approvals with one kind of approver, waiting only over the limits, for the default 72 hours',
      lines('approvals:', '  approvers:', '    usergroups: [S0456EFGH]', '  channel: C0246APPR', '  over_limits: true'),
      {
        admins: [],
        limits: {},
        approvals: {
          approvers: { users: [], usergroups: ['S0456EFGH'] },
          channel: 'C0246APPR',
          requiredIn: [],
          outsideSharing: false,
          overLimits: true,
          expireAfterHours: 72,
        },
      },
    ],
  ])('accepts %s', (_name, text, document) => {
    expect(parsePolicy(text, 'policy.yaml')).toEqual({ source: 'policy.yaml', ...document });
  });
});

describe('policy file: every problem at once, with its line, place and what is wrong', () => {
  it.each<[string, string, string[]]>([
    [
      'approvals with an unknown key, approvers that name nobody, a bad channel and hours that are not whole',
      lines(
        'approvals:',
        '  approvers:',
        '    users: []',
        '  channel: "#approvals"',
        '  outside_sharing: yes',
        '  expire_after_hours: 1.5',
        '  over_limit: true',
      ),
      [
        'line 2: approvals.approvers: names nobody, so nothing could ever be approved; list users or usergroups',
        'line 4: approvals.channel: "#approvals" is not a Slack channel id (C… or G…, e.g. C0789IJKL) where approvers are asked',
        'line 5: approvals.outside_sharing: must be true or false; it is "yes"',
        'line 6: approvals.expire_after_hours: must be a whole number of hours from 1 to 2160 (remove it for 72); it is 1.5',
        'line 7: approvals.over_limit: unknown key; expected approvers, channel, required_in, outside_sharing, over_limits or expire_after_hours',
      ],
    ],
    [
      'approvals that make nothing wait',
      lines('approvals:', '  approvers:', '    users: [U0123ABCD]', '  channel: C0246APPR'),
      [
        'line 1: approvals: makes nothing wait for approval; set required_in, outside_sharing: true or over_limits: true',
      ],
    ],
    [
      'registration rules that are neither required nor forbidden',
      lines('registration:', '  C0789IJKL: yes', '  "#builds": required', '  "*":'),
      [
        'line 2: registration.C0789IJKL: must be required or forbidden; it is "yes"',
        'line 3: registration["#builds"]: "#builds" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
        'line 4: registration.*: has no value; write required or forbidden, or remove the channel to let the requester choose',
      ],
    ],
    [
      'ids of the wrong shape or kind',
      lines(
        'admins: [alice, "<@U0123ABCD>", 5, U0123ABCD]',
        'requesters:',
        '  usergroups: [U0123ABCD]',
        '  channels: ["#builds"]',
      ),
      [
        'line 1: admins[0]: "alice" is not a Slack user id (U… or W…, e.g. U0123ABCD)',
        'line 1: admins[1]: "<@U0123ABCD>" is not a Slack user id (U… or W…, e.g. U0123ABCD)',
        'line 1: admins[2]: 5 is not a Slack user id (U… or W…, e.g. U0123ABCD)',
        'line 3: requesters.usergroups[0]: "U0123ABCD" is not a Slack user group id (S…, e.g. S0456EFGH)',
        'line 4: requesters.channels[0]: "#builds" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL)',
      ],
    ],
    [
      'sharing targets that are not what their key says',
      lines(
        'sharing:',
        '  C123ABCDE:',
        '    aws_accounts: ["123456789012", "210987654321", "12345", 12345678901]',
        '    azure_subscriptions: [my-subscription]',
        '    gcp_principals: [alice@example.com, allUsers]',
        '    gcp_domains: [domain:example.com, "@example.com"]',
      ),
      [
        'line 3: sharing.C123ABCDE.aws_accounts[2]: "12345" is not a 12-digit AWS account id',
        'line 3: sharing.C123ABCDE.aws_accounts[3]: 12345678901 is not a 12-digit AWS account id (if it starts with 0, put it in quotes: YAML drops the leading zeros of a number)',
        'line 4: sharing.C123ABCDE.azure_subscriptions[0]: "my-subscription" is not an Azure subscription id (a GUID such as 4e5d8b2c-ab24-4413-90c5-612306e809e2)',
        'line 5: sharing.C123ABCDE.gcp_principals[0]: "alice@example.com" is not a Google principal (user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN)',
        'line 5: sharing.C123ABCDE.gcp_principals[1]: "allUsers" is not a Google principal (user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN)',
        'line 6: sharing.C123ABCDE.gcp_domains[0]: "domain:example.com" is not a domain; write it without "domain:", e.g. "example.com"',
        'line 6: sharing.C123ABCDE.gcp_domains[1]: "@example.com" is not a domain such as example.com',
      ],
    ],
    [
      'unknown keys, so a typo never leaves a cloud unrestricted',
      lines(
        'admin: [U0123ABCD]',
        'sharing:',
        '  "*":',
        '    aws_account: []',
        'requesters:',
        '  user: [U0123ABCD]',
        '  users: [U0123ABCD]',
      ),
      [
        'line 1: admin: unknown key; expected requesters, admins, sharing, limits, external_teams, blueprints, registration or approvals',
        'line 4: sharing.*.aws_account: unknown key; expected aws_accounts, azure_subscriptions, gcp_principals or gcp_domains',
        'line 6: requesters.user: unknown key; expected users, usergroups or channels',
      ],
    ],
    [
      'keys with no value, which could mean "none" or "any"',
      lines(
        'requesters:',
        'admins:',
        'sharing:',
        '  "*":',
        '    aws_accounts:',
        '  C0789IJKL:',
        'limits:',
        '  in_flight_per_user:',
      ),
      [
        'line 1: requesters: has no value; list users, usergroups or channels under it, or remove requesters to let everyone request images',
        'line 2: admins: has no value; write [] for nobody, or list Slack user ids such as U0123ABCD',
        'line 5: sharing.*.aws_accounts: has no value; write [] to allow no AWS accounts at all, or list the ones allowed',
        'line 6: sharing.C0789IJKL: has no value; list aws_accounts, azure_subscriptions, gcp_principals or gcp_domains under it',
        'line 8: limits.in_flight_per_user: must be a whole number from 1 to 100000 (remove it for no limit); it is empty',
      ],
    ],
    [
      'parts that restrict nothing or allow nobody',
      lines('requesters: {users: [], channels: []}', 'sharing:', '  C0789IJKL: {}'),
      [
        'line 1: requesters: names nobody, so nobody could request images; list users, usergroups or channels, or remove requesters to let everyone request',
        'line 3: sharing.C0789IJKL: restricts nothing; list aws_accounts, azure_subscriptions, gcp_principals or gcp_domains (an empty list [] means nowhere)',
      ],
    ],
    [
      'sharing with no channels',
      'sharing: {}',
      ['line 1: sharing: names no channels; add a rule per channel, or remove sharing to allow sharing anywhere'],
    ],
    [
      'channel keys that are names, not ids',
      lines('sharing:', '  general:', '    aws_accounts: []', '  __proto__:', '    aws_accounts: []'),
      [
        'line 2: sharing.general: "general" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
        'line 4: sharing.__proto__: "__proto__" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
      ],
    ],
    [
      'blueprint rules of the wrong kind: a bare "*", a mapping, or no value',
      lines('blueprints:', '  C0789IJKL: "*"', '  C0789IJKM: {name: rhel9-golden}', '  "*":'),
      [
        'line 2: blueprints.C0789IJKL: must be a list such as ["rhel9-golden"]; it is "*"',
        'line 3: blueprints.C0789IJKM: must be a list such as ["rhel9-golden"]; it is a mapping',
        'line 4: blueprints.*: has no value; write [] to allow no blueprint at all, ["*"] for every one, or list the names allowed',
      ],
    ],
    [
      'blueprint names that are not text, or blank',
      lines('blueprints:', '  C0789IJKL:', '    - rhel9-golden', '    - 9', '    - ""', '    - [a, b]', '    - {x: 1}'),
      [
        'line 4: blueprints.C0789IJKL[1]: 9 is not a blueprint name; write the name as text',
        'line 5: blueprints.C0789IJKL[2]: is blank; write a blueprint name, or "*" for every blueprint',
        'line 6: blueprints.C0789IJKL[3]: a list is not a blueprint name; write the name as text',
        'line 7: blueprints.C0789IJKL[4]: a mapping is not a blueprint name; write the name as text',
      ],
    ],
    [
      'blueprint keys that are empty, names rather than ids, or __proto__',
      lines('blueprints:', '  "": [a]', '  general: [a]', '  __proto__: [a]', '  C0789IJKL: [a]'),
      [
        'line 2: blueprints[""]: "" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
        'line 3: blueprints.general: "general" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
        'line 4: blueprints.__proto__: "__proto__" is not a Slack channel id (C…, G… or D…, e.g. C0789IJKL) or "*" for every other channel',
      ],
    ],
    [
      'blueprints that name no channels',
      lines('blueprints: {}'),
      [
        'line 1: blueprints: names no channels; list blueprints per channel, or remove blueprints to let every blueprint be built everywhere',
      ],
    ],
    [
      'blueprints written as a list of names',
      lines('blueprints: [rhel9-golden]'),
      ['line 1: blueprints: must be a mapping from channel ids (or "*") to lists of blueprint names; it is a list'],
    ],
    [
      'blueprints with no value',
      lines('blueprints:', 'admins: []'),
      [
        'line 1: blueprints: has no value; list blueprints per channel, or remove blueprints to let every blueprint be built everywhere',
      ],
    ],
    [
      'external teams that are not Slack team ids, or no value',
      lines('external_teams: [acme, U0123ABCD]', 'admins: []'),
      [
        'line 1: external_teams[0]: "acme" is not a Slack workspace or organisation id (T… or E…, e.g. T0123ABCD)',
        'line 1: external_teams[1]: "U0123ABCD" is not a Slack workspace or organisation id (T… or E…, e.g. T0123ABCD)',
      ],
    ],
    [
      'external_teams with no value',
      'external_teams:',
      ['line 1: external_teams: has no value; write [] for none, or list Slack workspace ids such as T0123ABCD'],
    ],
    [
      'limits that are not whole numbers from 1',
      lines('limits:', '  in_flight_per_user: 0', '  per_user_per_day: "10"'),
      [
        'line 2: limits.in_flight_per_user: must be a whole number from 1 to 100000 (remove it for no limit); it is 0',
        'line 3: limits.per_user_per_day: must be a whole number from 1 to 100000 (remove it for no limit); it is "10"',
      ],
    ],
    [
      'shapes that are not what a key holds',
      lines('admins: U0123ABCD', 'requesters: [U0123ABCD]', 'limits: 3'),
      [
        'line 1: admins: must be a list such as [U0123ABCD]; it is "U0123ABCD"',
        'line 2: requesters: must be a mapping with users, usergroups or channels; it is a list',
        'line 3: limits: must be a mapping with in_flight_per_user or per_user_per_day; it is 3',
      ],
    ],
    [
      'a file that is a list',
      '- U0123ABCD',
      [
        'line 1: the file must be a mapping with requesters, admins, sharing, limits, external_teams, blueprints, registration or approvals; it is a list',
      ],
    ],
    [
      'an empty file',
      '',
      ['it has no policy in it (it is empty or only comments); write one, or set POLICY_FILE=open for the open policy'],
    ],
    [
      'only comments',
      '# admins: [U0123ABCD]\n',
      ['it has no policy in it (it is empty or only comments); write one, or set POLICY_FILE=open for the open policy'],
    ],
  ])('refuses %s', (_name, text, problems) => {
    expect(problemsOf(text)).toEqual({ kind: 'invalid', problems });
  });

  it('shows long values shortened and control characters escaped', () => {
    expect(problemsOf(`admins: ["${'A'.repeat(100)}", "U1\\u202Eevil"]`).problems).toEqual([
      `line 1: admins[0]: "${'A'.repeat(39)}…" is not a Slack user id (U… or W…, e.g. U0123ABCD)`,
      'line 1: admins[1]: "U1\\u202eevil" is not a Slack user id (U… or W…, e.g. U0123ABCD)',
    ]);
  });

  it('names the file and lists every problem in one error', () => {
    const error = errorFrom('admins: [alice]\nlimits: {per_user_per_day: 0}\n', '/etc/image-builder/policy.yaml');
    expect(error.file).toBe('/etc/image-builder/policy.yaml');
    expect(error.message).toBe(
      [
        'Cannot use the policy file /etc/image-builder/policy.yaml (POLICY_FILE):',
        '  - line 1: admins[0]: "alice" is not a Slack user id (U… or W…, e.g. U0123ABCD)',
        '  - line 2: limits.per_user_per_day: must be a whole number from 1 to 100000 (remove it for no limit); it is 0',
      ].join('\n'),
    );
  });

  it('lists the first 50 problems of a file with very many and counts the rest', () => {
    const error = errorFrom(`admins: [${Array.from({ length: 80 }, (_, i) => `bad${i}`).join(', ')}]`);
    expect(error.problems).toHaveLength(80);
    const shown = error.message.split('\n');
    expect(shown).toHaveLength(1 + 50 + 1);
    expect(shown.at(-1)).toBe('  … and 30 more problems');
  });
});

describe('policy file: YAML that is broken or hostile', () => {
  it.each<[string, string, string[]]>([
    [
      'a bare * as a key, with the fix',
      lines('sharing:', '  *:', '    aws_accounts: []'),
      [
        'line 2, column 4: Alias ending in : is ambiguous (a bare * starts a YAML alias: write the rule for every other channel as "*":)',
        'line 3, column 1: All mapping items must start at the same column',
      ],
    ],
    [
      'a key given twice',
      lines('admins: [U0123ABCD]', 'admins: [U0456EFGH]'),
      ['line 2, column 1: this key appears twice in the same mapping; merge the two'],
    ],
    [
      'a tag asking for code',
      'admins: !!js/function "function () { return [] }"',
      ['line 1, column 9: Unresolved tag: tag:yaml.org,2002:js/function; a policy needs no YAML tags (!…), remove it'],
    ],
    [
      'an unclosed list',
      lines('admins: [U0123ABCD', 'limits: {}'),
      ['line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ],
    [
      'two documents',
      lines('admins: []', '---', 'admins: [U0123ABCD]'),
      ['line 2, column 1: Source contains multiple documents; please use YAML.parseAllDocuments()'],
    ],
    [
      'tabs as indentation',
      'requesters:\n\tusers: [U0123ABCD]\n',
      ['line 2, column 1: Tabs are not allowed as indentation'],
    ],
    [
      'an alias to nothing',
      'admins: *nobody',
      ['it could not be read as YAML: Unresolved alias (the anchor must be set before the alias): nobody'],
    ],
  ])('refuses %s', (_name, text, problems) => {
    expect(problemsOf(text)).toEqual({ kind: 'syntax', problems });
  });

  it('refuses an alias bomb quickly instead of expanding it', () => {
    const layers = [
      'a: &a ["U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD", "U0123ABCD"]',
    ];
    for (let i = 1; i < 9; i++) {
      const previous = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      layers.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const started = Date.now();
    expect(problemsOf(layers.join('\n'))).toEqual({
      kind: 'syntax',
      problems: [
        `its aliases (*name) expand to too much (more than ${POLICY_MAX_ALIAS_COUNT} uses); write the lists out instead`,
      ],
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses nesting too deep to read, without overflowing the stack', () => {
    const text = `admins: ${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    expect(problemsOf(text)).toEqual({
      kind: 'syntax',
      problems: [expect.stringMatching(/^line 1, column \d+: it is nested too deeply to read$/)],
    });
  });
});
