import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeImageBuilder, type FakeImageBuilder } from './fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack } from './fakes/slackApi';
import { botEnvironment } from './support/botEnvironment';
import { eventually } from './support/eventually';

/*
 * `npm start` with a policy file, as an operator meets it: a bad file stops the bot with exit code 2 and one message
 * naming the file and every problem in it with its line, before the bot opens its database or talks to Slack or
 * Image Builder (a half-understood export policy must never be enforced); a good file starts it.
 */

const root = path.resolve(__dirname, '..');

let slack: FakeSlack;
let imageBuilder: FakeImageBuilder;
let dir: string;

beforeEach(async () => {
  slack = await startFakeSlack();
  imageBuilder = await startFakeImageBuilder();
  dir = mkdtempSync(path.join(tmpdir(), 'ibb-policy-start-'));
});

afterEach(async () => {
  await Promise.all([slack.close(), imageBuilder.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const databasePath = () => path.join(dir, 'bot.sqlite');

function writePolicy(text: string): string {
  const file = path.join(dir, 'policy.yaml');
  writeFileSync(file, text);
  return file;
}

interface Started {
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  output: () => string;
  stop: () => void;
}

/**
 * The bot as `npm start` runs it, against the fakes, with POLICY_FILE set (unset when undefined) and `env` added.
 * Asynchronous, so the fakes keep answering.
 */
function startBot(policyFile: string | undefined, env: Record<string, string> = {}): Started {
  // From the test's folder: the bot reads a .env where it starts, and a developer may keep one in the checkout.
  const child = spawn(
    process.execPath,
    ['--require', path.join(root, 'test/support/registerTs.cjs'), path.join(root, 'src/index.ts')],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        ...botEnvironment({ slack, imageBuilder, databaseUrl: databasePath() }),
        ...(policyFile === undefined ? {} : { POLICY_FILE: policyFile }),
        ...env,
      },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { exited, output: () => output, stop: () => child.kill('SIGKILL') };
}

/** Runs the bot with `policyFile` until it exits; its exit code and what it printed. */
async function refusedStart(policyFile: string | undefined, env: Record<string, string> = {}) {
  const bot = startBot(policyFile, env);
  const timeout = setTimeout(bot.stop, 15_000);
  try {
    const code = await bot.exited;
    return { code, output: bot.output() };
  } finally {
    clearTimeout(timeout);
  }
}

function expectNothingContacted() {
  expect(slack.calls).toEqual([]);
  expect(imageBuilder.requests).toEqual([]);
  expect(existsSync(databasePath())).toBe(false);
}

it('exits 2 without POLICY_FILE, naming it and both ways to set it, before connecting to anything', async () => {
  // A misspelt name is the same as none: the export control must never be off by accident.
  const environments: Record<string, string>[] = [{}, { POLICY_FIEL: writePolicy('admins: [U0123ABCD]\n') }];
  for (const env of environments) {
    const { code, output } = await refusedStart(undefined, env);

    expect(code).toBe(2);
    expect(output).toContain('POLICY_FILE: is required');
    expect(output).toContain('set it to your policy file');
    expect(output).toContain('or to "open"');
    expect(output).not.toMatch(/at .*\.ts:\d+/);
    expectNothingContacted();
  }
});

it('starts with POLICY_FILE=open and says, once, that everyone may build and share anywhere', async () => {
  const bot = startBot('open');
  try {
    await eventually(() => /image-builder-bot is running/.test(bot.output()) || undefined, {
      timeoutMs: 15_000,
      description: 'the bot to start',
    });
    const warnings = bot
      .output()
      .split('\n')
      .filter((line) => line.includes('POLICY_FILE=open'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 'warn',
      msg: expect.stringContaining('share them anywhere'),
    });
  } finally {
    bot.stop();
    await bot.exited;
  }
});

it('exits 2 on a YAML syntax error, naming the file and the line, before connecting to anything', async () => {
  const file = writePolicy(['requesters:', '  users: [U0123ABCD', 'admins: [U0123ABCD]', ''].join('\n'));
  const { code, output } = await refusedStart(file);

  expect(code).toBe(2);
  expect(output).toContain(`Cannot use the policy file ${file} (POLICY_FILE):`);
  // YAML notices the unclosed list where the next key starts.
  expect(output).toMatch(/- line 3, column 1: .*end with a \]/);
  expect(output).not.toMatch(/at .*\.ts:\d+/);
  expectNothingContacted();
});

it('exits 2 on an unquoted "*" channel, saying how to write it', async () => {
  const file = writePolicy(['sharing:', '  *:', '    aws_accounts: []', ''].join('\n'));
  const { code, output } = await refusedStart(file);

  expect(code).toBe(2);
  expect(output).toContain(`Cannot use the policy file ${file} (POLICY_FILE):`);
  expect(output).toContain('- line 2, column 4: ');
  expect(output).toContain('write the rule for every other channel as "*":');
  expectNothingContacted();
});

it('exits 2 listing every problem of an invalid file, each with its line, before connecting to anything', async () => {
  const file = writePolicy(
    [
      '# The platform team asks for images.', // 1
      'requesters:', // 2
      '  users: [U0123ABCD, alice]', // 3: not a user id
      'admins: [U0123ABCD]', // 4
      'sharing:', // 5
      '  C0789IJKL:', // 6
      '    aws_acounts: ["123456789012"]', // 7: a typo that would leave AWS unrestricted
      'limits:', // 8
      '  in_flight_per_user: 0', // 9
      'approvers: [U0123ABCD]', // 10: not a policy key
      '',
    ].join('\n'),
  );
  const { code, output } = await refusedStart(file);

  expect(code).toBe(2);
  expect(output).toContain(`Cannot use the policy file ${file} (POLICY_FILE):`);
  expect(output).toContain('- line 3: requesters.users[1]: "alice" is not a Slack user id');
  expect(output).toContain('- line 7: sharing.C0789IJKL.aws_acounts: unknown key');
  expect(output).toContain('- line 9: limits.in_flight_per_user: must be a whole number from 1');
  expect(output).toContain('- line 10: approvers: unknown key');
  // In the order they appear in the file, so it can be fixed top to bottom.
  const lines = [...output.matchAll(/- line (\d+):/g)].map((m) => Number(m[1]));
  expect(lines).toEqual([3, 7, 9, 10]);
  expect(output).not.toMatch(/at .*\.ts:\d+/);
  expectNothingContacted();
});

it('exits 2 when the file named does not exist', async () => {
  const file = path.join(dir, 'no-such-policy.yaml');
  const { code, output } = await refusedStart(file);

  expect(code).toBe(2);
  expect(output).toContain(`Cannot use the policy file ${file} (POLICY_FILE):\n  - it does not exist`);
  expectNothingContacted();
});

it('starts with a valid policy file', async () => {
  const file = writePolicy(
    ['requesters:', '  users: [U0123ABCD]', 'admins: [U0123ABCD]', 'limits:', '  per_user_per_day: 5', ''].join('\n'),
  );
  const bot = startBot(file);
  try {
    const healthPort = await eventually(() => /"healthPort":(\d+)/.exec(bot.output())?.[1], {
      timeoutMs: 15_000,
      description: 'the bot to start',
    });
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    expect(bot.output()).not.toContain('Cannot use the policy file');
  } finally {
    bot.stop();
    await bot.exited;
  }
});
