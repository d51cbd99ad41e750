import { addDays } from 'date-fns';
import { ImageBuilderError } from '../../../src/imageBuilder';
import { providers } from '../../../src/providers';
import { errorSentence } from '../../../src/slack/errorMessages';
import { COMPOSE_MODAL_CALLBACK_ID, parseModalContext } from '../../../src/slack/views/composeModal';
import type { BuildRequestStore, NewBuildRequest } from '../../../src/store/store';
import { viewProblems } from '../../../src/demo/fakes/blockKit';
import {
  CHANNEL,
  composesList,
  composeStatus,
  fakeAck,
  listenerWorld,
  messageText,
  NOW,
  OFFERED,
  optionValues,
  permalinkOf,
  postedView,
  RESPONSE_URL,
  runCommand,
  USER,
  useSqliteStore,
  type ListenerWorld,
} from './support';

/*
 * `/image-builder …` as Slack delivers it to the command listener: what the user sees in the acknowledgement, the
 * modal opened with the command's trigger, and the ephemeral answers sent through the response_url afterwards.
 */

const { store } = useSqliteStore();
let world: ListenerWorld;
beforeEach(() => {
  world = listenerWorld(store());
});

const COMPOSE_ID = '8d3c7f2e-1b4a-4c6d-9e0f-a1b2c3d4e5f6';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The one message given to `respond`, as text to search. */
function responded(): string {
  expect(world.respond).toHaveBeenCalledTimes(1);
  const [url, message] = world.respond.mock.calls[0]!;
  expect(url).toBe(RESPONSE_URL);
  return messageText(message);
}

let sequence = 0;

/** A request as the tracker leaves it: with its thread (when posted) and the compose it became. */
async function seed(
  target: BuildRequestStore,
  fields: Partial<NewBuildRequest> & { composeId: string; parentTs?: string; minutesAgo: number },
) {
  sequence += 1;
  const { composeId, parentTs, minutesAgo, ...request } = fields;
  const { request: row } = await target.insert({
    id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    idempotencyKey: `V0SEED${sequence}`,
    requesterId: USER,
    channelId: CHANNEL,
    responseUrl: null,
    provider: 'aws',
    distribution: 'rhel-9',
    architecture: 'x86_64',
    imageName: null,
    shareSummary: 'shared with AWS account 123456789012',
    composeRequest: '{}',
    createdAt: new Date(NOW.getTime() - minutesAgo * 60_000),
    ...request,
  });
  await target.update(row.id, {
    state: 'tracking',
    composeId,
    status: 'building',
    ...(parentTs ? { parentTs, threadChannelId: request.channelId ?? CHANNEL } : {}),
  });
}

describe('/image-builder <cloud>', () => {
  it.each(providers.map((p) => p.id))('acknowledges, then opens the %s form with the command’s trigger', async (id) => {
    const { ack, command } = await runCommand(world, id);

    expect(world.order()).toEqual(['ack', 'views.open']);
    expect(ack).toHaveBeenCalledWith();
    const [{ trigger_id, view: posted }] = world.client.views.open.mock.calls[0]!;
    const view = postedView(posted) as { callback_id: string; private_metadata: string };
    expect(trigger_id).toBe(command.trigger_id);
    expect(view.callback_id).toBe(COMPOSE_MODAL_CALLBACK_ID);
    expect(parseModalContext(view.private_metadata)).toEqual({
      provider: id,
      channelId: CHANNEL,
      responseUrl: RESPONSE_URL,
    });
    expect(viewProblems(view, 'modal')).toEqual([]);
  });

  it('offers the distributions the catalog knows, without asking Image Builder', async () => {
    await runCommand(world, 'aws');

    expect(optionValues(world.opened[0]!, 'distribution')).toEqual(OFFERED.map((d) => d.name));
    expect(world.order().filter((c) => c.startsWith('imageBuilder.'))).toEqual([]);
  });

  it.each([
    ['AWS', 'aws'],
    ['  Azure  ', 'azure'],
    ['\tgCp ', 'gcp'],
    ['Guest-Image', 'guest-image'],
  ])('reads %j as the %s cloud', async (text, id) => {
    await runCommand(world, text);

    expect(world.client.views.open).toHaveBeenCalledTimes(1);
    expect(parseModalContext(world.opened[0]!.private_metadata as string)?.provider).toBe(id);
  });

  it('tells the user when Slack will not open the form, instead of doing nothing', async () => {
    world.client.views.open.mockRejectedValueOnce(
      Object.assign(new Error('An API error occurred: expired_trigger_id'), {
        data: { ok: false, error: 'expired_trigger_id' },
      }),
    );

    await expect(runCommand(world, 'aws')).resolves.toBeDefined();

    expect(world.order()).toEqual(['ack', 'views.open', 'respond']);
    expect(responded()).toMatch(/could not open the form; run the command again/);
  });
});

