import type { ComposeOutcome } from '../../../src/compose/outcome';
import { DEFAULT_LAUNCH_DEFAULTS } from '../../../src/providers';
import { aws } from '../../../src/providers/aws';
import { outcomeOf, toBuildView } from '../../../src/slack/thread/projection';
import {
  parentMessage,
  resultMessage,
  statusMessage,
  type BuildView,
  type SlackMessage,
} from '../../../src/slack/views/threadMessages';
import { awsSuccess, buildRow, COMPOSE_ID, finishedRow, NOW, REQUESTER } from './fixtures';
import { messageLimitProblems, visibleTexts } from './slackLimits';
import type { BuildRequest } from '../../../src/store/store';

const launch = DEFAULT_LAUNCH_DEFAULTS;
const shown = (message: SlackMessage) => visibleTexts(message).join('\n');

function result(row: BuildRequest, now = NOW): SlackMessage {
  const outcome = outcomeOf(row, launch);
  if (!outcome) throw new Error('the row has no outcome');
  return resultMessage(toBuildView(row), outcome, now);
}

describe('the parent message', () => {
  const message = parentMessage(toBuildView(buildRow()));

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('shows who asked for what, on which cloud, shared with whom, and that it is under way', () => {
    const text = shown(message);
    expect(text).toContain(`<@${REQUESTER}> asked for a *rhel-9* x86_64 image “web-base” on *Amazon Web Services*`);
    expect(text).toContain('shared with AWS account 123456789012');
    expect(text).toContain(':hourglass_flowing_sand: *In progress* — status in the thread');
  });

  it('follows no step of a build under way, so it is not edited at every step', () => {
    const steps = [
      buildRow({ state: 'submitting', composeId: null, status: null, progressDone: null, progressTotal: null }),
      buildRow({ status: 'pending', progressDone: null, progressTotal: null }),
      buildRow(),
      buildRow({ status: 'uploading', progressDone: 5, progressTotal: 7 }),
      buildRow({ status: 'defragmenting', progressDone: null, progressTotal: null }),
      buildRow({ pollFailures: 5 }),
    ].map((row) => JSON.stringify(parentMessage(toBuildView(row))));
    expect(new Set(steps).size).toBe(1);
    expect(steps[0]).not.toContain('compose');
  });

  it('has a notification text that says the same in plain words, without pinging anyone', () => {
    expect(message.text).toBe('rhel-9 x86_64 image on Amazon Web Services: in progress');
  });

  it('shows how the build ended: ready, failed', () => {
    const failed = toBuildView(buildRow({ status: 'failure', progressDone: null, progressTotal: null }));
    expect(shown(parentMessage(failed))).toContain(':x: *Failed*');
    expect(parentMessage(failed).text).toBe('rhel-9 x86_64 image on Amazon Web Services: Failed');
  });

  it('does not count steps once the build is final', () => {
    const view = toBuildView(buildRow({ status: 'success', progressDone: 7, progressTotal: 7 }));
    expect(shown(parentMessage(view))).toContain(':white_check_mark: *Ready*');
    expect(shown(parentMessage(view))).not.toContain('step');
  });

  it('leaves the context out rather than sending it empty', () => {
    const message = parentMessage({ ...toBuildView(buildRow()), shareSummary: '', composeId: undefined } as BuildView);
    expect(message.blocks.map((b) => b.type)).toEqual(['section']);
    expect(messageLimitProblems(message)).toEqual([]);
  });
});

