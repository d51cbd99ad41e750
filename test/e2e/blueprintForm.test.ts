import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { FakeBlueprintSeed } from '../../src/demo/fakes/imageBuilderBlueprints';
import type { BuildRequest } from '../../src/store/store';
import { blockActionsBody, blockSuggestionBody } from '../support/slackRequests';
import { eventually } from '../support/eventually';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * The compose form starting from one of the organisation's blueprints, end to end through /slack/events against the
 * fake Image Builder's blueprint routes: choosing one updates the open form, the submission writes the order's lead
 * (the tracker submits it), and what changed since the form was opened is said on the form, with nothing written.
 */

const harness = useHarness();
let h: Harness;

const ALICE = 'U0ALICE01';
const BUILDS = 'C0BUILDS1';
const RANDOM = 'C0RANDOM1';
const GOLDEN_ID = '677b010b-e95e-4694-9813-d11d847f1bfc';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0bNqkGeDUFJn6kB2Cq6o5bO8Yc1dPZk5PzPK2Iwn4 admin@example.com';

const awsImage = (architecture: 'x86_64' | 'aarch64') => ({
  architecture,
  image_type: 'aws',
  upload_request: { type: 'aws' as const, options: { share_with_accounts: ['123456789012'] } },
});

const golden: FakeBlueprintSeed = {
  id: GOLDEN_ID,
  name: 'rhel9-golden',
  description: 'The platform team’s RHEL 9 base',
  distribution: 'rhel-9',
  image_requests: [awsImage('x86_64'), awsImage('aarch64')],
  customizations: { packages: ['aide', 'tmux'], users: [{ name: 'admin', groups: ['wheel'], ssh_key: KEY }] },
  earlierVersions: [
    { name: 'rhel9-golden', distribution: 'rhel-9', image_requests: [awsImage('x86_64')], customizations: {} },
  ],
};

async function start(options: HarnessOptions = {}, seeds: FakeBlueprintSeed[] = [golden]) {
  h = await harness.start({
    ...options,
    imageBuilder: { blueprints: seeds, ...options.imageBuilder },
    blueprints: { refreshMs: 200, ...options.blueprints },
  });
  await eventually(() => h.imageBuilder.requests.some((r) => r.path.endsWith('/blueprints')), {
    description: 'the app to read the blueprints',
  });
}

const currentView = () => h.slack.views().at(-1)!;
const viewText = () => blocksText(currentView().blocks);

async function openForm(channel = BUILDS) {
  const before = h.slack.views().length;
  expect((await h.command('aws', { user_id: ALICE, channel_id: channel })).status).toBe(200);
  await eventually(() => h.slack.views().length > before, { description: 'the form to open' });
}

/** Chooses `value` in "Start from", as Slack sends it, and waits for the form to show it. */
async function startFrom(value: string, shows: string) {
  const body = blockActionsBody({
    user: ALICE,
    actionId: 'start_from',
    source: { view: currentView() },
    selected: value,
    fills: { start_from: value },
  });
  expect((await h.post(body)).status).toBe(200);
  await eventually(() => viewText().includes(shows), { description: `the form to show ${shows}` });
}

const savedRequests = async (): Promise<BuildRequest[]> => h.store().listNewest({ limit: 10 });

/** The fake's request log, waited on until the catalog has asked again after `since` requests. */
async function catalogAskedAgain() {
  const before = h.imageBuilder.requests.filter((r) => r.path.endsWith('/blueprints')).length;
  await eventually(() => h.imageBuilder.requests.filter((r) => r.path.endsWith('/blueprints')).length > before, {
    description: 'the blueprint list to be read again',
  });
}

