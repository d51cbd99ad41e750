import { randomUUID } from 'node:crypto';
import pino from 'pino';
import {
  composesItemSchema,
  composeStatusSchema,
  ImageBuilderError,
  type ComposesItem,
  type ComposeStatus,
} from '../../src/imageBuilder';
import { errorFromStatus, invalidRequest, invalidResponse } from '../../src/imageBuilder/errors';
import { subscriptionOf, type Registration } from '../../src/providers';
import { openSqliteStore } from '../../src/store/sqlite';
import type { BuildRequest, BuildRequestStore } from '../../src/store/store';
import { createTracker, describeRequest, type ThreadProjection } from '../../src/tracking/tracker';
import { newRequest, useTempFolder } from './helpers';

const temp = useTempFolder();

const POLL_INTERVAL_MS = 10_000;
const MAX_BACKOFF_MS = 50_000;
const DAY_MS = 24 * 60 * 60 * 1000;
const COMPOSE_ID = '5e0f7a9c-1b2d-4c3e-8f4a-0b1c2d3e4f50';
const OTHER_COMPOSE_ID = '9a8b7c6d-0000-4000-8000-00000000aaaa';

// ---------------------------------------------------------------------------------------------------------------
// Fakes

function manualClock(start = '2025-03-01T10:00:05.000Z') {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance(ms: number) {
      now += ms;
    },
  };
}

interface LogLine {
  level: number;
  msg: string;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, warnings: () => lines.filter((line) => line.level === 40), lines };
}

/** What the thread's status message showed, each time it was posted or edited. */
interface ShownStatus {
  phase: string;
  composeId: string | null;
  status: string | null;
  progress: string | null;
  trouble: boolean;
}

const slackDown = () =>
  Object.assign(new Error('An API error occurred: service_unavailable'), {
    data: { ok: false, error: 'service_unavailable' },
  });

/**
 * Behaves like src/slack/thread/projection.ts as far as the store can tell: renders every message from the row,
 * posts what does not exist yet and saves its ts at once, edits only on a visible change, and posts the result
 * reply when the row has a rejection or a final image status (then saves resultTs).
 */
function recordingProjection(store: BuildRequestStore, events: string[]) {
  let nextTs = 1;
  const ts = () => `1740823200.${String(nextTs++).padStart(6, '0')}`;
  const posted: Array<'parent' | 'status' | 'result'> = [];
  const shown: ShownStatus[] = [];
  const state = {
    slack: 'up' as 'up' | 'down' | 'refuses-replies-with-results',
    /** Whether the thread's final edits are out; false: they still wait their turn in Slack's edit lane. */
    endEdited: true,
    /** Until then, how long the projection expects them to wait. */
    endEditsInMs: 1,
  };

  const renderStatus = (row: BuildRequest): ShownStatus => ({
    phase: row.rejection ? 'rejected' : row.state === 'done' ? 'tracking' : row.state,
    composeId: row.composeId,
    status: row.status,
    progress:
      row.progressDone === null || row.progressTotal === null ? null : `${row.progressDone}/${row.progressTotal}`,
    trouble: row.pollFailures >= 3,
  });

  const projection: ThreadProjection = {
    async sync(request) {
      events.push(`sync ${request.state}`);
      if (state.slack === 'down') throw slackDown();
      let row = request;
      if (!row.parentTs) {
        row = await store.update(row.id, { threadChannelId: row.channelId, parentTs: ts(), renderedParent: 'parent' });
        posted.push('parent');
      }
      const status = renderStatus(row);
      if (!row.statusTs || row.renderedStatus !== JSON.stringify(status)) {
        row = await store.update(row.id, { statusTs: row.statusTs ?? ts(), renderedStatus: JSON.stringify(status) });
        if (!request.statusTs) posted.push('status');
        shown.push(status);
      }
      const hasOutcome =
        row.rejection !== null || row.status === 'deleted' || (row.finalImageStatus !== null && row.composeId !== null);
      if (!row.resultTs && hasOutcome) {
        if (state.slack === 'refuses-replies-with-results') throw slackDown();
        row = await store.update(row.id, { resultTs: ts() });
        posted.push('result');
      }
      return row;
    },
    async untilEndShown(request) {
      return request.resultTs !== null && state.endEdited ? 0 : state.endEditsInMs;
    },
    hasThread: (request) => request.statusTs !== null,
  };
  return { projection, posted, shown, state, lastShown: () => shown.at(-1) };
}

async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