describe('/image-builder help, and words it does not know', () => {
  it.each(['', 'help', 'HELP', '--help', '  help  '])(
    'answers %j with how to use it, privately, in the acknowledgement',
    async (text) => {
      const { ack } = await runCommand(world, text);

      expect(ack).toHaveBeenCalledTimes(1);
      const [answer] = ack.mock.calls[0]!;
      expect(answer).toMatchObject({ response_type: 'ephemeral' });
      const shown = messageText(answer);
      for (const provider of providers) expect(shown).toContain(`/image-builder ${provider.id}`);
      expect(shown).toContain('/image-builder status &lt;compose-id&gt;');
      expect(shown).toContain('/image-builder list');
      expect(shown).not.toMatch(/don’t know/);
      // The credentials' state is the client's cached fact: no call to Red Hat happens before the answer.
      expect(world.order()).toEqual(['imageBuilder.credentialsHealth', 'ack']);
    },
  );

  // __proto__ and constructor: words an object literal has a property for, as a lookup table would answer them.
  it.each(['bake aws', '__proto__', 'constructor', '__proto__ aws', 'constructor status'])(
    'names the word it does not know in %j, and still shows how to use it',
    async (text) => {
      const { ack } = await runCommand(world, text);

      expect(ack).toHaveBeenCalledTimes(1);
      const [answer] = ack.mock.calls[0]!;
      expect(answer).toMatchObject({ response_type: 'ephemeral' });
      const shown = messageText(answer);
      expect(shown).toContain(`I don’t know “${text.split(' ')[0]}”.`);
      expect(shown).toContain('/image-builder aws');
      expect(world.order()).toEqual(['imageBuilder.credentialsHealth', 'ack']);
    },
  );

  it('says in the help that no build can be ordered while Image Builder refuses the bot’s credentials', async () => {
    world.imageBuilder.credentialsHealth.mockReturnValue({ state: 'refused', detail: 'unauthorized: invalid_client' });
    const { ack } = await runCommand(world, 'help');

    const shown = messageText(ack.mock.calls[0]![0]);
    expect(shown).toContain(
      'Image Builder is refusing the bot’s credentials right now, so new builds cannot be ordered',
    );
    expect(shown).not.toContain('invalid_client');
    expect(shown).toContain('/image-builder aws');
  });

  it.each(['<!channel>', '<@U0ADMIN>', '<https://evil.example|click>', '&lt;!here&gt;'])(
    'repeats the unknown word %s without it notifying anyone or becoming a link',
    async (word) => {
      const { ack } = await runCommand(world, word);

      const [answer] = ack.mock.calls[0]!;
      expect(answer).toMatchObject({ response_type: 'ephemeral' });
      const shown = messageText(answer);
      expect(shown).not.toContain('<!');
      expect(shown).not.toContain('<@');
      expect(shown).not.toContain('<https://evil');
      expect(shown).toContain(`“${word.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}”`);
    },
  );

  it('shortens a long unknown word without splitting a character in two', async () => {
    const { ack } = await runCommand(world, '🐧'.repeat(60));

    const shown = messageText(ack.mock.calls[0]![0]);
    expect(shown).toMatch(/I don’t know “(🐧)+…”/u);
    expect(shown).not.toMatch(LONE_SURROGATE);
  });
});