describe('the status message', () => {
  it('shows the status with its step, and the compose id', () => {
    const message = statusMessage(toBuildView(buildRow({ status: 'uploading', progressDone: 5, progressTotal: 7 })));
    expect(shown(message)).toBe(`:arrow_up: *Uploading* — step 5 of 7\ncompose \`${COMPOSE_ID}\``);
    expect(message.text).toBe('Status: Uploading — step 5 of 7');
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('shows a build still being submitted, before it has a compose id', () => {
    const submitting = statusMessage(
      toBuildView(
        buildRow({ state: 'submitting', composeId: null, status: null, progressDone: null, progressTotal: null }),
      ),
    );
    expect(shown(submitting)).toBe(':outbox_tray: *Submitting to Image Builder*');
    expect(messageLimitProblems(submitting)).toEqual([]);
  });

  it('says when Image Builder has not answered for a while', () => {
    const message = statusMessage(toBuildView(buildRow({ pollFailures: 3 })));
    expect(shown(message)).toContain(':warning: Image Builder has not answered the last few times; I keep trying.');
  });

  it('shows a status the bot does not know as the service spelled it', () => {
    const view = toBuildView(buildRow({ status: 'queued-for-later', progressDone: null, progressTotal: null }));
    expect(shown(statusMessage(view))).toContain(':grey_question: *queued-for-later*');
    expect(statusMessage(view).text).toBe('Status: queued-for-later');
  });
});

describe('the result of a refused request', () => {
  const row = buildRow({
    state: 'rejected',
    composeId: null,
    status: null,
    rejection: JSON.stringify({
      kind: 'forbidden',
      status: 403,
      detail: 'Quota exceeded: 100 of 100 composes used.\nContact your org admin.',
    }),
  });
  const message = result(row);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('tells the requester the sentence for the error and quotes the service’s detail verbatim', () => {
    const text = shown(message);
    expect(text).toContain(`:no_entry: <@${REQUESTER}> Image Builder refused to build this for our organisation`);
    expect(text).toContain('>Quota exceeded: 100 of 100 composes used.\n>Contact your org admin.');
    expect(message.text).toContain('Quota exceeded: 100 of 100 composes used.');
  });

  it('shows the parent as refused', () => {
    expect(shown(parentMessage(toBuildView(row)))).toContain(':no_entry: *Refused by Image Builder*');
  });

  it('reads well without a detail', () => {
    const plain = result(buildRow({ state: 'rejected', rejection: JSON.stringify({ kind: 'unavailable' }) }));
    expect(shown(plain)).toBe(
      `:no_entry: <@${REQUESTER}> Image Builder is unavailable right now; try again in a few minutes.`,
    );
  });
});

describe('the result of a build whose compose was deleted at Image Builder', () => {
  const row = buildRow({ state: 'done', status: 'deleted', finishedAt: NOW });
  const message = result(row);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('tells the requester there is no image, without calling it a failure', () => {
    const text = shown(message);
    expect(text).toContain(
      `:wastebasket: <@${REQUESTER}> the compose was deleted at Image Builder before it was built, so there is no image.`,
    );
    expect(text).not.toMatch(/fail/i);
  });

  it('shows the parent and the status as deleted, not as still under way', () => {
    expect(shown(parentMessage(toBuildView(row)))).toContain(':wastebasket: *Deleted at Image Builder*');
    expect(shown(statusMessage(toBuildView({ ...row, pollFailures: 5 })))).toBe(
      `:wastebasket: *Deleted at Image Builder*\ncompose \`${COMPOSE_ID}\``,
    );
  });
});

describe('the result of a failed build', () => {
  const row = finishedRow({
    status: 'failure',
    error: {
      id: 10,
      reason: 'osbuild did not return any output',
      details: [{ id: 5, reason: 'depsolve failed', details: ['package foo-1.2 is not available'] }],
    },
  });
  const message = result(row);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('tells the requester the reason, and the nested details beneath it', () => {
    const [head, details] = visibleTexts(message);
    expect(head).toBe(`:x: <@${REQUESTER}> the build failed: *osbuild did not return any output*`);
    expect(details).toBe('• depsolve failed\n\u2003◦ package foo-1.2 is not available');
    expect(message.text).toBe(
      'The rhel-9 x86_64 image on Amazon Web Services failed: osbuild did not return any output',
    );
  });

  it('shows the reason alone when there are no details', () => {
    const bare = result(finishedRow({ status: 'failure', error: { id: 1, reason: 'Something broke' } }));
    expect(bare.blocks).toHaveLength(1);
  });
});

describe('the result of a successful AWS build', () => {
  const message = result(finishedRow(awsSuccess()));
  const text = shown(message);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('tells the requester the headline and the summary', () => {
    expect(text).toContain(
      `:white_check_mark: <@${REQUESTER}> your image is ready: *AMI ami-0abc1234def567890 in us-east-1*`,
    );
    expect(text).toContain('*Build name:* `web-base`');
    expect(text).toContain('*Distribution:* `rhel-9`');
    expect(text).toContain('*Region:* `us-east-1`');
    expect(message.text).toBe(
      'Your rhel-9 x86_64 image on Amazon Web Services is ready: AMI ami-0abc1234def567890 in us-east-1',
    );
  });

  it('gives the launch and copy commands in code blocks', () => {
    expect(text).toContain(
      '*Launch it*\n*Launch an instance*\n```aws ec2 run-instances --image-id ami-0abc1234def567890 --region us-east-1 --count 1 --instance-type t3.micro```',
    );
    expect(text).toMatch(
      /\*Keep a copy in your account\*\n\*Copy it into your account to keep it\*\n```aws ec2 copy-image [^`]+```/,
    );
  });

  it('links to the image in the console', () => {
    expect(text).toContain(
      '<https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=ami-0abc1234def567890|Open in the console>',
    );
  });

  it('says until when the image is available, in each reader’s time zone, and that this is 14 days', () => {
    const expiry = visibleTexts(message.blocks.at(-1)).join('');
    const seconds = Date.parse('2025-03-15T10:00:02Z') / 1000;
    expect(expiry).toBe(
      `:calendar: Available until <!date^${seconds}^{date_long_pretty} at {time}|15 Mar 2025> — 14 days. Copy it to keep it longer.`,
    );
  });

  it('says an image past its expiry is gone', () => {
    const late = result(finishedRow(awsSuccess()), new Date('2025-03-20T00:00:00Z'));
    const expiry = visibleTexts(late.blocks.at(-1)).join('');
    expect(expiry).toMatch(
      /^:wastebasket: Image Builder deleted this image on <!date\^\d+\^\{date_long_pretty\} at \{time\}\|15 Mar 2025>\.$/,
    );
  });

  it('shows what is known when the service did not say where the image is', () => {
    const partial = result(finishedRow(awsSuccess({})));
    expect(shown(partial)).toContain('AWS image built, but Image Builder did not report its AMI id and region');
    expect(shown(partial)).not.toContain('```');
    expect(messageLimitProblems(partial)).toEqual([]);
  });
});

describe('the result of an image shared with many accounts', () => {
  const accounts = Array.from({ length: 40 }, (_, i) => String(111111111100 + i));
  const row = finishedRow(awsSuccess(), {
    composeRequest: JSON.stringify({
      distribution: 'rhel-9',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'aws',
          upload_request: { type: 'aws', options: { share_with_accounts: accounts } },
        },
      ],
    }),
  });

  it('shows as many whole account ids as fit, and how many more', () => {
    const message = result(row);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain(`*Shared with:* \`${accounts.slice(0, 20).join(', ')}\` and 20 more`);
  });

  it('says in the channel’s message with whom it is shared, in whole ids and how many more', () => {
    const many = Array.from({ length: 100 }, (_, i) => String(111111111100 + i));
    const parent = parentMessage(toBuildView({ ...row, shareSummary: aws.shareSummary({ shareWithAccounts: many }) }));
    expect(messageLimitProblems(parent)).toEqual([]);
    expect(visibleTexts(parent.blocks.at(-1)).join('')).toMatch(
      /^shared with AWS accounts 111111111100, [\d, ]+, 111111111167 and 32 more$/,
    );
  });

  it('shows a few accounts whole, as before', () => {
    const few = finishedRow(awsSuccess(), {
      composeRequest: JSON.stringify({
        distribution: 'rhel-9',
        image_requests: [
          {
            architecture: 'x86_64',
            image_type: 'aws',
            upload_request: { type: 'aws', options: { share_with_accounts: accounts.slice(0, 3) } },
          },
        ],
      }),
    });
    expect(shown(result(few))).toContain('*Shared with:* `111111111100, 111111111101 and 111111111102`');
  });
});

