import { DEFAULT_LAUNCH_DEFAULTS } from '../../../src/providers';
import { outcomeOf, toBuildView } from '../../../src/slack/thread/projection';
import {
  orderParentMessage,
  orderStatusMessage,
  parentMessage,
  resultMessage,
  type SlackMessage,
} from '../../../src/slack/views/threadMessages';
import type { BlueprintRef, BuildRequest } from '../../../src/store/store';
import { awsSuccess, buildRow, NOW, REQUESTER } from './fixtures';
import { assertSafeMarkup } from './mrkdwnSafety';
import { messageLimitProblems, visibleTexts } from './slackLimits';

/*
 * The thread of a blueprint order: the lead's parent and status reply show every image of the order, and each image's
 * own result says which image it is.
 */

const shown = (message: SlackMessage) => visibleTexts(message).join('\n');
const GOLDEN: BlueprintRef = {
  id: '6f0c2a1e-1111-4222-8333-444455556666',
  name: 'rhel9-golden',
  version: 5,
  targets: 'blueprint',
};

/** The order's `index`th image, of `architecture`, as the tracker keeps it. */
function image(index: number, architecture: string, overrides: Partial<BuildRequest> = {}): BuildRequest {
  return buildRow({
    id: `0b7f2c1e-2222-4333-8444-55556666777${index}`,
    orderId: '0b7f2c1e-2222-4333-8444-555566667770',
    orderIndex: index,
    blueprint: GOLDEN,
    architecture,
    composeId: `8d3c7f2e-1b4a-4c6d-9e0f-a1b2c3d4e5f${index}`,
    composeRequest: JSON.stringify({ image_types: ['aws'] }),
    shareSummary: 'Shared as saved in the blueprint rhel9-golden',
    ...overrides,
  });
}

/** The row once its compose finished with `imageStatus`. */
const ended = (row: BuildRequest, imageStatus: Record<string, unknown>): BuildRequest => ({
  ...row,
  state: 'done',
  status: String(imageStatus.status),
  finalImageStatus: JSON.stringify(imageStatus),
});

describe('the thread of a blueprint order', () => {
  const underWay = [image(0, 'x86_64'), image(1, 'aarch64', { status: 'pending', progressDone: null })];

  it('lists each image with its status in the status reply, and their compose ids', () => {
    const message = orderStatusMessage(underWay.map(toBuildView));
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('*x86_64 aws* — :hammer_and_wrench: *Building* — step 3 of 7');
    expect(shown(message)).toContain('*aarch64 aws* — :hourglass_flowing_sand: *Pending*');
    expect(shown(message)).toContain('aarch64 aws: compose `8d3c7f2e-1b4a-4c6d-9e0f-a1b2c3d4e5f1`');
    expect(message.text).toBe('Status: x86_64 aws Building — step 3 of 7; aarch64 aws Pending');
  });

  it('names the blueprint and its version in the parent, in progress until every image has ended', () => {
    const message = orderParentMessage(underWay.map(toBuildView));
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain(
      `<@${REQUESTER}> asked for *rhel9-golden v5*: 2 *rhel-9* images on *Amazon Web Services*`,
    );
    expect(shown(message)).toContain('*In progress*');

    const oneEnded = orderParentMessage([ended(image(0, 'x86_64'), awsSuccess()), underWay[1]!].map(toBuildView));
    expect(shown(oneEnded)).toContain('*In progress*');

    const allEnded = orderParentMessage(
      [
        ended(image(0, 'x86_64'), awsSuccess()),
        ended(image(1, 'aarch64'), { status: 'failure', error: { reason: 'disk full' } }),
      ].map(toBuildView),
    );
    expect(shown(allEnded)).toContain('• x86_64 aws: :white_check_mark: *Ready*');
    expect(shown(allEnded)).toContain('• aarch64 aws: :x: *Failed*');
    expect(allEnded.text).toBe(
      'rhel9-golden v5: 2 images on Amazon Web Services: x86_64 aws Ready, aarch64 aws Failed',
    );
  });

  it('says in each image’s result which image of which blueprint it is, with its launch commands', () => {
    const row = ended(image(1, 'aarch64'), awsSuccess());
    const message = resultMessage(toBuildView(row), outcomeOf(row, DEFAULT_LAUNCH_DEFAULTS)!, NOW, row.id);
    expect(shown(message)).toContain(`<@${REQUESTER}> your image of *rhel9-golden v5* (aarch64 aws) is ready`);
    expect(shown(message)).toContain('aws ec2 run-instances');
  });

  it('names the blueprint of a build of one image in its parent', () => {
    const single = image(0, 'x86_64', { blueprint: { ...GOLDEN, targets: 'requester' } });
    expect(shown(parentMessage(toBuildView(single)))).toContain('from the blueprint *rhel9-golden v5*');
  });

  it('stays within Slack’s limits and escapes a hostile blueprint name with forty images', () => {
    const hostile = { ...GOLDEN, name: `<!channel> *${'x'.repeat(300)}* \`\`\` <https://evil.example|click>` };
    const images = Array.from({ length: 40 }, (_, i) => image(i, i % 2 ? 'aarch64' : 'x86_64', { blueprint: hostile }));
    for (const message of [orderStatusMessage(images.map(toBuildView)), orderParentMessage(images.map(toBuildView))]) {
      expect(messageLimitProblems(message)).toEqual([]);
      assertSafeMarkup(visibleTexts(message), [REQUESTER]);
      expect(JSON.stringify(message)).not.toContain('<!channel>');
    }
  });
});