function fakeImageBuilder(events: string[]) {
  const listed: ComposesItem[] = [];
  return {
    /** What GET /composes returns, newest first. */
    listed,
    createCompose: jest.fn(async (_body: object): Promise<{ id: string }> => {
      events.push('POST /compose');
      return { id: COMPOSE_ID };
    }),
    getCompose: jest.fn(async (_id: string): Promise<ComposeStatus> => {
      throw new Error('no answer scripted for GET /composes/{id}');
    }),
    listAllComposes: jest.fn((): AsyncIterable<ComposesItem> => iterate(listed)),
    // Plain builds never ask for a blueprint (blueprint orders are test/e2e/blueprintOrders.test.ts's).
    listBlueprints: jest.fn(() => Promise.reject(new Error('a plain build asked for the blueprints'))),
    getBlueprint: jest.fn(() => Promise.reject(new Error('a plain build asked for a blueprint'))),
    composeBlueprint: jest.fn(() => Promise.reject(new Error('a plain build built a blueprint'))),
    listBlueprintComposes: jest.fn(() => Promise.reject(new Error("a plain build asked for a blueprint's composes"))),
  };
}

const composeStatus = (imageStatus: object): ComposeStatus =>
  composeStatusSchema.parse({ image_status: imageStatus, request: { image_requests: [] } });

const listItem = (id: string, createdAt: string, description?: string): ComposesItem =>
  composesItemSchema.parse({
    id,
    created_at: createdAt,
    request: {
      distribution: 'rhel-9',
      ...(description === undefined ? {} : { image_description: description }),
      image_requests: [{ architecture: 'x86_64', image_type: 'aws' }],
    },
  });

const UPLOADS = {
  aws: { type: 'aws', options: { ami: 'ami-0a1b2c3d4e5f60718', region: 'us-east-1' } },
  gcp: { type: 'gcp', options: { project_id: 'red-hat-image-builder', image_name: 'composer-api-5e0f7a9c' } },
  azure: { type: 'azure', options: { image_name: 'composer-api-5e0f7a9c' } },
} as const;

const UPLOAD_REQUESTS = {
  aws: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
  gcp: { type: 'gcp', options: { share_with_accounts: ['user:alice@example.com'] } },
  azure: {
    type: 'azure',
    options: {
      tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
      subscription_id: '4e5d8b2c-6d3a-4c5b-9a1e-2f3b4c5d6e7f',
      resource_group: 'images',
    },
  },
} as const;

// ---------------------------------------------------------------------------------------------------------------
// A request in a fresh store, and a tracker over it

type ProviderId = keyof typeof UPLOAD_REQUESTS;

async function setUp(
  options: { provider?: ProviderId; file?: string; registration?: Registration; registers?: boolean } = {},
) {
  const provider = options.provider ?? 'aws';
  const file = options.file ?? temp.file();
  const store = temp.closeLater(await openSqliteStore({ path: file }));
  const clock = manualClock();
  const events: string[] = [];
  const imageBuilder = fakeImageBuilder(events);
  const slack = recordingProjection(store, events);
  const log = capturingLogger();
  const tracker = createTracker({
    store,
    imageBuilder,
    projection: slack.projection,
    clock,
    logger: log.logger,
    pollIntervalMs: POLL_INTERVAL_MS,
    maxBackoffMs: MAX_BACKOFF_MS,
    ...(options.registration ? { registration: options.registration } : {}),
  });

  const id = randomUUID();
  const requesterId = 'U012ALICE';
  const body = {
    distribution: 'rhel-9',
    image_name: 'web-base',
    image_description: describeRequest({ id, requesterId }),
    image_requests: [{ architecture: 'x86_64', image_type: provider, upload_request: UPLOAD_REQUESTS[provider] }],
    // As the form's submission stores it: the subscription without its key.
    ...(options.registers ? { customizations: { subscription: { organization: 1, insights: true, rhc: true } } } : {}),
  };
  await store.insert(
    newRequest({ id, requesterId, provider, composeRequest: JSON.stringify(body), createdAt: clock.now() }),
  );

  const stored = async () => (await store.get(id)) as BuildRequest;
  /** One step, on the row as the store has it (which is what the poller hands over). */
  const step = async () => tracker.advance(await stored());
  /** Submits the request (the service accepts it), posts its thread and lets the first poll interval pass. */
  const accepted = async () => {
    expect((await step()).state).toBe('tracking');
    const row = await step();
    expect(row.statusTs).not.toBeNull();
    clock.advance(POLL_INTERVAL_MS);
    return row;
  };
  const answer = (...statuses: object[]) => {
    for (const status of statuses) imageBuilder.getCompose.mockResolvedValueOnce(composeStatus(status));
  };

  return { id, file, store, clock, events, imageBuilder, slack, log, tracker, stored, step, accepted, answer };
}

