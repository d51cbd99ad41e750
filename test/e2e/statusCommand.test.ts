import { blocksText, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { FakeSlackCall, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import type { FillValue } from '../support/slackRequests';
import { composeRequestFor } from '../slack/views/fixtures';
import { guestImage } from '../../src/providers/guestImage';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * `/image-builder status <id>` and `/image-builder list`, end to end, for people other than the one who asked: the
 * whole result (share targets, launch commands, the presigned download link) only for those who may see the build;
 * the status alone for anyone else the policy lets in; nothing for someone it refuses.
 */

const harness = useHarness();
let h: Harness;
async function start(options: HarnessOptions = {}): Promise<void> {
  h = await harness.start(options);
}

const QUICK = ['pending', 'success'] as const;

// Slack's ids, in the shape the policy file accepts.
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const MALLORY = 'U0MALLRY4';
const PRIVATE = 'C0PRIVATE';
const PUBLIC = 'C0PUBLIC1';
const ELSEWHERE = 'C0ELSEWHR';
const SECRET = 'C0SECRET1';
const TEAM_ONLY = `
requesters:
  users: [${ALICE}, ${BOB}, ${CAROL}]
`;

function newModal(before: number): Promise<SlackView> {
  return h.slack.waitFor(() => h.slack.views()[before], { description: `modal number ${before + 1} to open` });
}

/** Orders an image and waits until the service's compose has finished and the result is in the store. */
async function orderImage(cloud: string, fills: Record<string, FillValue>, user: string, channel: string) {
  const opened = h.slack.views().length;
  await h.command(cloud, { user_id: user, channel_id: channel });
  expect((await h.submitModal(fills, user, await newModal(opened))).text).toBe('');
  return eventually(
    async () => {
      const [row] = await h.store().listNewest({ requesterId: user, limit: 1 });
      return row?.state === 'done' && row.finalImageStatus ? row : undefined;
    },
    { timeoutMs: 15_000, description: `${user}'s ${cloud} build to finish` },
  );
}

/** What `user` is answered, typing `/image-builder <words>` in `channel`. */
async function answerTo(words: string, user: string, channel: string): Promise<string> {
  const before = h.slack.callsTo('response_url').length;
  expect((await h.command(words, { user_id: user, channel_id: channel })).status).toBe(200);
  const call: FakeSlackCall = await h.slack.waitFor(
    (calls) => calls.filter((c) => c.method === 'response_url')[before],
    {
      description: `the answer to ${user}'s ${words.split(' ')[0]} command`,
    },
  );
  expect(call.args.response_type).toBe('ephemeral');
  return `${String(call.args.text)}\n${blocksText(call.args.blocks)}`;
}

const statusAs = (user: string, channel: string, composeId: string) => answerTo(`status ${composeId}`, user, channel);

describe('/image-builder status <id>', () => {
  it('shows the whole result only to whoever may see the build, the status alone to others, and nothing to someone refused', async () => {
    await start({
      imageBuilder: { script: [...QUICK] },
      policy: TEAM_ONLY,
      slack: { channels: { [PRIVATE]: 'private-member' } },
    });
    const guest = await orderImage('guest-image', { distribution: 'rhel-9' }, ALICE, PRIVATE);
    const downloadLink = (JSON.parse(guest.finalImageStatus!) as { upload_status: { options: { url: string } } })
      .upload_status.options.url;
    const composeId = guest.composeId!;

    // The requester, wherever they ask; and someone in the channel the build is followed in.
    for (const [user, channel] of [
      [ALICE, ELSEWHERE],
      [BOB, PRIVATE],
    ] as const) {
      const whole = await statusAs(user, channel, composeId);
      expect(whole).toContain('Ready');
      expect(whole).toContain('curl -fLo');
      expect(whole).toContain(downloadLink.slice(0, 60));
    }

    // Someone the policy lets in, asking from another channel: the status, and why there is no more.
    const statusAlone = await statusAs(CAROL, ELSEWHERE, composeId);
    expect(statusAlone).toContain(`Compose \`${composeId}\``);
    expect(statusAlone).toContain('Ready');
    expect(statusAlone).toContain('Its details are shown to whoever asked for it');
    expect(statusAlone).not.toContain('curl');
    expect(statusAlone).not.toContain('X-Amz-Signature');
    expect(statusAlone).not.toContain('image-builder-service-production');

    // Someone the policy refuses: its reason, nothing of the build, and a line in the audit log.
    const refused = await statusAs(MALLORY, PRIVATE, composeId);
    expect(refused).toContain('may request images');
    expect(refused).not.toContain(composeId);
    expect(refused).not.toContain('Ready');
    const audit = await h.store().listAudit(new Date(0));
    expect(audit.filter((e) => e.kind === 'refused').map((e) => [e.actorId, e.detail.entryPoint])).toEqual([
      [MALLORY, 'command'],
    ]);

    // A build followed in a public channel is anyone's to see.
    const ami = await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' }, BOB, PUBLIC);
    const publicOne = await statusAs(CAROL, ELSEWHERE, ami.composeId!);
    expect(publicOne).toContain('aws ec2 run-instances');
    expect(h.slack.problems).toEqual([]);
  });

  it('shows only the status of a compose the bot did not order (in the web console, say)', async () => {
    await start();
    const composeId = h.imageBuilder.addCompose({
      request: JSON.parse(composeRequestFor(guestImage)) as JsonObject,
      script: ['success'],
    });

    const answer = await statusAs(ALICE, PUBLIC, composeId);
    expect(answer).toContain('Ready');
    expect(answer).toContain('The bot did not order this compose');
    expect(answer).not.toContain('curl');
  });
});

describe('/image-builder list', () => {
  it('lists this channel’s builds to others only where they are followed here, and nothing to someone refused', async () => {
    await start({
      imageBuilder: { script: [...QUICK] },
      policy: TEAM_ONLY,
      // The bot is not in SECRET: a build asked for there is followed in its requester's DM.
      slack: { channels: { [PRIVATE]: 'private-member', [SECRET]: 'private' } },
    });
    const here = await orderImage('guest-image', { distribution: 'rhel-9' }, ALICE, PRIVATE);
    const inDm = await orderImage('guest-image', { distribution: 'rhel-10' }, ALICE, SECRET);
    expect([here.threadChannelKind, inDm.threadChannelKind]).toEqual(['private', 'dm']);

    const mine = await answerTo('list', ALICE, SECRET);
    expect(mine).toContain(here.composeId!);
    expect(mine).toContain(inDm.composeId!);

    // Bob is in both channels, but the DM's thread is Alice's alone.
    const bobInPrivate = await answerTo('list', BOB, PRIVATE);
    expect(bobInPrivate).toContain(here.composeId!);
    const bobInSecret = await answerTo('list', BOB, SECRET);
    expect(bobInSecret).not.toContain(inDm.composeId!);
    expect(bobInSecret).not.toContain(`D${ALICE}`);
    expect(bobInSecret).toContain('No builds yet from you or in this channel.');

    const refused = await answerTo('list', MALLORY, PRIVATE);
    expect(refused).toContain('may request images');
    expect(refused).not.toContain(here.composeId!);
    const audit = await h.store().listAudit(new Date(0));
    expect(audit.filter((e) => e.kind === 'refused').map((e) => [e.actorId, e.detail.entryPoint])).toEqual([
      [MALLORY, 'command'],
    ]);
    expect(h.slack.problems).toEqual([]);
  });
});