describe('building from a blueprint, through the form', () => {
  it('updates the open form with what the blueprint brings and writes the order for its own share targets', async () => {
    await start();
    await openForm();
    expect(viewText()).toContain('A plain image');
    await startFrom(GOLDEN_ID, 'version 2');
    expect(viewText()).toContain('Packages: 2');
    expect(viewText()).toContain('admin');

    expect((await h.submitModal({}, ALICE)).status).toBe(200);
    const [lead] = await savedRequests();
    expect(lead).toMatchObject({
      requesterId: ALICE,
      channelId: BUILDS,
      distribution: 'rhel-9',
      imageName: 'rhel9-golden',
      blueprint: { id: GOLDEN_ID, name: 'rhel9-golden', version: 2, targets: 'blueprint' },
      orderIndex: 0,
    });
    expect(lead!.orderId).toBe(lead!.id);
    expect(JSON.parse(lead!.composeRequest)).toEqual({ image_types: ['aws'] });
  });

  it('builds it once with its own share targets: one POST /blueprints/{id}/compose for both images of the order', async () => {
    await start();
    await openForm();
    await startFrom(GOLDEN_ID, 'version 2');
    expect((await h.submitModal({}, ALICE)).status).toBe(200);

    await eventually(() => h.imageBuilder.blueprintComposeRequests(GOLDEN_ID).length === 1, {
      description: 'the order to be submitted',
    });
    expect(h.imageBuilder.blueprintComposeRequests(GOLDEN_ID)[0]!.body).toEqual({ image_types: ['aws'] });
    await eventually(async () => (await savedRequests()).length === 2, { description: 'both images to be followed' });
    expect(
      h.imageBuilder.requests.filter(
        (r) => r.method === 'POST' && r.path.endsWith('/compose') && !r.path.includes('/blueprints/'),
      ),
    ).toEqual([]);
  });

  it("builds a blueprint with the requester's share targets as a POST /compose of its content, read when it is sent", async () => {
    await start();
    expect((await h.command('gcp', { user_id: ALICE, channel_id: BUILDS })).status).toBe(200);
    await eventually(() => h.slack.views().length > 0, { description: 'the form to open' });
    await startFrom(GOLDEN_ID, 'version 2');
    expect(viewText()).toContain('no image for');
    expect((await h.submitModal({ share_with: 'user:alice@example.com' }, ALICE)).status).toBe(200);

    const post = await eventually(
      () => h.imageBuilder.requests.find((r) => r.method === 'POST' && r.path.endsWith('/v1/compose')),
      { description: 'the compose to be sent' },
    );
    const body = post.body as Record<string, unknown> & {
      image_requests: { image_type: string; upload_request: unknown }[];
    };
    expect(body).toMatchObject({
      distribution: 'rhel-9',
      customizations: { packages: ['aide', 'tmux'], users: [{ name: 'admin', groups: ['wheel'], ssh_key: KEY }] },
    });
    expect(body.image_requests[0]).toMatchObject({
      image_type: 'gcp',
      upload_request: { type: 'gcp', options: { share_with_accounts: ['user:alice@example.com'] } },
    });
    const [lead] = await savedRequests();
    expect(lead!.blueprint).toEqual({ id: GOLDEN_ID, name: 'rhel9-golden', version: 2, targets: 'requester' });
  });

  it('does not offer the requester’s share targets for a blueprint whose users log in by password only', async () => {
    const passwordOnly = {
      ...golden,
      customizations: { users: [{ name: 'ops', password: 'never-returned-1' }] },
      earlierVersions: [],
    };
    await start({}, [passwordOnly]);
    expect((await h.command('gcp', { user_id: ALICE, channel_id: BUILDS })).status).toBe(200);
    await eventually(() => h.slack.views().length > 0, { description: 'the form to open' });
    await startFrom(GOLDEN_ID, 'logs in by password only');
    expect(JSON.stringify(currentView())).not.toContain('never-returned-1');
    const answer = await h.submitModal({}, ALICE);
    expect(JSON.stringify(answer.json)).toContain('cannot be built here: `ops` logs in by password only');
    expect(await savedRequests()).toEqual([]);
  });

  it('says on the form that the blueprint changed since it was opened, and writes nothing', async () => {
    await start();
    await openForm();
    await startFrom(GOLDEN_ID, 'version 2');
    h.imageBuilder.saveBlueprintVersion(GOLDEN_ID, { customizations: { packages: ['aide'] } });
    await catalogAskedAgain();

    const answer = await h.submitModal({}, ALICE);
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { start_from: expect.stringContaining('changed to v3 since you opened this form (v2)') },
    });
    expect(await savedRequests()).toEqual([]);
  });

  it('says on the form that the blueprint was deleted since it was opened, and writes nothing', async () => {
    await start();
    await openForm();
    await startFrom(GOLDEN_ID, 'version 2');
    h.imageBuilder.deleteBlueprint(GOLDEN_ID);
    await catalogAskedAgain();

    const answer = await h.submitModal({}, ALICE);
    expect(JSON.stringify(answer.json)).toContain('was deleted since you opened this form');
    expect(await savedRequests()).toEqual([]);
  });

  it('shows lint errors in the service words and refuses to build until they are fixed', async () => {
    await start();
    h.imageBuilder.setBlueprintLint(GOLDEN_ID, {
      errors: [{ name: 'tmux', description: 'package tmux is not available in rhel-9' }],
    });
    await openForm();
    await startFrom(GOLDEN_ID, 'package tmux is not available in rhel-9');

    const answer = await h.submitModal({}, ALICE);
    expect(JSON.stringify(answer.json)).toContain('has errors (shown above)');
    expect(await savedRequests()).toEqual([]);
  });

  it('offers only the blueprints the policy lets this channel build, and refuses the others on the server', async () => {
    const policy = `blueprints:\n  ${BUILDS}: [rhel9-golden]\n  "*": []\n`;
    await start({ policy });
    await openForm(RANDOM);
    expect(viewText()).not.toContain('rhel9-golden');
    // A form opened in #builds and submitted by someone in a channel where the rule forbids it is refused too.
    await openForm(BUILDS);
    await startFrom(GOLDEN_ID, 'version 2');
    const submitted = currentView();
    const metadata = JSON.parse(submitted.private_metadata as string) as Record<string, unknown>;
    const elsewhere = { ...submitted, private_metadata: JSON.stringify({ ...metadata, channelId: RANDOM }) };
    const answer = await h.submitModal({}, ALICE, elsewhere);
    expect(JSON.stringify(answer.json)).toContain('rhel9-golden');
    expect(await savedRequests()).toEqual([]);
  });

  it('searches 150 blueprints from the cached list, without asking Image Builder while Slack waits', async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      ...golden,
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `team-${String(i).padStart(3, '0')}`,
      earlierVersions: [],
    }));
    await start({}, many);
    await eventually(() => h.imageBuilder.requests.filter((r) => r.path.endsWith('/blueprints')).length >= 2, {
      description: 'both pages of the list to be read',
    });
    await openForm();
    const select = currentView().blocks.find((b) => (b as { block_id?: string }).block_id === 'start_from') as {
      element: { type: string };
    };
    expect(select.element.type).toBe('external_select');

    const before = h.imageBuilder.requests.length;
    const answer = await h.post(
      blockSuggestionBody({
        user: ALICE,
        view: currentView(),
        blockId: 'start_from',
        actionId: 'start_from',
        value: '14',
      }),
    );
    const options = (answer.json as { options: { value: string; text: { text: string } }[] }).options;
    expect(options[0]!.value).toBe('plain');
    expect(
      options
        .slice(1)
        .map((o) => o.text.text)
        .sort(),
    ).toEqual(['team-014 (v1)', 'team-114 (v1)', ...Array.from({ length: 10 }, (_, i) => `team-${140 + i} (v1)`)]);
    expect(h.imageBuilder.requests.slice(before).filter((r) => r.kind === 'api')).toEqual([]);
  });
});

