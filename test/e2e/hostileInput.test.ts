import fc from 'fast-check';
import { ed25519Key, rsaKey } from '../providers/support/sshKeys';
import { composeRequestSchema } from '../../src/imageBuilder/requestSchema';
import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { SlackView } from '../fakes/slackApi';
import { newTriggerId } from '../../src/demo/fakes/slackIds';
import { eventually } from '../support/eventually';
import { slashCommandBody, viewSubmissionBody, type StateValues } from '../support/slackRequests';
import { startHarness, type Harness } from './harness';

/*
 * Whatever a person types — any unicode, control characters, a novel, markup meant to ping a channel or break out of
 * a query — the app answers within Slack's 3 seconds with a usage message, a form or a field error, never a 5xx;
 * and nothing that reaches Image Builder fails the request schema the service enforces. Every case goes over
 * HTTP to the real app, so each property runs a few dozen cases to stay quick.
 */

const RUNS = 30;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ imageBuilder: { script: ['pending', 'success'] } });
});
afterAll(async () => h?.close());

// ---------------------------------------------------------------------------------------------------------------
// Hostile text

const INJECTIONS = [
  '<!channel>',
  '<!here|here> please',
  '<!everyone>',
  '<@U0ADMIN>',
  '<https://evil.example|click me>',
  '*bold* _it_ ~strike~ `code` ```block```',
  "'; DROP TABLE build_requests; --",
  '" OR 1=1 --',
  '${process.env.SLACK_BOT_TOKEN}',
  '{{7*7}}',
  '$(rm -rf /)',
  '`id`',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '&lt;!channel&gt;',
  '\u202Egnp.exe',
  '\uFEFF\u200B\u200D',
  '\uD800',
  'a\u0000b',
  // Words an object literal has a property for, as a lookup table would answer them.
  '__proto__',
  'constructor',
];
const CONTROLS = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

/** Text a hostile or careless person might produce: any unicode, controls, injection attempts, or a lot of it. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  CONTROLS,
  fc.constantFrom(...INJECTIONS),
  fc.tuple(fc.constantFrom(...INJECTIONS), fc.string({ unit: 'binary', maxLength: 20 })).map(([a, b]) => `${a}${b}`),
  fc.integer({ min: 3_000, max: 12_000 }).map((n) => 'ä😀<'.repeat(Math.ceil(n / 4)).slice(0, n)),
);

// ---------------------------------------------------------------------------------------------------------------
// The command text

describe('the command text', () => {
  const SUBCOMMANDS = [
    'aws',
    'gcp',
    'azure',
    'guest-image',
    'AWS',
    'status',
    'list',
    'help',
    '--help',
    'forget',
    'audit',
    'frobnicate',
    '',
  ];
  const commandText = fc.oneof(
    hostileText,
    fc.tuple(fc.constantFrom(...SUBCOMMANDS), hostileText).map(([word, rest]) => `${word} ${rest}`),
    fc.tuple(hostileText, fc.constantFrom(...SUBCOMMANDS)).map(([rest, word]) => `${rest}\n${word}`),
  );

  it('always gets a 200 within 3 s: an ephemeral answer, a form, or an acknowledgement followed by a reply', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(commandText, async (text) => {
        run += 1;
        const responseUrlId = `hostile-${run}`;
        const triggerId = newTriggerId();
        const answer = await h.post(
          slashCommandBody({ text, response_url: h.slack.responseUrl(responseUrlId), trigger_id: triggerId }),
        );

        expect(answer.status).toBe(200);
        expect(answer.elapsedMs).toBeLessThan(3_000);
        if (answer.text !== '') {
          const body = answer.json as { response_type?: string; text?: string; blocks?: unknown[] };
          expect(body.response_type).toBe('ephemeral');
          expect(typeof body.text).toBe('string');
          // What the person typed is escaped: it cannot ping a channel or a person, or make a link.
          expect(`${body.text ?? ''}\n${blocksText(body.blocks)}`).not.toMatch(/<[!@#]|<https?:/);
          return;
        }
        // Acknowledged: a form opened on this trigger, or a reply through this command's response_url.
        const followUp = await h.slack.waitFor(
          (calls) =>
            calls.find(
              (c) =>
                (c.method === 'views.open' && c.args.trigger_id === triggerId) ||
                (c.method === 'response_url' && c.responseUrlId === responseUrlId),
            ),
          { description: `a form or a reply for ${JSON.stringify(text.slice(0, 60))}` },
        );
        expect(followUp.response.status).toBe(200);
        expect(followUp.response.body).toMatchObject({ ok: true });
        if (followUp.method === 'response_url') expect(JSON.stringify(followUp.args)).not.toMatch(/<[!@#]|<https?:/);
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${h.healthUrl}/healthz`)).status).toBe(200);
    expect(h.slack.problems).toEqual([]);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------------
// Every field of the AWS and GCP forms

interface InputField {
  blockId: string;
  element: JsonObject;
}

function inputFields(view: SlackView): InputField[] {
  return view.blocks.flatMap((block) =>
    isObject(block) && block.type === 'input' && typeof block.block_id === 'string' && isObject(block.element)
      ? [{ blockId: block.block_id, element: block.element }]
      : [],
  );
}

const offeredValues = (element: JsonObject): string[] =>
  Array.isArray(element.options) ? element.options.filter(isObject).map((o) => String(o.value)) : [];

/** What Slack reports for one input: any text in a text input, any value (offered or forged) in a select. */
function stateOf(element: JsonObject, value: string | null): Record<string, JsonObject> {
  const actionId = String(element.action_id);
  const option = (text: string) => ({ text: { type: 'plain_text', text, emoji: true }, value: text });
  if (element.type === 'static_select') {
    return { [actionId]: { type: 'static_select', selected_option: value === null ? null : option(value) } };
  }
  if (element.type === 'multi_static_select') {
    return { [actionId]: { type: 'multi_static_select', selected_options: value === null ? [] : [option(value)] } };
  }
  return { [actionId]: { type: String(element.type), value } };
}

