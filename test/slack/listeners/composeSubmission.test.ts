import Database from 'better-sqlite3';
import type { BuildRequest } from '../../../src/store/store';
import type { OpenedView } from '../../support/slackRequests';
import { submitModalBody } from '../../support/slackRequests';
import {
  CHANNEL,
  fakeAck,
  fixedCatalog,
  firstOrderField,
  inputBlockIds,
  listenerWorld,
  NOW,
  openForm,
  recordingLogger,
  RESPONSE_URL,
  submitBody,
  submitForm,
  USER,
  useSqliteStore,
  type ListenerWorld,
  type SubmissionArgs,
} from './support';

/*
 * The compose form's submission, built from the form the command listener actually opened: what Slack shows the
 * user (errors on the form, or the form closing) and what the store holds afterwards.
 */

const sqlite = useSqliteStore();
let world: ListenerWorld;
beforeEach(() => {
  world = listenerWorld(sqlite.store());
});

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';

/** Values a person would give each cloud's form. */
const VALID_FILLS: Record<string, Record<string, string>> = {
  aws: { distribution: 'rhel-9', share_with_accounts: '123456789012' },
  azure: { distribution: 'rhel-9', tenant_id: TENANT, subscription_id: SUBSCRIPTION, resource_group: 'images' },
  gcp: { distribution: 'rhel-9', share_with: 'user:alice@example.com' },
  'guest-image': { distribution: 'centos-9', architecture: 'aarch64' },
};

const saved = (): Promise<BuildRequest[]> => sqlite.store().listUnfinished();

/** The view_submission body for `view` filled with `fills`, to change before it is delivered. */
const submission = (view: OpenedView, fills: Record<string, string>) =>
  submitModalBody(view, USER, fills).payload as unknown as SubmissionArgs['body'];

describe('a valid request', () => {
  it('is saved before the form closes, then the tracker is woken once', async () => {
    const view = await openForm(world, 'aws');
    let rowsWhenClosing: BuildRequest[] = [];
    const ack = fakeAck(async () => {
      rowsWhenClosing = await saved();
    });

    await submitForm(
      world,
      view,
      {
        distribution: 'rhel-9.6',
        architecture: 'aarch64',
        image_name: 'web-base',
        share_with_accounts: '1234-5678-9012,\n210987654321',
      },
      { ack },
    );

    expect(ack).toHaveBeenCalledTimes(1);
    expect(ack).toHaveBeenCalledWith();
    expect(world.order().slice(-2)).toEqual(['ack', 'onRequest']);
    expect(world.onRequest).toHaveBeenCalledTimes(1);
    expect(rowsWhenClosing).toHaveLength(1);
    const [row] = await saved();
    expect(row).toEqual(rowsWhenClosing[0]);
    expect(row).toMatchObject({
      idempotencyKey: view.id,
      requesterId: USER,
      channelId: CHANNEL,
      responseUrl: RESPONSE_URL,
      provider: 'aws',
      distribution: 'rhel-9.6',
      architecture: 'aarch64',
      imageName: 'web-base',
      shareSummary: 'shared with AWS accounts 123456789012, 210987654321',
      state: 'submitting',
      composeId: null,
      createdAt: NOW,
    });
    expect(JSON.parse(row!.composeRequest)).toEqual({
      distribution: 'rhel-9.6',
      image_name: 'web-base',
      image_description: `Requested in Slack by ${USER} — request ${row!.id}`,
      client_id: 'api',
      image_requests: [
        {
          architecture: 'aarch64',
          image_type: 'aws',
          upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012', '210987654321'] } },
        },
      ],
    });
  });

  it.each(Object.keys(VALID_FILLS))('is saved from the %s form with that cloud’s upload', async (provider) => {
    const view = await openForm(world, provider);

    const { ack } = await submitForm(world, view, VALID_FILLS[provider]!);

    expect(ack).toHaveBeenCalledWith();
    const [row] = await saved();
    expect(row).toMatchObject({ provider, requesterId: USER, channelId: CHANNEL });
    const body = JSON.parse(row!.composeRequest) as {
      image_requests: { image_type: string; upload_request: { type: string } }[];
    };
    expect(body.image_requests[0]!.image_type).toBe(provider);
    expect(body.image_requests[0]!.upload_request.type).toBe(provider === 'guest-image' ? 'aws.s3' : provider);
  });

  it('is saved for whoever submitted it, in the channel the command was typed in', async () => {
    const view = await openForm(world, 'gcp', { channel: 'C0ELSEWHERE' });

    await submitForm(world, view, VALID_FILLS.gcp!, { user: 'U0BOB' });

    const [row] = await saved();
    expect(row).toMatchObject({ requesterId: 'U0BOB', channelId: 'C0ELSEWHERE' });
    expect(JSON.parse(row!.composeRequest)).toMatchObject({
      image_description: `Requested in Slack by U0BOB — request ${row!.id}`,
    });
  });

  it('is one request when the same submission arrives twice', async () => {
    const view = await openForm(world, 'aws');
    const body = submission(view, VALID_FILLS.aws!);

    const first = await submitBody(world, body);
    const second = await submitBody(world, structuredClone(body));

    expect(first.ack).toHaveBeenCalledWith();
    expect(second.ack).toHaveBeenCalledWith();
    expect(await saved()).toHaveLength(1);
    expect(world.onRequest).toHaveBeenCalledTimes(1);
  });

  it('from two forms is two requests', async () => {
    await submitForm(world, await openForm(world, 'aws'), VALID_FILLS.aws!);
    await submitForm(world, await openForm(world, 'aws'), VALID_FILLS.aws!);

    expect(await saved()).toHaveLength(2);
    expect(world.onRequest).toHaveBeenCalledTimes(2);
  });
});

