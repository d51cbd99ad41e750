import { randomUUID } from 'node:crypto';
import { addDays, addMinutes } from 'date-fns';
import { blocksText } from '../../src/demo/fakes/blockKit';
import { defaultScript, type FakeBlueprintSeed } from '../fakes/imageBuilderService';
import type { FakeSlackMessage } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { statusRank } from '../faults/faultSupport';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * A blueprint order built with the blueprint's own share targets, end to end through the real app: one POST
 * /blueprints/{id}/compose for the whole order, one thread (a parent naming the blueprint and its version, one
 * status reply listing every image), and a result and a reminder per image.
 *
 * The order's lead row is seeded in the store exactly as the compose form will write it on submission (that form is
 * being written alongside this; see the contract in store.ts's BlueprintRef): the rest is the app's own doing.
 */

jest.setTimeout(60_000);

const harness = useHarness();
let h: Harness;

/** Two polls to the end, so an image finishes in well under a second. */
const QUICK = ['pending', 'success'] as const;
const FAILING = ['pending', 'failure'] as const;

const awsImage = (architecture: 'x86_64' | 'aarch64') => ({
  architecture,
  image_type: 'aws',
  upload_request: { type: 'aws' as const, options: { share_with_accounts: ['123456789012'] } },
});

/** The organisation's golden image: two image requests for AWS, one per architecture. */
const GOLDEN: FakeBlueprintSeed = {
  name: 'rhel9-golden',
  description: 'The platform team’s RHEL 9',
  distribution: 'rhel-9',
  image_requests: [awsImage('x86_64'), awsImage('aarch64')],
  customizations: {},
};

async function start(options: HarnessOptions = {}): Promise<string> {
  h = await harness.start({ ...options, imageBuilder: { script: [...QUICK], ...options.imageBuilder } });
  return h.imageBuilder.addBlueprint(GOLDEN);
}

/** Inserts the lead of an order of `blueprintId` as the form writes it (version 1 unless told), in channel C1. */
async function seedOrder(
  blueprintId: string,
  version = 1,
  createdAt = new Date(),
  imageTypes = ['aws'],
): Promise<string> {
  const id = randomUUID();
  await h.store().insert({
    id,
    orderId: id,
    orderIndex: 0,
    blueprint: { id: blueprintId, name: 'rhel9-golden', version, targets: 'blueprint' },
    idempotencyKey: `V-${id}`,
    requesterId: 'U1',
    channelId: 'C1',
    responseUrl: null,
    provider: 'aws',
    distribution: 'rhel-9',
    architecture: 'x86_64',
    imageName: 'rhel9-golden',
    shareSummary: 'Shared as saved in the blueprint rhel9-golden',
    composeRequest: JSON.stringify({ image_types: imageTypes }),
    createdAt,
  });
  return id;
}

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

/** The threads of C1: each parent with its replies, oldest first. */
function threads() {
  const messages = h.slack.messages('C1').filter((m) => !m.deleted);
  return messages
    .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
    .map((parent) => ({ parent, replies: messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) }));
}

/** The order's rows once every one is finished (done or rejected). */
function finishedOrder(leadId: string, images: number) {
  return eventually(
    async () => {
      const rows = await h.store().listOrder(leadId);
      return rows.length === images && rows.every((r) => r.state === 'done' || r.state === 'rejected') && rows;
    },
    { timeoutMs: 20_000, description: `the ${images} images of the order to finish` },
  );
}

const composePosts = () => h.imageBuilder.apiRequests().filter((r) => r.method === 'POST');

