import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envFileProblems } from '../src/config/envFile';
import { startFakeImageBuilder, type FakeImageBuilder } from './fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack } from './fakes/slackApi';
import { botEnvironment } from './support/botEnvironment';
import { eventually } from './support/eventually';
import { KNOWN_HTTPS_PROXY, KNOWN_SECRETS } from './support/knownSecrets';

/*
 * The quick start taken literally: a `.env` in the folder the bot or the CLI starts in configures it, and a variable
 * given to the process still wins over the file. Both run as processes from a temporary folder, as a user runs them.
 */

const root = path.resolve(__dirname, '..');
const REGISTER_TS = path.join(root, 'test/support/registerTs.cjs');
const VERSION = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

let dir: string;
let service: FakeImageBuilder;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ibb-envfile-'));
  service = await startFakeImageBuilder();
});
afterEach(async () => {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

const envFileText = (variables: Record<string, string>) =>
  `# copied from .env.example\n${Object.entries(variables)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n')}\n`;

function run(entry: 'src/index.ts' | 'src/cli.ts', args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--require', REGISTER_TS, path.join(root, entry), ...args], {
    cwd: dir,
    // The CLI keeps the distributions it is given in a cache folder: this test's, never the user's.
    env: { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: dir, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('the bot started where a .env is', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await startFakeSlack();
  });
  afterEach(() => slack.close());

  it('reads it, says so with its version, and lets the process environment win', async () => {
    writeFileSync(
      path.join(dir, '.env'),
      envFileText({
        ...botEnvironment({ slack, imageBuilder: service, databaseUrl: 'bot.sqlite' }),
        POLICY_FILE: 'open',
        // The process says info: were the file to win, the start line would not be logged.
        LOG_LEVEL: 'warn',
      }),
    );
    const bot = run('src/index.ts', [], { LOG_LEVEL: 'info' });
    try {
      const start = await eventually(
        () =>
          bot
            .output()
            .stderr.split('\n')
            .find((line) => line.includes('"healthPort"')) && bot.output().stderr,
        { timeoutMs: 15_000, description: 'the bot to start' },
      );
      const lines = start
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; version?: string; envFile?: string });
      const first = lines.find((line) => line.version !== undefined);
      expect(first).toMatchObject({ version: VERSION, envFile: path.join(dir, '.env') });
      expect(first?.msg).toContain(path.join(dir, '.env'));
      bot.child.kill('SIGTERM');
      expect(await bot.exited).toBe(0);
    } finally {
      bot.child.kill('SIGKILL');
    }
  });

  it('refuses a malformed .env, naming the file and the line', async () => {
    writeFileSync(path.join(dir, '.env'), `SLACK_BOT_TOKEN=${KNOWN_SECRETS.SLACK_BOT_TOKEN}\nPOLICY_FILE open\n`);
    const bot = run('src/index.ts', [], {});
    expect(await bot.exited).toBe(2);
    const { stderr } = bot.output();
    expect(stderr).toContain(`${path.join(dir, '.env')}: line 2 is not NAME=value`);
    expect(stderr).not.toContain('SLACK_SIGNING_SECRET');
  });
});

describe('the CLI started where a .env is', () => {
  it('takes its credentials from the file, a variable of the process over the file, and prints only its answer', async () => {
    writeFileSync(
      path.join(dir, '.env'),
      envFileText({
        IMAGE_BUILDER_URL: 'http://127.0.0.1:9/api/image-builder/v1',
        IMAGE_BUILDER_TOKEN_URL: service.tokenUrl,
        IMAGE_BUILDER_CLIENT_ID: service.credentials.clientId,
        IMAGE_BUILDER_CLIENT_SECRET: `"${service.credentials.clientSecret}"`,
      }),
    );
    const cli = run('src/cli.ts', ['distributions', '--json'], {
      IMAGE_BUILDER_URL: service.baseUrl,
      HTTPS_PROXY: KNOWN_HTTPS_PROXY,
    });
    expect(await cli.exited).toBe(0);
    const { stdout, stderr } = cli.output();
    expect(stderr).toBe('');
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
  });

  it('refuses a .env whose quoted value never closes, naming the file', async () => {
    writeFileSync(path.join(dir, '.env'), 'IMAGE_BUILDER_CLIENT_ID=id\nIMAGE_BUILDER_CLIENT_SECRET="unfinished\n');
    const cli = run('src/cli.ts', ['distributions'], {});
    expect(await cli.exited).toBe(2);
    const { stdout, stderr } = cli.output();
    expect(stdout).toBe('');
    expect(stderr).toContain(`${path.join(dir, '.env')}: the value quoted on line 2 has no closing "`);
    expect(stderr).not.toContain('unfinished');
  });

  it('prints its version with --version', async () => {
    const cli = run('src/cli.ts', ['--version'], {});
    expect(await cli.exited).toBe(0);
    expect(cli.output().stdout).toBe(`${VERSION}\n`);
  });
});

describe('envFileProblems', () => {
  it('accepts what Node reads: comments, blank lines, export, quotes, values spanning lines', () => {
    expect(
      envFileProblems('# a comment\n\nexport A=1\nB="two words"\nC=\'x\'\nD="first\nsecond"\nE=a=b # trailing\n'),
    ).toEqual([]);
  });
});