describe('the result of a successful build on the other clouds', () => {
  it('gives a guest image’s download link and a curl command', () => {
    const url =
      'https://image-builder-service-production.s3.amazonaws.com/composer-api-1.qcow2?X-Amz-Signature=abc&X-Amz-Expires=3600';
    const message = result(
      finishedRow(
        { status: 'success', upload_status: { status: 'success', type: 'aws.s3', options: { url } } },
        { provider: 'guest-image', shareSummary: 'downloadable for 7 days' },
      ),
    );
    const text = shown(message);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(text).toContain(`<${url.replace('&', '&amp;')}|Download the image>`);
    expect(text).toContain(`\`\`\`curl -fLo rhel-9-x86_64-8d3c7f2e.qcow2 '${url.replace('&', '&amp;')}'\`\`\``);
    expect(text).toContain('— 7 days.');
  });

  it('gives an installer ISO’s virt-install command and, as plain words, the USB way; neither once the link is gone', () => {
    const url =
      'https://image-builder-service-production.s3.amazonaws.com/composer-api-1-installer.iso?X-Amz-Signature=a';
    const row = finishedRow(
      { status: 'success', upload_status: { status: 'success', type: 'aws.s3', options: { url } } },
      { provider: 'iso', shareSummary: 'downloadable for 7 days', composeCreatedAt: NOW },
    );
    const message = result(row);
    const text = shown(message);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(text).toContain('your image is ready: *Installer ISO (iso) ready to download*');
    expect(text).toMatch(
      /```virt-install --name rhel-9-x86_64-8d3c7f2e [^`]*--cdrom rhel-9-x86_64-8d3c7f2e\.iso [^`]*```/,
    );
    expect(text).toContain(`\`\`\`curl -fLo rhel-9-x86_64-8d3c7f2e.iso '${url}'\`\`\``);
    expect(text).toContain('To install a machine, write rhel-9-x86_64-8d3c7f2e.iso to a USB stick');
    expect(text).not.toContain('```dd');

    const later = shown(result(row, new Date(NOW.getTime() + 8 * 24 * 3600 * 1000)));
    expect(later).toContain('Image Builder deleted this image on');
    expect(later).not.toContain('virt-install');
    expect(later).not.toContain('USB stick');
  });

  it('gives a GCP image’s launch command', () => {
    const message = result(
      finishedRow(
        {
          status: 'success',
          upload_status: {
            status: 'success',
            type: 'gcp',
            options: { image_name: 'composer-api-abc', project_id: 'red-hat-image-builder' },
          },
        },
        { provider: 'gcp' },
      ),
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toMatch(/```gcloud compute instances create [^`]+```/);
  });

  it('gives an Azure image without an expiry, since it stays in the user’s own account', () => {
    const message = result(
      finishedRow(
        {
          status: 'success',
          upload_status: { status: 'success', type: 'azure', options: { image_name: 'composer-api-abc' } },
        },
        { provider: 'azure' },
      ),
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).not.toContain('Available until');
  });
});

describe('a result with nobody to mention', () => {
  const view: BuildView = { ...toBuildView(buildRow()), requesterId: '' };

  it.each<[string, ComposeOutcome, string]>([
    [
      'a success',
      { kind: 'success', result: { headline: 'AMI ami-1', summary: [], launchCommands: [], copyCommands: [] } },
      ':white_check_mark: Your image is ready',
    ],
    ['a failure', { kind: 'failure', reason: 'broke', details: [] }, ':x: The build failed'],
    ['a refusal', { kind: 'rejected', sentence: 'Image Builder said no.' }, ':no_entry: Image Builder said no.'],
  ])('reads as a sentence for %s, with no empty mention', (_name, outcome, start) => {
    const message = resultMessage(view, outcome, NOW);
    expect(shown(message).startsWith(start)).toBe(true);
    expect(shown(message)).not.toContain('<@');
  });
});