describe('invalid values', () => {
  it('go back to the field they belong to, and nothing is saved', async () => {
    const view = await openForm(world, 'aws');

    const { ack } = await submitForm(world, view, {
      distribution: 'rhel-9',
      share_with_accounts: '12345, 123456789012',
    });

    expect(ack).toHaveBeenCalledWith({
      response_action: 'errors',
      errors: { share_with_accounts: expect.stringContaining('“12345” is not an AWS account id') },
    });
    expect(await saved()).toEqual([]);
    expect(world.onRequest).not.toHaveBeenCalled();
  });

  it('are all reported at once, each on an input of the form', async () => {
    const view = await openForm(world, 'azure');

    const { ack } = await submitForm(world, view, {
      ...VALID_FILLS.azure,
      tenant_id: 'not-a-guid',
      image_name: 'x'.repeat(101),
    });

    const [answer] = ack.mock.calls[0]! as [{ response_action: string; errors: Record<string, string> }];
    expect(answer.response_action).toBe('errors');
    expect(Object.keys(answer.errors).sort()).toEqual(['image_name', 'tenant_id']);
    for (const blockId of Object.keys(answer.errors)) expect(inputBlockIds(view)).toContain(blockId);
    expect(answer.errors.image_name).toMatch(/at most 100 characters/);
    expect(await saved()).toEqual([]);
  });

  it('include a distribution the catalog stopped offering after the form was opened', async () => {
    const view = await openForm(world, 'aws');
    world.deps.catalog = fixedCatalog([{ name: 'rhel-10' }]);

    const { ack } = await submitForm(world, view, VALID_FILLS.aws!);

    expect(ack).toHaveBeenCalledWith({
      response_action: 'errors',
      errors: { distribution: expect.stringContaining('rhel-10') },
    });
    expect(await saved()).toEqual([]);
  });

  it('about a field the form does not show are shown on its first input, where Slack can display them', async () => {
    const view = await openForm(world, 'aws');
    const body = submission(view, { ...VALID_FILLS.aws, image_name: 'x'.repeat(101) });
    // A form rendered without the build name, whose state still carries one (as an older form's could).
    const blocks = body.view.blocks.filter((b) => b.block_id !== 'image_name');
    const withoutName = { ...body, view: { ...body.view, blocks } };

    const { ack } = await submitBody(world, withoutName);

    const [answer] = ack.mock.calls[0]! as [{ errors: Record<string, string> }];
    expect(Object.keys(answer.errors)).toEqual([firstOrderField(withoutName.view)]);
    expect(Object.keys(answer.errors)).toEqual(['distribution']);
    expect(answer.errors.distribution).toMatch(/build name/);
    expect(await saved()).toEqual([]);
  });
});

describe('a form that is not ours', () => {
  it.each([
    ['empty private_metadata', ''],
    ['private_metadata that is not JSON', 'C012BUILDS|aws'],
    ['JSON null', 'null'],
    ['no channel', JSON.stringify({ provider: 'aws' })],
    ['a cloud the bot does not offer', JSON.stringify({ provider: 'openstack', channelId: CHANNEL })],
  ])('with %s is refused on its first input, and nothing is saved', async (_case, privateMetadata) => {
    const view = await openForm(world, 'aws');
    const body = submission(view, VALID_FILLS.aws!);
    body.view.private_metadata = privateMetadata;

    const { ack } = await submitBody(world, body);

    expect(ack).toHaveBeenCalledWith({
      response_action: 'errors',
      errors: { [firstOrderField(view) ?? '']: 'This form is out of date; close it and run the command again.' },
    });
    expect(await saved()).toEqual([]);
    expect(world.onRequest).not.toHaveBeenCalled();
  });
});

describe('when the request cannot be saved', () => {
  it('keeps the form open with an error, logs why, and saves it when submitted again', async () => {
    // A store that gives up on a lock quickly, and another connection holding the write lock.
    const locked = await sqlite.open('locked.sqlite', { busyTimeoutMs: 20 });
    const { logger, lines } = recordingLogger();
    world = listenerWorld(locked.store);
    world.deps.logger = logger;
    const holder = new Database(locked.path);
    holder.exec('BEGIN IMMEDIATE');

    const view = await openForm(world, 'aws');
    const body = submission(view, VALID_FILLS.aws!);
    let failed: Awaited<ReturnType<typeof submitBody>>;
    try {
      failed = await submitBody(world, body);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }

    expect(failed.ack).toHaveBeenCalledWith({
      response_action: 'errors',
      errors: { distribution: expect.stringMatching(/could not be saved, so nothing will be built/) },
    });
    expect(world.onRequest).not.toHaveBeenCalled();
    expect(await locked.store.listUnfinished()).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: 'could not save a build request', requester: USER, viewId: view.id }),
    );

    const retried = await submitBody(world, structuredClone(body));

    expect(retried.ack).toHaveBeenCalledWith();
    expect(await locked.store.listUnfinished()).toHaveLength(1);
    expect(world.onRequest).toHaveBeenCalledTimes(1);
  });
});
