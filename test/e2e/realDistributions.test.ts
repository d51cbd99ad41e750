import type { SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { describeWithRealDistributions, realDistributionAnswers } from '../support/realDistributions';
import { startHarness, type Harness } from './harness';

/*
 * The compose forms when Image Builder answers GET /distributions and GET /architectures/{distribution} as the
 * real service does: what the distribution select offers, in which order, and what it starts on.
 */

let h: Harness | undefined;
afterEach(async () => h?.close());

interface Select {
  options?: { value: string }[];
  initial_option?: { value: string };
}

function distributionSelect(view: SlackView): Select {
  const block = (view.blocks as { block_id?: string; element?: Select }[]).find((b) => b.block_id === 'distribution');
  if (!block?.element) throw new Error('the form has no distribution select');
  return block.element;
}

/** The app, once its catalog has read the service's answers (it logs when it has). */
async function appWithRealAnswers(): Promise<Harness> {
  const { distributions, architectures } = realDistributionAnswers();
  const harness = await startHarness({ imageBuilder: { distributions, architectures } });
  h = harness;
  await eventually(() => harness.logLines.some((line) => line.includes('"msg":"distribution list refreshed"')), {
    description: 'the distribution list to be read from the fake Image Builder',
  });
  return harness;
}

async function openForm(harness: Harness, cloud: string): Promise<Select> {
  const opened = harness.slack.views().length;
  expect((await harness.command(cloud)).status).toBe(200);
  const view = await harness.slack.waitFor(() => harness.slack.views()[opened], { description: `the ${cloud} form` });
  return distributionSelect(view);
}

describeWithRealDistributions('the distribution select, with the real service’s answers', () => {
  it('starts on RHEL 10 and offers the newest releases first, the old names of RHEL minors after the modern ones', async () => {
    const select = await openForm(await appWithRealAnswers(), 'aws');
    const offered = select.options!.map((o) => o.value);

    expect(select.initial_option?.value).toBe('rhel-10');
    expect(offered.slice(0, 6)).toEqual(['rhel-10', 'rhel-10.2', 'rhel-10.1', 'rhel-10.0', 'rhel-10-beta', 'rhel-9']);
    expect(offered.indexOf('rhel-95')).toBeGreaterThan(offered.indexOf('rhel-9.6'));
    expect(offered.indexOf('centos-10')).toBeGreaterThan(offered.indexOf('rhel-84'));
  });
});