describe('a form whose opener the policy stops letting in', () => {
  it('searches and reads no blueprint for them, and says why on the form', async () => {
    const onlyOne = (user: string) => `requesters:\n  users: [${user}]\n`;
    await start({ policy: onlyOne(ALICE) });
    await openForm();
    const opened = currentView();
    writeFileSync(path.join(path.dirname(h.databasePath), 'policy.yaml'), onlyOne('U0BOB0002'));
    await h.restart();
    await catalogAskedAgain();
    await catalogAskedAgain();
    const before = h.imageBuilder.requests.length;

    const suggestion = await h.post(
      blockSuggestionBody({
        user: ALICE,
        view: opened,
        blockId: 'start_from',
        actionId: 'start_from',
        value: 'golden',
      }),
    );
    const options = (suggestion.json as { options: { value: string }[] }).options;
    expect(options.map((o) => o.value)).not.toContain(GOLDEN_ID);

    await startFrom(GOLDEN_ID, 'may request images');
    expect(viewText()).not.toContain('tmux');
    expect(h.imageBuilder.requests.slice(before).filter((r) => r.path.includes(`/blueprints/${GOLDEN_ID}`))).toEqual(
      [],
    );
    expect((await h.store().listAudit(new Date(0))).filter((e) => e.kind === 'refused').map((e) => e.actorId)).toEqual([
      ALICE,
    ]);
  });
});

