import { isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { blockActionsBody } from '../support/slackRequests';
import { useHarness, type Harness } from './harness';

/*
 * The architectures a form offers follow the distribution chosen in it, as GET /architectures/{distribution} says
 * (from the catalog's cache): here rhel-10 builds AWS images on x86_64 only and rhel-9 on both.
 */

const harness = useHarness();
let h: Harness;

const both = (types: string[]) => [
  { arch: 'x86_64', image_types: types, repositories: [] },
  { arch: 'aarch64', image_types: types, repositories: [] },
];
const ARCHITECTURES = {
  'rhel-10': [
    { arch: 'x86_64', image_types: ['aws', 'guest-image'], repositories: [] },
    { arch: 'aarch64', image_types: ['guest-image'], repositories: [] },
  ],
  'rhel-9': both(['aws', 'guest-image']),
  'centos-9': both(['aws', 'guest-image']),
};

function element(view: SlackView, blockId: string): JsonObject | undefined {
  const block = view.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === blockId);
  return block?.element as JsonObject | undefined;
}
const offered = (view: SlackView, blockId: string) =>
  ((element(view, blockId)?.options ?? []) as { value: string }[]).map((o) => o.value);
const currentView = () => h.slack.views().at(-1)!;

async function chooseDistribution(distribution: string) {
  const updates = h.slack.callsTo('views.update').length;
  const body = blockActionsBody({
    user: 'U1',
    actionId: 'value',
    blockId: 'distribution',
    source: { view: currentView() },
    selected: distribution,
    fills: { distribution },
  });
  expect((await h.post(body)).status).toBe(200);
  await eventually(() => h.slack.callsTo('views.update').length > updates, { description: 'the form to change' });
}

describe('the architectures a form offers', () => {
  it('are those the chosen distribution builds the image on, and change when another is chosen', async () => {
    h = await harness.start({ imageBuilder: { architectures: ARCHITECTURES } });
    await eventually(() => h.imageBuilder.requests.filter((r) => r.path.includes('/architectures/')).length >= 3, {
      description: 'the app to read what each distribution builds',
    });
    const opened = h.slack.views().length;
    await h.command('aws', { user_id: 'U1', channel_id: 'C1' });
    const form = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the AWS form' });
    const distributionBlock = form.blocks.find((b) => isObject(b) && b.block_id === 'distribution') as JsonObject;
    expect(distributionBlock.dispatch_action).toBe(true);
    expect((element(form, 'distribution')?.initial_option as { value: string }).value).toBe('rhel-10');
    expect(offered(form, 'architecture')).toEqual(['x86_64']);

    await chooseDistribution('rhel-9');
    expect(offered(currentView(), 'architecture')).toEqual(['x86_64', 'aarch64']);
    // What was chosen stays chosen.
    expect((element(currentView(), 'distribution')?.initial_option as { value: string }).value).toBe('rhel-9');

    await chooseDistribution('rhel-10');
    expect(offered(currentView(), 'architecture')).toEqual(['x86_64']);
  });
});