describe('a blueprint order with the blueprint’s share targets', () => {
  it('sends one POST for the order and follows both images in one thread, with a result each', async () => {
    const blueprintId = await start();
    const leadId = await seedOrder(blueprintId);
    const rows = await finishedOrder(leadId, 2);

    expect(h.imageBuilder.blueprintComposeRequests(blueprintId).map((r) => r.body)).toEqual([{ image_types: ['aws'] }]);
    expect(composePosts()).toHaveLength(1);
    expect(rows.map((r) => [r.orderIndex, r.architecture, r.state, r.status])).toEqual([
      [0, 'x86_64', 'done', 'success'],
      [1, 'aarch64', 'done', 'success'],
    ]);
    expect(new Set(rows.map((r) => r.composeId)).size).toBe(2);

    // One parent, one status reply, two results: every message the app posted is in this thread.
    const [thread, ...others] = threads();
    expect(others).toEqual([]);
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(4);
    const [status, ...results] = thread!.replies;
    expect(results).toHaveLength(2);
    expect(text(thread!.parent)).toContain('rhel9-golden v1');
    expect(text(thread!.parent)).toMatch(/x86_64 aws: \S+ \*Ready\*/);
    expect(text(thread!.parent)).toMatch(/aarch64 aws: \S+ \*Ready\*/);
    expect(text(status)).toMatch(/\*x86_64 aws\* — \S+ \*Ready\*/);
    expect(text(status)).toMatch(/\*aarch64 aws\* — \S+ \*Ready\*/);
    for (const row of rows) expect(text(status)).toContain(row.composeId!);

    const resultTexts = results.map(text);
    expect(resultTexts.find((t) => t.includes('(x86_64 aws)'))).toMatch(/is ready.*[\s\S]*run-instances/);
    expect(resultTexts.find((t) => t.includes('(aarch64 aws)'))).toMatch(/is ready.*[\s\S]*run-instances/);

    // The audit log has a submission per compose, each naming the blueprint and its version.
    const submitted = (await h.store().listAudit(new Date(0))).filter((e) => e.kind === 'submitted');
    expect(submitted.map((e) => [e.requestId, e.detail.composeId, e.detail.blueprint])).toEqual(
      rows.map((r) => [r.id, r.composeId, 'rhel9-golden v1']),
    );
  });

  it('builds nothing when the blueprint was deleted before the order was sent, and says so', async () => {
    const blueprintId = await start();
    h.imageBuilder.deleteBlueprint(blueprintId);
    const leadId = await seedOrder(blueprintId);
    const [lead] = await finishedOrder(leadId, 1);

    expect(lead!.state).toBe('rejected');
    expect(composePosts()).toEqual([]);
    const result = await h.slack.waitFor(() => threads()[0]?.replies[1], { description: 'the rejection' });
    expect(text(result)).toContain('The blueprint rhel9-golden was deleted or renamed in Image Builder');
    expect(text(result)).toContain('nothing was built');
  });

  it('builds nothing when the blueprint was saved again since it was asked for, naming both versions', async () => {
    const blueprintId = await start();
    expect(h.imageBuilder.saveBlueprintVersion(blueprintId, { description: 'now with FIPS' })).toBe(2);
    const leadId = await seedOrder(blueprintId, 1);
    const [lead] = await finishedOrder(leadId, 1);

    expect(lead!.state).toBe('rejected');
    expect(composePosts()).toEqual([]);
    const result = await h.slack.waitFor(() => threads()[0]?.replies[1], { description: 'the rejection' });
    expect(text(result)).toContain('rhel9-golden changed to v2 since you asked for v1; nothing was built');
    expect(text(threads()[0]!.parent)).toContain('rhel9-golden v1');
  });

  it('builds nothing when the blueprint has no saved image of the asked type, and says why', async () => {
    const blueprintId = await start();
    const leadId = await seedOrder(blueprintId, 1, new Date(), ['gcp']);
    const [lead] = await finishedOrder(leadId, 1);

    expect(lead!.state).toBe('rejected');
    expect(composePosts()).toEqual([]);
    const result = await h.slack.waitFor(() => threads()[0]?.replies[1], { description: 'the rejection' });
    expect(text(result)).toContain('rhel9-golden v1 has no saved image of type gcp, so nothing was built');
  });

  it('shows the service’s words when it refuses the order (quota), with nothing built', async () => {
    const blueprintId = await start({ imageBuilder: { quota: { builds: 0, days: 30 } } });
    const leadId = await seedOrder(blueprintId);
    const [lead] = await finishedOrder(leadId, 1);

    expect(lead!.state).toBe('rejected');
    expect(h.imageBuilder.composes.size).toBe(0);
    const result = await h.slack.waitFor(() => threads()[0]?.replies[1], { description: 'the rejection' });
    expect(text(result)).toMatch(/Quota of 0 builds per 30 days exceeded/);
  });

  it('follows the image that succeeded and reports the one that failed, each in its own reply', async () => {
    const blueprintId = await start();
    h.imageBuilder.script('next', [...QUICK]);
    h.imageBuilder.script('next', [...FAILING]);
    const leadId = await seedOrder(blueprintId);
    const rows = await finishedOrder(leadId, 2);

    expect(rows.map((r) => [r.architecture, r.state, r.status])).toEqual([
      ['x86_64', 'done', 'success'],
      ['aarch64', 'done', 'failure'],
    ]);
    const [thread] = threads();
    const results = thread!.replies.slice(1).map(text);
    expect(results).toHaveLength(2);
    expect(results.find((t) => t.includes('(x86_64 aws)'))).toContain('is ready');
    expect(results.find((t) => t.includes('(aarch64 aws)'))).toContain('failed');
    expect(text(thread!.parent)).toMatch(/x86_64 aws: \S+ \*Ready\*/);
    expect(text(thread!.parent)).toMatch(/aarch64 aws: \S+ \*Failed\*/);
  });
});