const after = (from: Date, ms: number) => new Date(from.getTime() + ms);

// ---------------------------------------------------------------------------------------------------------------

describe('build tracker', () => {
  describe('submitting a request', () => {
    it('sends the compose and ends its step, then posts the thread in the next step, asking Image Builder nothing', async () => {
      const t = await setUp();
      let rowWhenPosted: BuildRequest | undefined;
      t.imageBuilder.createCompose.mockImplementationOnce(async () => {
        t.events.push('POST /compose');
        rowWhenPosted = await t.stored();
        return { id: COMPOSE_ID };
      });

      const sent = await t.step();

      // Slack's per-channel pace never holds a build back: the step that sends it does not wait for the channel.
      expect(t.events).toEqual(['POST /compose']);
      expect(rowWhenPosted?.parentTs).toBeNull();
      // The intent is on the row before anything leaves, so a crash during the POST is recovered by lookup.
      expect(rowWhenPosted?.submittedAt).toEqual(t.clock.now());
      // Due at once, so that the thread catches up as soon as a slot is free.
      expect(sent).toMatchObject({ state: 'tracking', composeId: COMPOSE_ID, nextPollAt: t.clock.now() });

      t.clock.advance(2_000);
      await t.step();

      expect(t.events).toEqual(['POST /compose', 'sync tracking']);
      expect(t.slack.posted).toEqual(['parent', 'status']);
      expect(t.imageBuilder.getCompose).not.toHaveBeenCalled();
    });

    it('follows the compose the service accepted: pending, first poll one interval after it was sent', async () => {
      const t = await setUp();
      const sentAt = t.clock.now();

      await t.step();
      t.clock.advance(2_000);
      const row = await t.step();

      expect(row).toMatchObject({
        state: 'tracking',
        composeId: COMPOSE_ID,
        status: 'pending',
        submittedAt: sentAt,
        pollFailures: 0,
        nextPollAt: after(sentAt, POLL_INTERVAL_MS),
      });
      expect(await t.stored()).toEqual(row);
      expect(t.slack.lastShown()).toMatchObject({ phase: 'tracking', composeId: COMPOSE_ID, status: 'pending' });
    });

    it('asks Image Builder at once about a build whose thread Slack posted only after its first interval', async () => {
      const t = await setUp();

      await t.step();
      t.clock.advance(POLL_INTERVAL_MS + 5_000);
      const row = await t.step();

      expect(row.nextPollAt).toEqual(t.clock.now());
    });

    it('sends exactly the compose body that was stored', async () => {
      const t = await setUp();
      const { composeRequest } = await t.stored();

      await t.step();

      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
      const sent = t.imageBuilder.createCompose.mock.calls[0]?.[0];
      expect(JSON.stringify(sent)).toBe(composeRequest);
    });

    it('sends a request that registers with the organization and activation key set up now', async () => {
      const registration = { organization: 12345678, activationKey: 'current-activation-key' };
      const t = await setUp({ registration, registers: true });

      expect((await t.step()).state).toBe('tracking');

      const sent = t.imageBuilder.createCompose.mock.calls[0]?.[0] as { customizations?: { subscription?: unknown } };
      expect(sent.customizations?.subscription).toEqual(subscriptionOf(registration));
      expect((await t.stored()).composeRequest).not.toContain('current-activation-key');
    });

    it('refuses, sending nothing, a request that registers once the bot has no registration set up', async () => {
      const t = await setUp({ registers: true });

      const row = await t.step();

      expect(t.imageBuilder.createCompose).not.toHaveBeenCalled();
      expect(row.state).toBe('rejected');
      expect(JSON.parse(row.rejection!)).toMatchObject({
        kind: 'registration-unavailable',
        sentence: expect.stringContaining('no longer has registration with Red Hat set up'),
      });
    });

    it.each([
      [
        'an invalid request (400)',
        errorFromStatus('POST /compose', 400, { errors: [{ title: '400', detail: 'image_name: too long' }] }),
        { kind: 'validation', status: 400, detail: 'image_name: too long' },
      ],
      [
        'an exhausted quota (403)',
        errorFromStatus('POST /compose', 403, {
          errors: [{ title: '403', detail: 'Quota of 100 builds per 30 days exceeded' }],
        }),
        { kind: 'forbidden', status: 403, detail: 'Quota of 100 builds per 30 days exceeded' },
      ],
      [
        'a body our own schema refused before sending',
        invalidRequest('POST /compose', 'image_requests: Too big'),
        { kind: 'invalid-request', detail: 'image_requests: Too big' },
      ],
    ])('shows the refusal of %s in the thread and never tries again', async (_case, error, rejection) => {
      const t = await setUp();
      t.imageBuilder.createCompose.mockRejectedValueOnce(error);

      const row = await t.step();

      expect(row).toMatchObject({ state: 'rejected', composeId: null, finishedAt: t.clock.now() });
      expect(JSON.parse(row.rejection ?? 'null')).toEqual(rejection);
      expect(row.resultTs).not.toBeNull();
      expect(t.slack.posted).toEqual(['parent', 'status', 'result']);
      expect(await t.store.listUnfinished()).toEqual([]);

      t.clock.advance(DAY_MS);
      expect(await t.step()).toEqual(row);
      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
      expect(t.imageBuilder.getCompose).not.toHaveBeenCalled();
    });

    it('shows a refusal that Slack failed to post on the next step, without submitting again', async () => {
      const t = await setUp();
      t.imageBuilder.createCompose.mockRejectedValueOnce(
        errorFromStatus('POST /compose', 403, { errors: [{ detail: 'Quota of 100 builds per 30 days exceeded' }] }),
      );
      t.slack.state.slack = 'refuses-replies-with-results';

      const first = await t.step();
      expect(first).toMatchObject({ state: 'submitting', resultTs: null, pollFailures: 1 });
      expect(first.rejection).not.toBeNull();

      t.slack.state.slack = 'up';
      t.clock.advance(2 * POLL_INTERVAL_MS);
      const row = await t.step();

      expect(row.state).toBe('rejected');
      expect(row.resultTs).not.toBeNull();
      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
    });

    it('submits again after a failure that provably never reached the service', async () => {
      const t = await setUp();
      t.imageBuilder.createCompose.mockRejectedValueOnce(
        new ImageBuilderError({
          kind: 'unavailable',
          retryable: true,
          message: 'Could not reach Image Builder for POST /compose: could not connect (ECONNREFUSED).',
        }),
      );

      const failed = await t.step();

      expect(failed).toMatchObject({
        state: 'submitting',
        submittedAt: null,
        pollFailures: 1,
        nextPollAt: after(t.clock.now(), 2 * POLL_INTERVAL_MS),
      });

      t.clock.advance(2 * POLL_INTERVAL_MS);
      const row = await t.step();

      expect(row).toMatchObject({ state: 'tracking', composeId: COMPOSE_ID, pollFailures: 0 });
      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(2);
      expect(t.imageBuilder.listAllComposes).not.toHaveBeenCalled();
    });

    it('retries rather than refuses a request that failed on the way out (TLS), and submits it later', async () => {
      const t = await setUp();
      t.imageBuilder.createCompose.mockRejectedValueOnce(
        new ImageBuilderError({
          kind: 'unavailable',
          retryable: false,
          message: 'Could not reach Image Builder for POST /compose: TLS failed (CERT_HAS_EXPIRED).',
        }),
      );

      const failed = await t.step();

      expect(failed).toMatchObject({ state: 'submitting', rejection: null, submittedAt: null, pollFailures: 1 });
      t.clock.advance(2 * POLL_INTERVAL_MS);
      expect(await t.step()).toMatchObject({ state: 'tracking', composeId: COMPOSE_ID });
    });

    describe('when the POST may have reached the service', () => {
      const mayHaveBeenSubmitted = [
        [
          'a timeout after sending',
          new ImageBuilderError({
            kind: 'unavailable',
            mayHaveBeenSubmitted: true,
            message: 'Image Builder did not answer POST /compose (no answer within 30 s); it may have been submitted.',
          }),
        ],
        ['a 502 from a gateway', errorFromStatus('POST /compose', 502, undefined, { mayHaveBeenSubmitted: true })],
        ['a 201 whose body is not JSON', invalidResponse('POST /compose', 201, 'the body is not JSON (text/html)')],
        ['an error that is not an ImageBuilderError', new Error('socket hang up')],
      ] as const;

      it.each(mayHaveBeenSubmitted)(
        'after %s, follows the compose found by its request id without posting again',
        async (_case, error) => {
          const t = await setUp();
          t.imageBuilder.createCompose.mockRejectedValueOnce(error);
          const failed = await t.step();
          expect(failed).toMatchObject({ state: 'submitting', rejection: null, pollFailures: 1 });
          expect(failed.submittedAt).toEqual(t.clock.now());

          t.imageBuilder.listed.push(
            listItem(OTHER_COMPOSE_ID, '2025-03-01T10:00:09Z', 'Requested in Slack by U0BOB — request someone-else'),
            listItem(COMPOSE_ID, '2025-03-01T10:00:06.25Z', describeRequest({ id: t.id, requesterId: 'U012ALICE' })),
          );
          t.clock.advance(2 * POLL_INTERVAL_MS);
          const row = await t.step();

          expect(row).toMatchObject({
            state: 'tracking',
            composeId: COMPOSE_ID,
            status: 'pending',
            composeCreatedAt: new Date('2025-03-01T10:00:06.250Z'),
            pollFailures: 0,
          });
          expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
        },
      );

      it('submits once more when the compose is not in the list of recent composes', async () => {
        const t = await setUp();
        t.imageBuilder.createCompose.mockRejectedValueOnce(mayHaveBeenSubmitted[0][1]);
        await t.step();
        t.imageBuilder.listed.push(
          listItem(OTHER_COMPOSE_ID, '2025-03-01T10:00:09Z', 'Requested in Slack by U0BOB — request someone-else'),
        );

        t.clock.advance(2 * POLL_INTERVAL_MS);
        const row = await t.step();

        expect(t.imageBuilder.listAllComposes).toHaveBeenCalledTimes(1);
        expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(2);
        expect(row).toMatchObject({ state: 'tracking', composeId: COMPOSE_ID, submittedAt: t.clock.now() });
      });

      it('neither posts nor gives up while the list of composes cannot be read', async () => {
        const t = await setUp();
        t.imageBuilder.createCompose.mockRejectedValueOnce(mayHaveBeenSubmitted[0][1]);
        const failed = await t.step();
        t.imageBuilder.listAllComposes.mockImplementationOnce(() => ({
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.reject(errorFromStatus('GET /composes', 503, undefined)),
          }),
        }));

        t.clock.advance(2 * POLL_INTERVAL_MS);
        const row = await t.step();

        expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
        expect(row).toMatchObject({
          state: 'submitting',
          submittedAt: failed.submittedAt,
          pollFailures: 2,
          nextPollAt: after(t.clock.now(), 4 * POLL_INTERVAL_MS),
        });
      });
    });

    it('after a restart, follows a compose whose POST succeeded before the process died, without posting again', async () => {
      const first = await setUp();
      // The thread was shown and the POST sent; the process died before the compose id was saved.
      await first.store.update(first.id, {
        threadChannelId: 'C012BUILDS',
        parentTs: '1740823200.000001',
        statusTs: '1740823200.000002',
        submittedAt: first.clock.now(),
      });
      await first.store.close();

      const restarted = await setUp({ file: first.file });
      restarted.imageBuilder.listed.push(
        listItem(
          COMPOSE_ID,
          '2025-03-01 10:00:06.5 +0000 UTC',
          describeRequest({ id: first.id, requesterId: 'U012ALICE' }),
        ),
      );
      const [resumed] = (await restarted.store.listUnfinished()).filter((r) => r.id === first.id);

      const row = await restarted.tracker.advance(resumed!);

      expect(row).toMatchObject({
        state: 'tracking',
        composeId: COMPOSE_ID,
        composeCreatedAt: new Date('2025-03-01T10:00:06.500Z'),
      });
      expect(restarted.imageBuilder.createCompose).not.toHaveBeenCalled();
      // The thread was already there: nothing is posted twice.
      expect(restarted.slack.posted).toEqual([]);
    });

    it('sends the compose once while Slack cannot show the request, and posts the thread once Slack is back', async () => {
      const t = await setUp();
      t.slack.state.slack = 'down';

      expect(await t.step()).toMatchObject({ state: 'tracking', composeId: COMPOSE_ID, pollFailures: 0 });
      let failed = await t.step();

      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
      expect(failed).toMatchObject({ state: 'tracking', parentTs: null, pollFailures: 1 });
      expect(failed.nextPollAt!.getTime()).toBeGreaterThan(t.clock.now().getTime());
      expect(t.slack.posted).toEqual([]);
      for (let failures = 2; failures <= 3; failures += 1) {
        t.clock.advance(failed.nextPollAt!.getTime() - t.clock.now().getTime());
        failed = await t.step();
        expect(failed.pollFailures).toBe(failures);
      }

      t.slack.state.slack = 'up';
      t.clock.advance(failed.nextPollAt!.getTime() - t.clock.now().getTime());
      expect(await t.step()).toMatchObject({ state: 'tracking', status: 'pending', pollFailures: 0 });
      expect(t.slack.posted).toEqual(['parent', 'status']);
      // The failures were Slack's: the thread does not say Image Builder is not answering.
      expect(t.slack.lastShown()).toMatchObject({ status: 'pending', trouble: false });
      t.answer({ status: 'building' });
      expect(await t.step()).toMatchObject({ state: 'tracking', status: 'building', pollFailures: 0 });
      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);
      expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(1);
      expect(t.slack.posted).toEqual(['parent', 'status']);
    });
  });

  describe('following a compose', () => {
    it('polls again one interval after an answer that changed nothing, and later once a build entered a longer status', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'pending' }, { status: 'building' });

      const unchanged = await t.step();
      expect(unchanged).toMatchObject({ status: 'pending', nextPollAt: after(t.clock.now(), POLL_INTERVAL_MS) });
      expect(await t.stored()).toEqual(unchanged);

      t.clock.advance(POLL_INTERVAL_MS);
      const entered = await t.step();
      // Building lasts about eight intervals: half of that, less the half it was seen late on average.
      expect(entered).toMatchObject({ status: 'building', nextPollAt: after(t.clock.now(), 3.5 * POLL_INTERVAL_MS) });
    });

    it('never moves the status backwards when a lagging answer reports an earlier one', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer(
        { status: 'building', progress: { done: 2, total: 7 } },
        { status: 'pending', progress: { done: 5, total: 5 } },
      );

      await t.step();
      t.clock.advance(POLL_INTERVAL_MS);
      const row = await t.step();

      expect(row).toMatchObject({ status: 'building', progressDone: 2, progressTotal: 7 });
      expect(t.slack.shown.map((s) => [s.status, s.progress])).toEqual([
        ['pending', null],
        ['building', '2/7'],
      ]);
    });

    it('never counts steps backwards within a status, and starts afresh in the next one', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer(
        { status: 'building', progress: { done: 3, total: 7 } },
        { status: 'building', progress: { done: 2, total: 7 } },
        { status: 'uploading', progress: { done: 1, total: 2 } },
      );

      const progress: string[] = [];
      for (let i = 0; i < 3; i++) {
        const row = await t.step();
        progress.push(`${row.status} ${row.progressDone}/${row.progressTotal}`);
        t.clock.advance(POLL_INTERVAL_MS);
      }

      expect(progress).toEqual(['building 3/7', 'building 3/7', 'uploading 1/2']);
    });

    it('shows a status it does not know as the service spelled it and keeps polling', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'compressing' }, { status: 'uploading' });

      const row = await t.step();

      expect(row).toMatchObject({ state: 'tracking', status: 'compressing', finalImageStatus: null, finishedAt: null });
      expect(row.nextPollAt).toEqual(after(t.clock.now(), POLL_INTERVAL_MS));
      expect(t.slack.lastShown()?.status).toBe('compressing');

      t.clock.advance(POLL_INTERVAL_MS);
      expect((await t.step()).status).toBe('uploading');
    });

    it('treats running as a build in progress', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'running' });

      const row = await t.step();

      expect(row).toMatchObject({ state: 'tracking', status: 'running', finalImageStatus: null, resultTs: null });
      expect(row.nextPollAt).toEqual(after(t.clock.now(), POLL_INTERVAL_MS));
    });

    describe('when the build succeeds', () => {
      it.each(['aws', 'gcp'] as const)(
        'keeps the result, marks %s images to expire 14 days after the compose was created, then stops polling',
        async (provider) => {
          const t = await setUp({ provider });
          await t.accepted();
          t.imageBuilder.listed.push(
            listItem(OTHER_COMPOSE_ID, '2025-03-01T10:20:00Z'),
            listItem(COMPOSE_ID, '2025-03-01T10:00:06Z'),
          );
          t.answer({ status: 'success', upload_status: { status: 'success', ...UPLOADS[provider] } });

          const row = await t.step();

          expect(row).toMatchObject({
            state: 'done',
            status: 'success',
            finishedAt: t.clock.now(),
            composeCreatedAt: new Date('2025-03-01T10:00:06Z'),
            expiresAt: new Date('2025-03-15T10:00:06Z'),
            nextPollAt: null,
          });
          expect(JSON.parse(row.finalImageStatus ?? 'null')).toMatchObject({
            status: 'success',
            upload_status: UPLOADS[provider],
          });
          expect(row.resultTs).not.toBeNull();
          expect(t.slack.posted).toEqual(['parent', 'status', 'result']);
          expect(await t.store.listUnfinished()).toEqual([]);

          t.clock.advance(DAY_MS);
          expect(await t.step()).toEqual(row);
          expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(1);
        },
      );

      it('counts the 14 days from the submission when the compose is not in the list', async () => {
        const t = await setUp();
        const { submittedAt } = await t.accepted();
        t.answer({ status: 'success', upload_status: { status: 'success', ...UPLOADS.aws } });

        const row = await t.step();

        expect(row).toMatchObject({
          state: 'done',
          composeCreatedAt: null,
          expiresAt: after(submittedAt!, 14 * DAY_MS),
        });
      });

      it('counts the 14 days from the submission when the list cannot be read', async () => {
        const t = await setUp();
        const { submittedAt } = await t.accepted();
        t.imageBuilder.listAllComposes.mockImplementationOnce(() => {
          throw errorFromStatus('GET /composes', 503, undefined);
        });
        t.answer({ status: 'success', upload_status: { status: 'success', ...UPLOADS.gcp } });

        const row = await t.step();

        expect(row).toMatchObject({ state: 'done', expiresAt: after(submittedAt!, 14 * DAY_MS) });
      });

      it('sets no expiry for an Azure image, which lives in the user’s own resource group', async () => {
        const t = await setUp({ provider: 'azure' });
        await t.accepted();
        t.answer({ status: 'success', upload_status: { status: 'success', ...UPLOADS.azure } });

        const row = await t.step();

        expect(row).toMatchObject({ state: 'done', status: 'success', expiresAt: null });
        expect(t.imageBuilder.listAllComposes).not.toHaveBeenCalled();
      });

      it('marks the request done only once the result reply is saved, without polling again', async () => {
        const t = await setUp();
        await t.accepted();
        t.slack.state.slack = 'refuses-replies-with-results';
        t.answer({ status: 'success', upload_status: { status: 'success', ...UPLOADS.aws } });

        const unfinished = await t.step();

        expect(unfinished).toMatchObject({ state: 'tracking', status: 'success', resultTs: null, pollFailures: 1 });
        expect(unfinished.finalImageStatus).not.toBeNull();
        expect(unfinished.nextPollAt).toEqual(after(t.clock.now(), 2 * POLL_INTERVAL_MS));

        t.slack.state.slack = 'up';
        t.clock.advance(2 * POLL_INTERVAL_MS);
        const row = await t.step();

        expect(row.state).toBe('done');
        expect(row.resultTs).not.toBeNull();
        expect(row.finishedAt).toEqual(unfinished.finishedAt);
        expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(1);
        expect(t.slack.posted.filter((p) => p === 'result')).toHaveLength(1);
      });
    });

    it('lets a finished build go while its final edits wait in Slack, and marks it done once they are out, asking Image Builder nothing more', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'success', upload_status: { ...UPLOADS.aws, status: 'success' } });
      t.slack.state.endEdited = false;

      const waiting = await t.step();
      expect(waiting).toMatchObject({
        state: 'tracking',
        status: 'success',
        nextPollAt: after(t.clock.now(), POLL_INTERVAL_MS),
      });
      expect(waiting.resultTs).not.toBeNull();

      t.clock.advance(POLL_INTERVAL_MS);
      t.slack.state.endEdited = true;
      const done = await t.step();
      expect(done.state).toBe('done');
      expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(1);
      expect(t.slack.posted.filter((p) => p === 'result')).toHaveLength(1);
    });

    it('comes back about when its final edits should be out when they wait behind many others', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'success', upload_status: { ...UPLOADS.aws, status: 'success' } });
      t.slack.state.endEdited = false;
      t.slack.state.endEditsInMs = 40 * POLL_INTERVAL_MS;

      const waiting = await t.step();

      expect(waiting.nextPollAt).toEqual(after(t.clock.now(), 40 * POLL_INTERVAL_MS));
    });

    it('keeps the service’s error when the build fails, and is done after the result reply', async () => {
      const t = await setUp();
      await t.accepted();
      const error = {
        id: 10,
        reason: 'osbuild job failed',
        details: [{ id: 23, reason: 'Package does not exist: cowsay' }],
      };
      t.answer({ status: 'failure', error });

      const row = await t.step();

      expect(row).toMatchObject({ state: 'done', status: 'failure', finishedAt: t.clock.now(), expiresAt: null });
      expect(JSON.parse(row.finalImageStatus ?? 'null')).toEqual({ status: 'failure', error });
      expect(row.resultTs).not.toBeNull();
    });
  });

  describe('when the service no longer knows the compose it accepted (deleted there)', () => {
    const notFound = () =>
      errorFromStatus('GET /composes/{id}', 404, {
        errors: [{ detail: `Compose entry ${COMPOSE_ID} not found compose entry not found`, title: '404' }],
      });

    it('ends the build as deleted at the first 404, shows it, and never polls it again', async () => {
      const t = await setUp();
      await t.accepted();
      t.answer({ status: 'building', progress: { done: 2, total: 7 } });
      await t.step();
      t.clock.advance(POLL_INTERVAL_MS);
      t.imageBuilder.getCompose.mockRejectedValue(notFound());

      const row = await t.step();

      expect(row).toMatchObject({
        state: 'done',
        status: 'deleted',
        finishedAt: t.clock.now(),
        nextPollAt: null,
        pollFailures: 0,
      });
      expect(t.slack.lastShown()).toMatchObject({ status: 'deleted', trouble: false });
      expect(t.slack.posted.filter((p) => p === 'result')).toHaveLength(1);
      expect(t.log.warnings()).toEqual([]);
      t.clock.advance(10 * POLL_INTERVAL_MS);
      await t.step();
      expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(2);
    });

    it('finishes showing it once Slack is back, without asking the service again', async () => {
      const t = await setUp();
      await t.accepted();
      t.imageBuilder.getCompose.mockRejectedValue(notFound());
      t.slack.state.slack = 'down';
      expect(await t.step()).toMatchObject({ state: 'tracking', status: 'deleted' });

      t.slack.state.slack = 'up';
      t.clock.advance(MAX_BACKOFF_MS);
      expect(await t.step()).toMatchObject({ state: 'done', status: 'deleted' });
      expect(t.imageBuilder.getCompose).toHaveBeenCalledTimes(1);
    });
  });

  describe('when something fails', () => {
    it('keeps the request while Slack is down, backing off further each time, and never submits again', async () => {
      const t = await setUp();
      await t.accepted();
      t.slack.state.slack = 'down';
      t.imageBuilder.getCompose.mockResolvedValue(composeStatus({ status: 'building' }));

      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        const row = await t.step();
        expect(row).toMatchObject({ state: 'tracking', pollFailures: i + 1 });
        waits.push(row.nextPollAt!.getTime() - t.clock.now().getTime());
        t.clock.advance(waits[i]!);
      }

      expect(waits).toEqual([2, 4, 5].map((n) => n * POLL_INTERVAL_MS));
      expect(t.log.warnings()).toHaveLength(1);
      expect(t.imageBuilder.createCompose).toHaveBeenCalledTimes(1);

      t.slack.state.slack = 'up';
      const row = await t.step();
      expect(row).toMatchObject({ state: 'tracking', status: 'building', pollFailures: 0 });
      expect(row.nextPollAt).toEqual(after(t.clock.now(), POLL_INTERVAL_MS));
    });

    it('backs off more after each failed poll, up to a ceiling, and warns once per run of failures', async () => {
      const t = await setUp();
      await t.accepted();
      const unavailable = errorFromStatus('GET /composes/{id}', 503, undefined);
      t.imageBuilder.getCompose.mockRejectedValue(unavailable);

      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        const row = await t.step();
        waits.push(row.nextPollAt!.getTime() - t.clock.now().getTime());
        t.clock.advance(waits[i]!);
      }

      expect(waits).toEqual([20_000, 40_000, 50_000, 50_000, 50_000]);
      expect((await t.stored()).pollFailures).toBe(5);
      expect(t.log.warnings()).toHaveLength(1);

      t.imageBuilder.getCompose.mockReset();
      t.answer({ status: 'pending' });
      const recovered = await t.step();
      expect(recovered).toMatchObject({ pollFailures: 0, status: 'pending' });
      expect(recovered.nextPollAt).toEqual(after(t.clock.now(), POLL_INTERVAL_MS));

      t.clock.advance(POLL_INTERVAL_MS);
      t.imageBuilder.getCompose.mockRejectedValueOnce(unavailable);
      expect(await t.step()).toMatchObject({ pollFailures: 1 });
      expect(t.log.warnings()).toHaveLength(2);
    });

    it('tells the thread when Image Builder keeps failing to answer, and stops saying so once it answers', async () => {
      const t = await setUp();
      await t.accepted();
      t.imageBuilder.getCompose.mockRejectedValue(errorFromStatus('GET /composes/{id}', 503, undefined));

      for (let i = 0; i < 3; i++) {
        const row = await t.step();
        t.clock.advance(row.nextPollAt!.getTime() - t.clock.now().getTime());
      }
      expect(t.slack.lastShown()).toMatchObject({ status: 'pending', trouble: true });

      t.imageBuilder.getCompose.mockReset();
      t.answer({ status: 'building' });
      await t.step();
      expect(t.slack.lastShown()).toMatchObject({ status: 'building', trouble: false });
    });

    it('waits as long as the service asked when it rate-limits polling', async () => {
      const t = await setUp();
      await t.accepted();
      t.imageBuilder.getCompose.mockRejectedValueOnce(
        errorFromStatus('GET /composes/{id}', 429, undefined, { retryAfterMs: 300_000 }),
      );

      const row = await t.step();

      expect(row).toMatchObject({ state: 'tracking', pollFailures: 1, nextPollAt: after(t.clock.now(), 300_000) });
    });
  });
});
