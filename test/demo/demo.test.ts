import { spawn } from 'node:child_process';
import path from 'node:path';
import { runDemo } from '../../src/demo/demo';

/*
 * `npm run demo` as its viewer sees it: the transcript of the channel, from the slash command to the result, at a
 * higher speed than the demo's minute so the suite stays quick.
 */

const ROOT = path.resolve(__dirname, '../..');

/** Where in the transcript a line matching `pattern` first appears, failing when it does not. */
function positionOf(transcript: string, pattern: RegExp): number {
  const found = pattern.exec(transcript);
  if (!found) throw new Error(`the transcript has no ${String(pattern)}:\n${transcript}`);
  return found.index;
}

it('shows the parent, the status reply edited in place and the result, readably, then stops', async () => {
  let transcript = '';
  await runDemo({ speed: 25, out: { write: (text: string) => (transcript += text) } });

  const parent = positionOf(
    transcript,
    /#platform — posted:\n\s+│ @alice asked for a rhel-9 x86_64 image on Amazon Web Services\n\s+│ ⏳ In progress/,
  );
  // Posted while the submission is under way, or once it is in when the submission was the quicker.
  const statusPosted = positionOf(
    transcript,
    /#platform, in the thread — posted:\n\s+│ (📤 Submitting to Image Builder|⏳ Pending)/,
  );
  const building = positionOf(
    transcript,
    /#platform, in the thread — edited in place:\n\s+│ 🛠️ Building — step \d of 7/,
  );
  const ready = positionOf(transcript, /#platform, in the thread — edited in place:\n\s+│ ✅ Ready\n/);
  const result = positionOf(
    transcript,
    /#platform, in the thread — posted:\n\s+│ ✅ @alice your image is ready: AMI (ami-\w+) in us-east-1/,
  );
  const parentReady = positionOf(transcript, /#platform — edited in place:\n\s+│ @alice asked for .*\n\s+│ ✅ Ready/);
  // The thread in the order a viewer sees it; the result and the last edits go out in whichever order Slack's pace
  // allows (an ended build is shown before anyone's progress).
  expect([parent, statusPosted, building, ready].sort((a, b) => a - b)).toEqual([
    parent,
    statusPosted,
    building,
    ready,
  ]);
  expect(result).toBeGreaterThan(building);
  expect(parentReady).toBeGreaterThan(building);
  // The launch commands as a terminal can paste them, on their own lines.
  expect(transcript).toMatch(
    /\n\s+│ {5}aws ec2 run-instances --image-id ami-\w+ --region us-east-1 --count 1 --instance-type t3\.micro\n/,
  );
  expect(transcript).toMatch(/📅 Available until \d{1,2} \w{3} \d{4} — 14 days/);
  // Rendered, not Slack's markup.
  expect(transcript).not.toMatch(/<@U|<!date|```|:white_check_mark:|\*rhel-9\*/);
  expect(transcript).toContain('The demo is over');
}, 60_000);

it('runs as `npm run demo` does, ends by itself and exits 0', async () => {
  const child = spawn(
    process.execPath,
    ['--require', path.join(ROOT, 'test/support/registerTs.cjs'), path.join(ROOT, 'src/demo/main.ts'), '--speed', '40'],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(0);
  expect(stdout).toContain('your image is ready');
}, 60_000);

it('refuses a speed that is not a positive number', async () => {
  await expect(runDemo({ speed: 0, out: { write: () => undefined } })).rejects.toThrow('positive');
});

it('gives up at its deadline, says so and shows the bot’s log, instead of running on', async () => {
  let transcript = '';
  await expect(
    runDemo({ speed: 1, deadlineMs: 1500, out: { write: (text: string) => (transcript += text) } }),
  ).rejects.toThrow('the build did not finish in time');
  expect(transcript).toContain('The demo failed: the build did not finish in time');
  expect(transcript).toContain("The bot's log:");
  expect(transcript).not.toContain('The demo is over');
});