describe('an order’s thread when Slack is the slow side', () => {
  /** Each image's status in one version of the status reply ("Status: x86_64 aws Building — step 3 of 7; …"). */
  const imageStates = (statusText: string) =>
    Object.fromEntries(
      statusText
        .replace(/^Status: /, '')
        .split('; ')
        .map((line) => [line.split(' ')[0], statusRank(line)]),
    );

  it('edits the status reply towards the newest state of each image, never back, and settles the parent once', async () => {
    const blueprintId = await start({
      slackPace: { postPerChannelMs: 0, updateMs: 150 },
      // Seven build steps and more per image: more steps than edits can go out.
      imageBuilder: { script: defaultScript() },
    });
    const leadId = await seedOrder(blueprintId);
    await finishedOrder(leadId, 2);
    const [thread] = threads();
    const [status] = thread!.replies;
    const versions = [...status!.history.map((v) => v.text), status!.text].filter((t) => t.includes('; '));

    expect(versions.at(-1)).toBe('Status: x86_64 aws Ready; aarch64 aws Ready');
    for (const arch of ['x86_64', 'aarch64']) {
      const ranks = versions.map((v) => imageStates(v)[arch] as number);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    }
    // The parent says "in progress" (for one image, then for the order once it is known) until both have ended.
    const parents = [...thread!.parent.history.map((v) => v.text), thread!.parent.text];
    expect(parents.slice(0, -1).every((t) => t.endsWith('in progress'))).toBe(true);
    expect(parents.at(-1)).toBe(
      'rhel9-golden v1: 2 images on Amazon Web Services: x86_64 aws Ready, aarch64 aws Ready',
    );
    expect(parents.length).toBeLessThanOrEqual(3);
  });
});

describe('a restart between the POST and its record', () => {
  it('sends no second POST and follows both composes the first one made', async () => {
    const blueprintId = await start();
    // Every answer waits, so the app is still waiting for the POST's when the test takes its store away.
    h.imageBuilder.setResponseDelay(400);
    const leadId = await seedOrder(blueprintId);
    await eventually(async () => (await h.store().get(leadId))?.submittedAt, {
      timeoutMs: 10_000,
      intervalMs: 5,
      description: 'the order to be marked as being sent',
    });
    // The process dies with the POST under way: nothing it learns from now on is recorded.
    await h.store().close();
    await h.imageBuilder.waitFor((fake) => fake.blueprintComposeRequests(blueprintId).length === 1, {
      description: 'the POST to reach Image Builder',
    });
    await h.crash().catch(() => undefined);
    const left = h.imageBuilder.composes.size;
    expect(left).toBe(2);

    h.imageBuilder.setResponseDelay(0);
    await h.restart();
    const rows = await finishedOrder(leadId, 2);

    expect(h.imageBuilder.blueprintComposeRequests(blueprintId)).toHaveLength(1);
    expect(h.imageBuilder.composes.size).toBe(2);
    expect(new Set(rows.map((r) => r.composeId))).toEqual(new Set(h.imageBuilder.composes.keys()));
    expect(rows.map((r) => [r.architecture, r.status])).toEqual([
      ['x86_64', 'success'],
      ['aarch64', 'success'],
    ]);
    const [thread, ...others] = threads();
    expect(others).toEqual([]);
    expect(thread!.replies).toHaveLength(3);
  });
});

