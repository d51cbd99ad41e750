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
  options?: { value: string; text?: { type: 'plain_text'; text: string } }[];
  initial_option?: { value: string };
}

function distributionSelect(view: SlackView): Select {
  const block = (view.blocks as { block_id?: string; element?: Select }[]).find((b) => b.block_id === 'distribution');
  if (!block?.element) throw new Error('the form has no distribution select');
  return block.element;
}

/** The app, once its catalog has read the service's answers: the list, then each distribution's architectures. */
async function appWithRealAnswers(): Promise<Harness> {
  const { distributions, architectures } = realDistributionAnswers();
  const harness = await startHarness({ imageBuilder: { distributions, architectures } });
  h = harness;
  await eventually(
    () => harness.logLines.some((line) => line.includes('"msg":"distribution architectures refreshed"')),
    {
      description: 'the distributions and their architectures to be read from the fake Image Builder',
    },
  );
  return harness;
}

async function openView(harness: Harness, cloud: string): Promise<SlackView> {
  const opened = harness.slack.views().length;
  expect((await harness.command(cloud)).status).toBe(200);
  return harness.slack.waitFor(() => harness.slack.views()[opened], { description: `the ${cloud} form` });
}

const openForm = async (harness: Harness, cloud: string) => distributionSelect(await openView(harness, cloud));

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

describeWithRealDistributions('what each form offers, with the real service’s answers', () => {
  const everything = () => realDistributionAnswers().distributions.map((d) => d.name);

  it.each([
    ['aws', ['hummingbird']],
    ['azure', ['hummingbird']],
    ['gcp', ['hummingbird']],
    // rhel-84 builds no guest image on either architecture.
    ['guest-image', ['hummingbird', 'rhel-84']],
    // rhel-85 … rhel-91 build a bare vSphere disk (vsphere) but no OVA: they are offered, the VMDK theirs to choose.
    ['vsphere', ['hummingbird', 'rhel-10-beta', 'rhel-84']],
    ['iso', ['hummingbird', 'rhel-84']],
    ['wsl', ['hummingbird', 'rhel-84', 'rhel-85', 'rhel-86', 'rhel-87', 'rhel-90', 'rhel-91', 'rhel-92', 'rhel-93']],
    ['oci', ['hummingbird', 'rhel-84', 'rhel-85', 'rhel-86', 'rhel-87', 'rhel-90', 'rhel-91']],
  ])('offers the %s form every distribution that builds its image, not %j', async (cloud, cannot) => {
    const offered = (await openForm(await appWithRealAnswers(), cloud)).options!.map((o) => o.value);

    expect([...offered].sort()).toEqual(
      everything()
        .filter((name) => !cannot.includes(name))
        .sort(),
    );
  });

  it('refuses a vSphere OVA of rhel-85, which builds only the bare disk, and builds that disk', async () => {
    const harness = await appWithRealAnswers();
    await openView(harness, 'vsphere');
    expect((await harness.submitModal({ distribution: 'rhel-85' })).json).toEqual({
      response_action: 'errors',
      errors: {
        distribution:
          'Image Builder does not build vsphere-ova of rhel-85 on x86_64; choose another distribution or another image type.',
      },
    });
    expect((await harness.submitModal({ distribution: 'rhel-85', vsphere_format: 'vmdk' })).text).toBe('');
    const posted = await eventually(
      () => harness.imageBuilder.apiRequests().find((r) => r.method === 'POST' && r.path.endsWith('/compose')),
      { description: 'the compose to be sent' },
    );
    expect(posted.body).toMatchObject({ distribution: 'rhel-85', image_requests: [{ image_type: 'vsphere' }] });
  });

  it('refuses on the distribution field a distribution that cannot build the image, from a form opened before the service said so', async () => {
    const harness = await appWithRealAnswers();
    const view = await openView(harness, 'aws');
    // As the form looked while the catalog did not yet know what hummingbird builds.
    const stale = structuredClone(view);
    distributionSelect(stale).options!.push({
      text: { type: 'plain_text', text: 'Fedora Hummingbird (hummingbird)' },
      value: 'hummingbird',
    });

    const answer = await harness.submitModal(
      { distribution: 'hummingbird', share_with_accounts: '123456789012' },
      'U1',
      stale,
    );

    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: {
        distribution: expect.stringMatching(
          /^Image Builder cannot build Amazon Web Services images of hummingbird\. Choose one of rhel-10, rhel-10\.2, /,
        ),
      },
    });
    expect(harness.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
  });
});
