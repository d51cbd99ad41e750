import { blocksText } from '../../src/demo/fakes/blockKit';
import type { BlueprintItem } from '../../src/imageBuilder/blueprintSchemas';
import type { FakeSlackCall } from '../fakes/slackApi';
import { blueprintItem } from '../imageBuilder/blueprintBodies';
import { eventually } from '../support/eventually';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * `/image-builder blueprints`, end to end through /slack/events: the organisation's blueprints this channel may
 * build, answered privately from the list the app keeps. The fake Image Builder has no GET /blueprints yet, so the
 * app's client is given a stand-in `listBlueprints` (HarnessOptions.blueprints) that counts its calls.
 */

const harness = useHarness();
let h: Harness;

const ALICE = 'U0ALICE01';
const MALLORY = 'U0MALLRY4';
const BUILDS = 'C0BUILDS1';
const RANDOM = 'C0RANDOM1';
const DM = 'D0ALICE01';
const HOUR = 60 * 60 * 1000;

const ORGANISATION = [
  blueprintItem({ name: 'rhel9-golden', version: 7, last_modified_at: '2026-11-29T09:00:00Z' }),
  blueprintItem({ id: '4a5b8c1e-0d4f-4b1a-9e3c-2f7a6b5c4d3e', name: 'Web-Base', description: 'nginx on RHEL 9' }),
  blueprintItem({ id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b', name: 'db-hardened', description: 'PostgreSQL' }),
] as BlueprintItem[];

const POLICY = `
requesters:
  users: [${ALICE}]
blueprints:
  ${BUILDS}: [rhel9-golden, web-base]
  "*": [WEB-BASE]
`;

/** A stand-in for GET /blueprints that answers from `answers` in turn (the last one again and again). */
function serviceAnswering(...answers: (() => Promise<BlueprintItem[]>)[]) {
  let calls = 0;
  return {
    listBlueprints: () => answers[Math.min(calls++, answers.length - 1)]!(),
    calls: () => calls,
  };
}

async function start(options: HarnessOptions, service: ReturnType<typeof serviceAnswering>) {
  h = await harness.start({
    policy: POLICY,
    ...options,
    blueprints: { listBlueprints: service.listBlueprints, ...options.blueprints },
  });
  await eventually(() => service.calls() > 0, { description: 'the app to ask for the blueprints' });
}

/** What `user` is answered, typing `/image-builder blueprints` in `channel`. */
async function blueprintsAs(user: string, channel: string): Promise<string> {
  const before = h.slack.callsTo('response_url').length;
  expect((await h.command('blueprints', { user_id: user, channel_id: channel })).status).toBe(200);
  const call: FakeSlackCall = await h.slack.waitFor(
    (calls) => calls.filter((c) => c.method === 'response_url')[before],
    { description: `the answer to ${user}'s blueprints command` },
  );
  expect(call.args.response_type).toBe('ephemeral');
  return `${String(call.args.text)}\n${blocksText(call.args.blocks)}`;
}

describe('/image-builder blueprints', () => {
  it('lists privately the blueprints this channel may build, and the "*" rule decides elsewhere and in a DM', async () => {
    const now = new Date('2026-12-01T09:00:00Z');
    const service = serviceAnswering(async () => ORGANISATION);
    await start({ clock: { now: () => now } }, service);

    const inBuilds = await blueprintsAs(ALICE, BUILDS);
    expect(inBuilds).toContain('*rhel9-golden* v7 · changed 2 days ago');
    expect(inBuilds).toContain('*Web-Base* v3');
    expect(inBuilds).toContain('nginx on RHEL 9');
    expect(inBuilds).not.toContain('db-hardened');
    expect(inBuilds).not.toContain('could not be asked');

    for (const channel of [RANDOM, DM]) {
      const elsewhere = await blueprintsAs(ALICE, channel);
      expect(elsewhere).toContain('*Web-Base*');
      expect(elsewhere).not.toContain('rhel9-golden');
      expect(elsewhere).not.toContain('db-hardened');
    }

    // Someone the policy does not let request images learns nothing of the organisation's blueprints.
    const refused = await blueprintsAs(MALLORY, BUILDS);
    expect(refused).toContain('may request images');
    expect(refused).not.toContain('Web-Base');
    expect(h.slack.problems).toEqual([]);
  });

  it('says the list is not available yet while Image Builder has not answered', async () => {
    const service = serviceAnswering(() => new Promise<BlueprintItem[]>(() => undefined));
    await start({}, service);
    expect(await blueprintsAs(ALICE, BUILDS)).toContain('The list of blueprints is not available yet');
  });

  it('keeps offering the last list when Image Builder stops answering, and says how old it is', async () => {
    let now = new Date('2026-12-01T09:00:00Z');
    const service = serviceAnswering(
      async () => ORGANISATION,
      () => Promise.reject(new Error('Image Builder is unavailable')),
    );
    await start({ clock: { now: () => now }, blueprints: { refreshMs: 50 } }, service);
    await eventually(() => service.calls() > 2, { description: 'refreshes that fail' });
    now = new Date(now.getTime() + 3 * HOUR);

    const stale = await blueprintsAs(ALICE, BUILDS);
    expect(stale).toContain('Image Builder could not be asked lately; this list is from 3 hours ago.');
    expect(stale).toContain('*rhel9-golden*');
    expect(h.logLines.filter((line) => line.includes('could not refresh the blueprint list'))).toHaveLength(1);
  });
});