const awsAccounts = fc
  .array(fc.stringMatching(/^\d{12}$/), { minLength: 1, maxLength: 4 })
  .chain((accounts) => fc.constantFrom(accounts.join('\n'), accounts.join(', '), accounts.join(' ; ')));
const gcpPrincipals = fc
  .array(
    fc.constantFrom(
      'user:alice@example.com',
      'group:ops@example.com',
      'serviceAccount:ci@proj.iam.gserviceaccount.com',
      'domain:example.com',
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((principals) => principals.join(', '));
const buildName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,30}$/), fc.constant(''));

// Real keys, names and packages for the login and extras fields, so that some forms with them are accepted.
const loginValues: Record<string, fc.Arbitrary<string>> = {
  ssh_public_key: fc.constantFrom(ed25519Key(), rsaKey(2048, '')),
  login_user: fc.constantFrom('ops', 'jane_doe', '_svc-1'),
  packages: fc.constantFrom('tmux', 'htop, vim-enhanced', '@container-tools'),
};

/**
 * Plausible values for one field most of the time, hostile ones otherwise. A form is accepted only when every field
 * is, so with a dozen fields plausible values must dominate for a run of RUNS cases to meet both outcomes.
 */
function fieldValue(provider: 'aws' | 'gcp', field: InputField): fc.Arbitrary<string | null> {
  const offered = offeredValues(field.element);
  const plausible: fc.Arbitrary<string | null> =
    offered.length > 0
      ? fc.constantFrom(...offered)
      : field.blockId === 'image_name'
        ? buildName
        : field.blockId in loginValues
          ? loginValues[field.blockId]!
          : provider === 'aws'
            ? awsAccounts
            : gcpPrincipals;
  return fc.oneof(
    { arbitrary: plausible, weight: 8 },
    { arbitrary: hostileText, weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
  );
}

describe.each(['aws', 'gcp'] as const)('every field of the %s form', (provider) => {
  it('gets field errors keyed by its inputs, or is accepted and sends Image Builder only a valid compose request', async () => {
    const opened = h.slack.views().length;
    await h.command(provider);
    const view = await h.slack.waitFor(() => h.slack.views()[opened], { description: `the ${provider} form` });
    const fields = inputFields(view);
    const inputIds = fields.map((f) => f.blockId);
    const filled = fc.tuple(...fields.map((field) => fieldValue(provider, field)));
    const composePosts = () =>
      h.imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
    let accepted = 0;
    let refused = 0;

    await fc.assert(
      fc.asyncProperty(filled, fc.uuid(), async (values, viewId) => {
        const state: StateValues = Object.fromEntries(
          fields.map((field, i) => [field.blockId, stateOf(field.element, values[i] ?? null)]),
        );
        const postsBefore = composePosts().length;
        // A fresh view id per case: the app keys a submission by its view, so one form is one build at most.
        const answer = await h.post(viewSubmissionBody({ ...view, id: `V${viewId}` }, 'U1', state));

        expect(answer.status).toBe(200);
        expect(answer.elapsedMs).toBeLessThan(3_000);
        if (answer.text !== '') {
          refused += 1;
          const body = answer.json as { response_action?: string; errors?: Record<string, unknown> };
          expect(body.response_action).toBe('errors');
          const keys = Object.keys(body.errors ?? {});
          expect(keys.length).toBeGreaterThan(0);
          for (const key of keys) expect(inputIds).toContain(key);
          for (const message of Object.values(body.errors ?? {})) {
            expect(typeof message).toBe('string');
            expect((message as string).trim()).not.toBe('');
          }
          expect(composePosts()).toHaveLength(postsBefore);
          return;
        }
        accepted += 1;
        // Accepted: the request goes to Image Builder, and the client's own check never has to refuse it.
        const posted = await eventually(
          async () => {
            if (composePosts().length > postsBefore) return { post: composePosts()[postsBefore]! };
            const [newest] = await h.store().listNewest({ limit: 1 });
            return newest?.rejection ? { rejection: newest.rejection } : undefined;
          },
          { timeoutMs: 10_000, description: 'the accepted form to reach Image Builder' },
        );
        expect(posted).not.toHaveProperty('rejection');
        const { post } = posted;
        if (post) {
          expect(composeRequestSchema.safeParse(post.body).error?.issues).toBeUndefined();
          expect(post.status).toBe(201);
        }
      }),
      { numRuns: RUNS },
    );

    // Everything Image Builder was ever sent passes the schema the service enforces.
    for (const post of composePosts()) expect(composeRequestSchema.safeParse(post.body).success).toBe(true);
    // Every accepted request got its thread: Slack took every post the app made.
    await h.slack.waitFor(() => h.slack.callsTo('chat.postMessage').length >= accepted || undefined, {
      description: 'the threads',
    });
    expect(h.slack.callsTo('chat.postMessage').filter((c) => !(c.response.body as { ok?: boolean }).ok)).toEqual([]);
    expect(h.slack.problems).toEqual([]);
    // Both outcomes were exercised, or the property proved little.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);
});
