import { isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import { DEFAULT_ARCHITECTURES, type ArchitectureItem } from '../../src/demo/fakes/imageBuilderCatalog';
import type { SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { checkComposeRequest, describeWithSpec } from '../support/openapi';
import { blockActionsBody } from '../support/slackRequests';
import { modalLimitProblems } from '../slack/views/slackLimits';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * The download targets end to end (vsphere, iso, wsl, oci): their forms, the body the service receives, and what
 * the form offers once Image Builder has said which distribution builds which image type on which architecture.
 * Their results and reminders are in expiry.test.ts.
 */

const harness = useHarness();
let h: Harness;
const QUICK = ['pending', 'success'] as const;

/** The app once its catalog has read what each distribution builds. */
async function start(options: HarnessOptions = {}) {
  h = await harness.start({ ...options, imageBuilder: { script: [...QUICK], ...options.imageBuilder } });
  const app = h;
  await eventually(() => app.logLines.some((line) => line.includes('"msg":"distribution architectures refreshed"')), {
    description: 'the architectures of each distribution to be read',
  });
}

async function openForm(cloud: string): Promise<SlackView> {
  const before = h.slack.views().length;
  expect((await h.command(cloud, { channel_id: 'C1' })).status).toBe(200);
  return h.slack.waitFor(() => h.slack.views()[before], { description: `the ${cloud} form` });
}

const inputs = (view: SlackView) => view.blocks.filter((b): b is JsonObject => isObject(b) && b.type === 'input');
const elementOf = (view: SlackView, blockId: string) =>
  inputs(view).find((b) => b.block_id === blockId)?.element as
    { options?: { value: string }[]; initial_option?: { value: string } } | undefined;
const choices = (view: SlackView, blockId: string) => elementOf(view, blockId)?.options?.map((o) => o.value);

const composeBodies = () => h.imageBuilder.composeRequests() as { image_requests: unknown[] }[];

const resultMessage = () =>
  h.slack.waitFor(() => h.slack.messages('C1').find((m) => /Rebuild/.test(JSON.stringify(m.blocks ?? []))), {
    timeoutMs: 15_000,
    description: 'the result message',
  });

describe('the vSphere form', () => {
  it('asks for the format after the shared fields, OVA chosen, x86_64 only; a VMDK is built as vsphere and rebuilt as one', async () => {
    await start();
    const form = await openForm('vsphere');
    expect(modalLimitProblems(form)).toEqual([]);
    expect(inputs(form).map((b) => b.block_id)).toEqual([
      'start_from',
      'distribution',
      'architecture',
      'image_name',
      'vsphere_format',
      'ssh_public_key',
      'login_user',
      'packages',
    ]);
    expect(choices(form, 'vsphere_format')).toEqual(['ova', 'vmdk']);
    expect(elementOf(form, 'vsphere_format')?.initial_option?.value).toBe('ova');
    expect(choices(form, 'architecture')).toEqual(['x86_64']);

    expect((await h.submitModal({ distribution: 'rhel-10', vsphere_format: 'vmdk' })).text).toBe('');
    const done = await resultMessage();
    expect(composeBodies()[0]?.image_requests).toEqual([
      { architecture: 'x86_64', image_type: 'vsphere', upload_request: { type: 'aws.s3', options: {} } },
    ]);

    const before = h.slack.views().length;
    await h.post(
      blockActionsBody({
        user: 'U1',
        actionId: 'rebuild',
        source: { message: done, responseUrl: h.slack.responseUrl(`rebuild-${done.ts}`) },
      }),
    );
    const rebuilt = await h.slack.waitFor(() => h.slack.views()[before], { description: 'the rebuild form' });
    expect(elementOf(rebuilt, 'vsphere_format')?.initial_option?.value).toBe('vmdk');
  });
});

describeWithSpec('the bodies of the download targets, checked against the service spec', () => {
  it.each([
    ['vsphere', 'vsphere-ova', 'aws.s3'],
    ['iso', 'image-installer', 'aws.s3'],
    ['wsl', 'wsl', 'aws.s3'],
    ['oci', 'oci', 'oci.objectstorage'],
  ])('%s sends image type %s to %s, and the service builds it', async (cloud, imageType, uploadType) => {
    await start();
    await openForm(cloud);
    expect((await h.submitModal({ distribution: 'rhel-10' })).text).toBe('');
    await resultMessage();
    const [body] = composeBodies();
    expect(body?.image_requests).toEqual([
      { architecture: 'x86_64', image_type: imageType, upload_request: { type: uploadType, options: {} } },
    ]);
    expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
    expect(h.slack.problems).toEqual([]);
  });
});

describe('what the download forms offer, as the service says each distribution builds', () => {
  // rhel-10 as the service answers (WSL on x86_64 only); rhel-9 as a nightly answers, with neither WSL nor OCI.
  const noWslNorOci: ArchitectureItem[] = DEFAULT_ARCHITECTURES.map((a) => ({
    ...a,
    image_types: (a.image_types ?? []).filter((t) => t !== 'wsl' && t !== 'oci'),
  }));
  const architectures = { 'rhel-10': DEFAULT_ARCHITECTURES, 'rhel-9': noWslNorOci, 'centos-9': DEFAULT_ARCHITECTURES };

  it.each(['wsl', 'oci'])('does not offer the %s form a distribution that cannot build it', async (cloud) => {
    await start({ imageBuilder: { architectures } });
    const form = await openForm(cloud);
    expect(choices(form, 'distribution')).toEqual(['rhel-10', 'centos-9']);
  });

  it('offers the ISO every distribution, and WSL only the architectures the distribution builds it on', async () => {
    await start({ imageBuilder: { architectures } });
    expect(choices(await openForm('iso'), 'distribution')).toEqual(['rhel-10', 'rhel-9', 'centos-9']);

    const form = await openForm('wsl');
    expect(choices(form, 'architecture')).toEqual(['x86_64']);
    // A form drawn before the service said so (or a forged one) is refused on the field, and nothing is sent.
    const stale = {
      ...form,
      blocks: form.blocks.map((block) =>
        isObject(block) && block.block_id === 'architecture'
          ? {
              ...block,
              element: {
                ...(block.element as JsonObject),
                options: [
                  { text: { type: 'plain_text', text: 'x86_64' }, value: 'x86_64' },
                  { text: { type: 'plain_text', text: 'aarch64' }, value: 'aarch64' },
                ],
              },
            }
          : block,
      ),
    };
    const answer = await h.submitModal({ distribution: 'rhel-10', architecture: 'aarch64' }, undefined, stale);
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { architecture: 'aarch64 is not offered for this distribution; choose x86_64.' },
    });
    expect(composeBodies()).toEqual([]);
  });
});