describe('/image-builder status <id>', () => {
  it.each(['status', 'status 12345', 'status not-a-uuid', `status ${COMPOSE_ID}x`])(
    'answers %j at once with what an id looks like, without asking Image Builder',
    async (text) => {
      const { ack } = await runCommand(world, text);

      expect(ack).toHaveBeenCalledWith({ response_type: 'ephemeral', text: expect.stringContaining('UUID') });
      expect(messageText(ack.mock.calls[0]![0])).toContain(
        '/image-builder status 123e4567-e89b-12d3-a456-426655440000',
      );
      expect(world.order()).toEqual(['ack']);
    },
  );

  it('acknowledges before asking Image Builder, then says where the build is', async () => {
    world.imageBuilder.getCompose.mockResolvedValueOnce(
      composeStatus({
        image_status: { status: 'building', progress: { done: 3, total: 7 } },
        request: { distribution: 'rhel-9', image_requests: [{ architecture: 'x86_64', image_type: 'aws' }] },
      }),
    );

    const { ack } = await runCommand(world, `status ${COMPOSE_ID}`);

    expect(ack).toHaveBeenCalledWith();
    expect(world.order()).toEqual(['ack', 'imageBuilder.getCompose', 'respond']);
    expect(world.imageBuilder.getCompose).toHaveBeenCalledWith(COMPOSE_ID);
    const shown = responded();
    expect(shown).toContain(COMPOSE_ID);
    expect(shown).toContain('Building — step 3 of 7');
  });

  it('reads the id case-insensitively and asks Image Builder in its own lower case', async () => {
    world.imageBuilder.getCompose.mockResolvedValueOnce(composeStatus({ image_status: { status: 'pending' } }));

    await runCommand(world, `STATUS ${COMPOSE_ID.toUpperCase()}`);

    expect(world.imageBuilder.getCompose).toHaveBeenCalledWith(COMPOSE_ID);
    expect(responded()).toContain('Pending');
  });

  describe('of a finished AWS build', () => {
    // The asker's own build: the whole result is theirs to see.
    beforeEach(() => seed(store(), { composeId: COMPOSE_ID, minutesAgo: 0 }));
    const AMI = 'ami-0abc1234def567890';
    const CREATED_AT = new Date('2025-02-27T10:00:00.000Z');
    const finished = () =>
      composeStatus({
        image_status: {
          status: 'success',
          upload_status: { status: 'success', type: 'aws', options: { ami: AMI, region: 'us-east-1' } },
        },
        request: {
          distribution: 'rhel-9',
          image_requests: [
            {
              architecture: 'x86_64',
              image_type: 'aws',
              upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
            },
          ],
        },
      });

    it('shows the image, the commands to launch and copy it, and when Image Builder deletes it', async () => {
      world.imageBuilder.getCompose.mockResolvedValueOnce(finished());
      world.imageBuilder.listAllComposes.mockImplementationOnce(() =>
        composesList([
          { id: 'ffffffff-0000-4000-8000-000000000000', created_at: '2025-02-28T10:00:00Z' },
          { id: COMPOSE_ID, created_at: CREATED_AT.toISOString() },
        ]),
      );

      await runCommand(world, `status ${COMPOSE_ID}`);

      const shown = responded();
      expect(shown).toContain(`AMI ${AMI} in us-east-1`);
      expect(shown).toContain(
        `aws ec2 run-instances --image-id ${AMI} --region us-east-1 --count 1 --instance-type t3.micro`,
      );
      expect(shown).toContain(`aws ec2 copy-image --source-image-id ${AMI}`);
      const expires = addDays(CREATED_AT, 14);
      expect(shown).toContain(`Available until <!date^${expires.getTime() / 1000}^`);
    });

    it('dates the build from the bot’s own record, without reading the list, with the launch settings it kept', async () => {
      const KEPT = '55555555-5555-4555-8555-555555555555';
      await seed(store(), {
        composeId: KEPT,
        minutesAgo: 0,
        launchSettings: JSON.stringify({ key_name: 'platform-team' }),
      });
      const [row] = await store().listNewest({ limit: 1 });
      await store().update(row!.id, { composeCreatedAt: CREATED_AT });
      world.imageBuilder.getCompose.mockResolvedValueOnce(finished());

      await runCommand(world, `status ${KEPT}`);

      const shown = responded();
      expect(shown).toContain(`Available until <!date^${addDays(CREATED_AT, 14).getTime() / 1000}^`);
      expect(shown).toContain('--key-name platform-team');
      expect(world.imageBuilder.listAllComposes).not.toHaveBeenCalled();
    });

    it('says Image Builder has deleted an image its 14-day list no longer has, with no command to launch it', async () => {
      world.imageBuilder.getCompose.mockResolvedValueOnce(finished());
      world.imageBuilder.listAllComposes.mockImplementationOnce(() =>
        composesList([{ id: 'ffffffff-0000-4000-8000-000000000000', created_at: '2025-02-28T10:00:00Z' }]),
      );

      await runCommand(world, `status ${COMPOSE_ID}`);

      const shown = responded();
      expect(shown).toContain(`AMI ${AMI} in us-east-1`);
      expect(shown).toContain('Image Builder has deleted this image: it was built more than 14 days ago.');
      expect(shown).not.toContain('aws ec2 run-instances');
      expect(shown).not.toContain('aws ec2 copy-image');
    });

    it.each([
      ['the compose’s created_at cannot be read', () => composesList([{ id: COMPOSE_ID, created_at: 'yesterday' }])],
      [
        'Image Builder’s list cannot be read',
        // eslint-disable-next-line require-yield
        async function* () {
          throw new ImageBuilderError({ kind: 'unavailable', status: 503, message: 'GET /composes answered 503' });
        },
      ],
    ])('leaves the expiry out rather than guess it when %s', async (_case, list) => {
      world.imageBuilder.getCompose.mockResolvedValueOnce(finished());
      world.imageBuilder.listAllComposes.mockImplementationOnce(list);

      await runCommand(world, `status ${COMPOSE_ID}`);

      const shown = responded();
      expect(shown).toContain(`AMI ${AMI} in us-east-1`);
      expect(shown).toContain('aws ec2 run-instances');
      expect(shown).not.toMatch(/Available until|deleted this image/);
    });
  });

  describe('when Image Builder cannot answer', () => {
    // What must never reach a user: the client's internal message, the stack, and anything like a credential.
    const SECRET = 'eyJhbGciOiJSUzI1NiJ9.secret-access-token';
    const failing = (kind: ImageBuilderError['kind'], status: number, detail?: string) =>
      new ImageBuilderError({
        kind,
        status,
        ...(detail ? { detail } : {}),
        message: `GET /composes/{id} answered ${status} (Authorization: Bearer ${SECRET})`,
        cause: new Error(`socket closed while sending Bearer ${SECRET}`),
      });

    it.each([
      [
        'it does not know the compose',
        failing('not-found', 404),
        `Image Builder knows no compose \`${COMPOSE_ID}\` for our organisation; it may have been deleted.`,
      ],
      [
        'it refuses to show the compose',
        failing('forbidden', 403, 'Forbidden: org mismatch'),
        `Image Builder refused to show compose \`${COMPOSE_ID}\` to the bot’s account. Forbidden: org mismatch`,
      ],
      ['it is unavailable', failing('unavailable', 503), errorSentence('unavailable')],
      ['it refuses our credentials', failing('unauthorized', 401), errorSentence('unauthorized')],
    ])('says so in one sentence when %s', async (_case, error, sentence) => {
      world.imageBuilder.getCompose.mockRejectedValueOnce(error);

      await runCommand(world, `status ${COMPOSE_ID}`);

      expect(world.order()).toEqual(['ack', 'imageBuilder.getCompose', 'respond']);
      const shown = responded();
      expect(shown).toBe(sentence);
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toMatch(/\n\s+at |Error:/);
    });

    it('repeats the service’s own words escaped, so they cannot notify anyone', async () => {
      world.imageBuilder.getCompose.mockRejectedValueOnce(
        failing('forbidden', 403, 'Ask <!channel> or see <https://evil.example|here>'),
      );

      await runCommand(world, `status ${COMPOSE_ID}`);

      const shown = responded();
      expect(shown).toContain('Ask &lt;!channel&gt; or see &lt;https://evil.example|here&gt;');
      expect(shown).not.toMatch(/<!|<https/);
    });

    it('keeps an unexpected failure in the log and tells the user only that something went wrong', async () => {
      world.imageBuilder.getCompose.mockRejectedValueOnce(
        new TypeError(`Cannot read properties of undefined (token ${SECRET})`),
      );

      await runCommand(world, `status ${COMPOSE_ID}`);

      const shown = responded();
      expect(shown).toBe('Something went wrong looking that up; the details are in the bot’s log.');
    });
  });
});