describe('/image-builder build <blueprint>', () => {
  it('opens the form with the blueprint chosen, its name matched in any case', async () => {
    await start();
    expect((await h.command('build RHEL9-Golden', { user_id: ALICE, channel_id: BUILDS })).status).toBe(200);
    await eventually(() => h.slack.views().length > 0 && viewText().includes('version 2'), {
      description: 'the form to show the blueprint',
    });
    expect(JSON.parse(currentView().private_metadata as string)).toMatchObject({
      provider: 'aws',
      blueprint: { id: GOLDEN_ID, version: 2, targets: 'blueprint' },
    });
  });

  it('answers an unknown name with the closest ones', async () => {
    await start();
    expect((await h.command('build rhel9-goldn', { user_id: ALICE, channel_id: BUILDS })).status).toBe(200);
    const reply = await h.slack.waitForCall('response_url');
    expect(JSON.stringify(reply.args)).toContain('I know no blueprint called');
    expect(JSON.stringify(reply.args)).toContain('rhel9-golden');
    expect(h.slack.views()).toEqual([]);
  });
});

describe('Rebuild of a blueprint build', () => {
  it('opens the form at the blueprint’s latest version and says it moved on ("v2 → v4")', async () => {
    await start();
    await openForm();
    await startFrom(GOLDEN_ID, 'version 2');
    expect((await h.submitModal({}, ALICE)).status).toBe(200);
    const result = await eventually(
      () =>
        h.slack
          .messages(BUILDS)
          .find((m) => m.thread_ts && JSON.stringify(m.blocks ?? []).includes('"action_id":"rebuild"')),
      { description: 'a result with Rebuild', timeoutMs: 15_000 },
    );
    h.imageBuilder.saveBlueprintVersion(GOLDEN_ID, { customizations: { packages: ['aide'] } });
    h.imageBuilder.saveBlueprintVersion(GOLDEN_ID, { customizations: { packages: ['aide', 'vim-enhanced'] } });
    await catalogAskedAgain();
    await eventually(() => h.imageBuilder.requests.filter((r) => r.path.endsWith('/blueprints')).length > 0);

    const opened = h.slack.views().length;
    const press = blockActionsBody({
      user: ALICE,
      actionId: 'rebuild',
      source: { message: result, responseUrl: h.slack.responseUrl(`rebuild-${result.ts}`) },
    });
    expect((await h.post(press)).status).toBe(200);
    await eventually(() => h.slack.views().length > opened && viewText().includes('v2 → v4'), {
      description: 'the form to show the latest version',
    });
    expect(viewText()).toContain('version 4');
    expect(JSON.parse(currentView().private_metadata as string)).toMatchObject({ blueprint: { version: 4 } });
  });
});
