import { summarizeAudit } from '../../src/audit/audit';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { ImageStatusBody } from '../fakes/imageBuilderService';
import { orderImage, threadIn, type Thread } from '../faults/faultSupport';
import { eventually } from '../support/eventually';
import {
  crcComposeNotFound,
  crcHandlerBody,
  describeWithRealBodies,
  frontendComposeStatus,
  type RealComposeStatus,
} from '../support/realWorld';
import { useHarness, type Harness } from './harness';

/*
 * The bot as a user meets it, fed what the real service answers: the bodies the web console's tests serve and the
 * service's own handler tests produce (../shared/reference/real-world), through the real client and the real app.
 */

jest.setTimeout(30_000);

const harnesses = useHarness();
const CHANNEL = 'CREAL';
const GUEST_IMAGE = { cloud: 'guest-image', fills: { distribution: 'rhel-9' } };

const shown = (message: { text?: string; blocks?: unknown } | undefined) =>
  `${message?.text ?? ''}\n${blocksText(message?.blocks)}`;

/**
 * A build U1 ordered through the bot, whose compose the service then answers with a real GET /composes/{id} body.
 * `/image-builder status` shows the whole result only to those who may see the build (its requester here); for a
 * compose the bot did not order it shows the status alone.
 */
async function ownBuildAnswering(h: Harness, body: RealComposeStatus): Promise<string> {
  h.imageBuilder.script('next', ['pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
  await orderImage(h, CHANNEL, GUEST_IMAGE);
  const id = await eventually(
    async () =>
      (await h.store().listRecent({ requesterId: 'U1', channelId: CHANNEL, limit: 1 }))[0]?.composeId ?? undefined,
    { timeoutMs: 10_000, description: 'the build to be submitted' },
  );
  h.imageBuilder.addCompose({ id, request: body.request, script: [body.image_status] });
  return id;
}

/** The ephemeral answer of `/image-builder status <id>`. */
async function statusOf(h: Harness, id: string): Promise<string> {
  await h.command(`status ${id}`);
  const reply = await h.slack.waitForCall('response_url', (c) => JSON.stringify(c.args).includes(id));
  return shown(reply.args as { text?: string; blocks?: unknown });
}

/** The request row once the build is marked done (just after the thread shows its end). */
async function doneRow(h: Harness) {
  return eventually(
    async () => {
      const row = (await h.store().listRecent({ requesterId: 'U1', channelId: CHANNEL, limit: 1 }))[0];
      return row?.state === 'done' ? row : undefined;
    },
    { timeoutMs: 10_000, description: 'the build to be marked done' },
  );
}

async function finishedThread(h: Harness, description: string): Promise<Thread> {
  return h.slack.waitFor(
    () => {
      const thread = threadIn(h, CHANNEL);
      return thread?.result && !/in progress/.test(thread.parent.text) ? thread : undefined;
    },
    { timeoutMs: 20_000, description },
  );
}

describeWithRealBodies('the real service’s compose answers', () => {
  describe('/image-builder status of a successful compose of a download the console ordered', () => {
    it.each([
      ['vsphere', 'b7193673-8dcc-4a5f-ac30-e9f4940d8346', 'vSphere disk (vmdk)', 'govc import.vmdk'],
      ['vsphere-ova', 'hyk93673-8dcc-4a61-ac30-e9f4940d8346', 'vSphere virtual machine (ova)', 'govc import.ova'],
      ['image-installer', '4873fd0f-1851-4b9f-b4fe-4639fce90794', 'Installer ISO (iso)', 'virt-install'],
      ['oci', '0c1ec8d8-be39-47f2-9bd4-a3fff8244fce', 'Oracle Cloud image (qcow2)', 'from-object-uri'],
    ])(
      'shows a %s image as ready, with its download link and how long it lasts',
      async (_type, consoleId, headline, next) => {
        const h = await harnesses.start();
        const body = frontendComposeStatus(consoleId);
        const url = (body.image_status.upload_status as { options: { url: string } }).options.url;
        const id = await ownBuildAnswering(h, body);

        const text = await statusOf(h, id);
        expect(text).toContain('Ready');
        expect(text).not.toMatch(/fail/i);
        expect(text).toContain(headline);
        expect(text).toContain(next);
        expect(text).toContain(`<${url}|Download the image>`);
        // The link lives about 7 days from the compose's created_at.
        expect(text).toContain('— 7 days');
        expect(h.slack.problems).toEqual([]);
      },
    );
  });

  describe('/image-builder status of an image-mode (bootc) compose, which has no distribution', () => {
    it('names it by its bootc reference, in the summary and the download’s file name', async () => {
      const h = await harnesses.start();
      const id = await ownBuildAnswering(h, frontendComposeStatus('a8f5e2d1-9c3b-4f6a-b7e8-1d2c3f4a5b6c'));

      const text = await statusOf(h, id);
      expect(text).toContain('Ready');
      expect(text).toContain('`rhel-bootc:9.7`');
      expect(text).toContain(`curl -fLo rhel-bootc-9.7-x86_64-${id.slice(0, 8)}.qcow2`);
      expect(text).not.toContain('unknown');
    });

    it('says an image built to the build host (upload type local) is there, without calling it a failure', async () => {
      const h = await harnesses.start();
      const id = await ownBuildAnswering(h, frontendComposeStatus('image-mode-bootc-rhel9'));

      const text = await statusOf(h, id);
      expect(text).toContain('Ready');
      expect(text).not.toMatch(/fail/i);
      expect(text).toContain('build host');
      expect(text).toContain('/var/lib/osbuild/store/image-mode-rhel9.qcow2');
      expect(text).toContain('`rhel-bootc:9.7`');
      expect(text).not.toContain('unknown');
    });
  });

  describe('/image-builder status of a compose the service does not know', () => {
    it('says so without claiming the service forgets composes after 14 days', async () => {
      const h = await harnesses.start();
      const id = '7d9f2c4e-1b3a-4c5d-9e8f-0a1b2c3d4e5f';
      h.imageBuilder.fail(1, 404, crcComposeNotFound(id), { method: 'GET', path: `/composes/${id}` });

      const text = await statusOf(h, id);
      expect(text).toContain(`Image Builder knows no compose \`${id}\``);
      expect(text).toContain('deleted');
      expect(text).not.toMatch(/14 days/);
    });
  });

  describe('a thread whose compose ends with an error on an empty status (the service’s handler tests)', () => {
    it.each([
      ['failed compose with simple error', ['many pigeons']],
      ['failed compose with non-interpreted error containing compose error details', ['many pigeons']],
    ])('%s: the build ends as failed with the reason and details', async (name, details) => {
      const h = await harnesses.start();
      const failed = (crcHandlerBody(name) as { image_status: ImageStatusBody }).image_status;
      h.imageBuilder.script('next', ['pending', { status: 'building', progress: { done: 1, total: 2 } }, failed]);
      await orderImage(h, CHANNEL, GUEST_IMAGE);

      const thread = await finishedThread(h, 'the thread to show how the build ended');
      expect(shown(thread.status)).toContain('Failed');
      expect(shown(thread.parent)).toContain('Failed');
      expect(shown(thread.result)).toContain('the build failed: *1 pigeon*');
      for (const detail of details) expect(shown(thread.result)).toContain(detail);
      expect(await doneRow(h)).toMatchObject({ status: 'failure', nextPollAt: null });
      expect(h.slack.problems).toEqual([]);
    });
  });

  describe('a thread whose compose is deleted at the service while it builds', () => {
    it('ends the build, says so in the thread, records it in the audit and never polls it again', async () => {
      const h = await harnesses.start();
      h.imageBuilder.script('next', ['pending', { status: 'building', progress: { done: 1, total: 9 } }]);
      await orderImage(h, CHANNEL, GUEST_IMAGE);
      const id = await h.imageBuilder.waitFor((fake) => [...fake.composes.values()].find((c) => c.polls >= 2)?.id);
      // What GET /composes/{id} answers after DELETE /composes/{id}, for as long as anyone asks.
      h.imageBuilder.fail(1_000, 404, crcComposeNotFound(id), { method: 'GET', path: `/composes/${id}` });

      const thread = await finishedThread(h, 'the thread to say the compose was deleted');
      for (const message of [thread.status, thread.parent, thread.result]) {
        expect(shown(message)).toMatch(/deleted at Image Builder/i);
      }
      expect(shown(thread.status)).not.toContain('has not answered');
      expect(shown(thread.result)).not.toMatch(/fail/i);

      const row = await doneRow(h);
      expect(row).toMatchObject({ composeId: id, status: 'deleted', nextPollAt: null });
      const events = await h.store().listAudit(new Date(0));
      expect(events.filter((e) => e.kind === 'finished')).toEqual([
        expect.objectContaining({
          requestId: row.id,
          detail: expect.objectContaining({ outcome: 'deleted', composeId: id }),
        }),
      ]);
      const summary = summarizeAudit(events, { since: new Date(0), now: new Date() });
      expect(summary.results).toMatchObject({ deleted: 1, failure: 0 });
      expect(summary.unreadableDetails).toBe(0);

      // After a restart the poller works again — a second build goes from start to end — and leaves the deleted one be.
      const asked = () =>
        h.imageBuilder.apiRequests().filter((r) => r.method === 'GET' && r.path.endsWith(`/composes/${id}`)).length;
      const before = asked();
      await h.restart();
      h.imageBuilder.script('next', ['pending', 'building', 'success']);
      await orderImage(h, 'CSECOND', GUEST_IMAGE);
      await h.slack.waitFor(() => threadIn(h, 'CSECOND')?.result, {
        timeoutMs: 20_000,
        description: 'the second build to end',
      });
      expect(asked()).toBe(before);
      expect(h.slack.problems).toEqual([]);
    });
  });
});