describe('/image-builder list', () => {
  const MINE_HERE = '11111111-1111-4111-8111-111111111111';
  const MINE_ELSEWHERE = '22222222-2222-4222-8222-222222222222';
  const THEIRS_HERE = '33333333-3333-4333-8333-333333333333';
  const THEIRS_ELSEWHERE = '44444444-4444-4444-8444-444444444444';

  async function seedFourBuilds() {
    await seed(store(), { composeId: MINE_HERE, parentTs: '1740830000.000100', minutesAgo: 5 });
    await seed(store(), {
      composeId: MINE_ELSEWHERE,
      channelId: 'C0OTHER',
      parentTs: '1740830000.000200',
      minutesAgo: 10,
    });
    await seed(store(), {
      composeId: THEIRS_HERE,
      requesterId: 'U0BOB',
      parentTs: '1740830000.000300',
      minutesAgo: 15,
    });
    await seed(store(), {
      composeId: THEIRS_ELSEWHERE,
      requesterId: 'U0CAROL',
      channelId: 'C0PRIVATE',
      parentTs: '1740830000.000400',
      minutesAgo: 1,
    });
  }

  it('acknowledges, then shows the user’s builds and this channel’s, newest first, each with its thread', async () => {
    await seedFourBuilds();

    const { ack } = await runCommand(world, 'list');

    expect(ack).toHaveBeenCalledWith();
    expect(world.order()[0]).toBe('ack');
    expect(world.order().at(-1)).toBe('respond');
    const shown = responded();
    expect(shown).not.toContain(THEIRS_ELSEWHERE);
    expect(shown).not.toContain('U0CAROL');
    const order = [MINE_HERE, MINE_ELSEWHERE, THEIRS_HERE].map((id) => shown.indexOf(id));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(shown).toContain('<@U0BOB>');
    expect(shown).toContain(`<${permalinkOf(CHANNEL, '1740830000.000100')}|thread>`);
    expect(shown).toContain(`<${permalinkOf('C0OTHER', '1740830000.000200')}|thread>`);
    expect(shown).toContain(`<${permalinkOf(CHANNEL, '1740830000.000300')}|thread>`);
    expect(world.client.chat.getPermalink).toHaveBeenCalledWith({
      channel: 'C0OTHER',
      message_ts: '1740830000.000200',
    });
    expect(world.order().filter((c) => c.startsWith('imageBuilder.'))).toEqual([]);
  });

  it('still lists every build when Slack cannot give a thread’s link', async () => {
    await seedFourBuilds();
    world.client.chat.getPermalink.mockImplementation(async ({ channel, message_ts }) => {
      if (channel === 'C0OTHER')
        throw Object.assign(new Error('An API error occurred: channel_not_found'), {
          data: { ok: false, error: 'channel_not_found' },
        });
      return { ok: true, channel, permalink: permalinkOf(channel, message_ts) };
    });

    await runCommand(world, 'list');

    const shown = responded();
    for (const id of [MINE_HERE, MINE_ELSEWHERE, THEIRS_HERE]) expect(shown).toContain(id);
    expect(shown).toContain(`<${permalinkOf(CHANNEL, '1740830000.000100')}|thread>`);
    expect(shown).not.toContain(permalinkOf('C0OTHER', '1740830000.000200'));
  });

  it('lists a build whose thread was never posted without asking Slack for a link', async () => {
    await seed(store(), { composeId: MINE_HERE, minutesAgo: 1 });

    await runCommand(world, 'list');

    expect(responded()).toContain(MINE_HERE);
    expect(world.client.chat.getPermalink).not.toHaveBeenCalled();
  });

  it('says there are no builds yet when there are none', async () => {
    await seed(store(), { composeId: THEIRS_ELSEWHERE, requesterId: 'U0CAROL', channelId: 'C0PRIVATE', minutesAgo: 1 });

    await runCommand(world, 'LIST');

    expect(responded()).toContain('No builds yet from you or in this channel.');
  });

  it('tells the user when the builds cannot be read', async () => {
    await store().close();

    await runCommand(world, 'list');

    expect(world.order()).toEqual(['ack', 'respond']);
    expect(responded()).toBe('I could not read the list of builds just now; try again in a minute.');
  });
});

it('never acknowledges twice, whatever the command', async () => {
  world.imageBuilder.getCompose.mockResolvedValue(composeStatus({ image_status: { status: 'pending' } }));
  for (const text of ['aws', 'help', 'nonsense', 'status x', `status ${COMPOSE_ID}`, 'list']) {
    const ack = fakeAck();
    await runCommand(world, text, { ack });
    expect(ack).toHaveBeenCalledTimes(1);
  }
});