describe('an answer that leaves it unknown whether the order was built', () => {
  it('sends the order again only once the blueprint’s history shows nothing was made (a 502 from a gateway)', async () => {
    const blueprintId = await start();
    h.imageBuilder.fail(1, 502, 'Bad Gateway', { method: 'POST', path: /\/blueprints\/[^/]+\/compose$/ });
    const leadId = await seedOrder(blueprintId);
    const rows = await finishedOrder(leadId, 2);

    expect(h.imageBuilder.blueprintComposeRequests(blueprintId).map((r) => r.status)).toEqual([502, 201]);
    // Before sending again, the app looked in the blueprint's history for what the first POST might have made.
    const firstRetry = h.imageBuilder.blueprintComposeRequests(blueprintId)[1]!.at;
    const lookedUp = h.imageBuilder
      .apiRequests()
      .filter(
        (r) => r.method === 'GET' && r.path.endsWith(`/blueprints/${blueprintId}/composes`) && r.at <= firstRetry,
      );
    expect(lookedUp.length).toBeGreaterThan(0);
    expect(h.imageBuilder.composes.size).toBe(2);
    expect(rows.map((r) => [r.architecture, r.status])).toEqual([
      ['x86_64', 'success'],
      ['aarch64', 'success'],
    ]);
  });

  it('follows what was made when the service refused part way (quota), and sends nothing again', async () => {
    const blueprintId = await start({ imageBuilder: { quota: { builds: 1, days: 30 } } });
    const leadId = await seedOrder(blueprintId);
    const rows = await finishedOrder(leadId, 1);

    expect(h.imageBuilder.blueprintComposeRequests(blueprintId).map((r) => r.status)).toEqual([403]);
    expect(h.imageBuilder.composes.size).toBe(1);
    expect(rows.map((r) => [r.architecture, r.state, r.status, r.composeId])).toEqual([
      ['x86_64', 'done', 'success', [...h.imageBuilder.composes.keys()][0]],
    ]);
  });
});

describe('expiry of an order’s images', () => {
  /** When the fake Image Builder creates every compose: to the second, as its created_at is. */
  const CREATED_AT = new Date('2025-03-03T09:00:00.000Z');

  it('reminds of each image in the order’s thread before Image Builder deletes it', async () => {
    const offset = CREATED_AT.getTime() - Date.now();
    // Both clocks stand still once the test sets a moment; until then the app's runs from CREATED_AT.
    const steered: { at?: Date } = {};
    const blueprintId = await start({
      clock: { now: () => steered.at ?? new Date(Date.now() + offset) },
      imageBuilder: { now: () => steered.at ?? CREATED_AT },
    });
    const leadId = await seedOrder(blueprintId, 1, new Date(Date.now() + offset));
    const rows = await finishedOrder(leadId, 2);
    expect(rows.map((r) => r.expiresAt)).toEqual([addDays(CREATED_AT, 14), addDays(CREATED_AT, 14)]);

    steered.at = addMinutes(addDays(CREATED_AT, 12), 1);
    const reminders = await h.slack.waitFor(
      () => {
        const later = threads()[0]?.replies.slice(3) ?? [];
        return later.length === 2 && later;
      },
      { timeoutMs: 10_000, description: 'a reminder per image' },
    );
    const shown = reminders.map(text);
    expect(shown.find((t) => t.includes('(x86_64 aws)'))).toContain('will be deleted by Image Builder');
    expect(shown.find((t) => t.includes('(aarch64 aws)'))).toContain('will be deleted by Image Builder');
    expect(threads()).toHaveLength(1);
  });
});
