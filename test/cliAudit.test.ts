import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Command, CommanderError } from 'commander';
import { auditCommand, type AuditCliDeps } from '../src/cli/audit';
import { ConfigError, DEFAULT_DATABASE_URL } from '../src/config/config';
import { openStore } from '../src/store/openStore';
import type { AuditEvent } from '../src/store/store';

/*
 * `image-builder-bot audit` against a real SQLite database in a temporary folder. The command is mounted on a
 * program set up as runCli sets up its own, and errors become exit codes as runCli maps them (2 for usage and
 * configuration, 1 for failures), so what is asserted here is what a user of the CLI sees.
 */

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

const EVENTS: AuditEvent[] = [
  {
    at: daysAgo(30),
    kind: 'requested',
    actorId: 'U000OLD',
    requestId: 'r-0',
    channelId: 'C012BUILDS',
    detail: { provider: 'gcp', shareTargets: [{ kind: 'gcp-principal', value: 'user:old@example.com' }] },
  },
  {
    at: daysAgo(3),
    kind: 'requested',
    actorId: 'U056ALICE',
    requestId: 'r-1',
    channelId: 'C012BUILDS',
    detail: { provider: 'aws', distribution: 'rhel-9', shareTargets: [{ kind: 'aws-account', value: '123456789012' }] },
  },
  {
    at: daysAgo(2),
    kind: 'refused',
    actorId: 'U034BOB',
    requestId: null,
    channelId: 'C999OTHER',
    detail: { entryPoint: 'command', reason: 'Images are requested in #builds only.\u001b[2J' },
  },
  {
    at: daysAgo(1),
    kind: 'finished',
    actorId: null,
    requestId: 'r-1',
    channelId: 'C012BUILDS',
    detail: { outcome: 'success' },
  },
];

let folder = '';
beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-audit-'));
});
afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

/** A database holding `events`, written through the store as the bot writes them. */
async function databaseWith(events: readonly AuditEvent[], file = path.join(folder, 'bot.sqlite')): Promise<string> {
  const store = await openStore(file, { workingDirectory: folder, now: () => NOW });
  try {
    for (const event of events) await store.appendAudit(event);
  } finally {
    await store.close();
  }
  return file;
}

async function cli(args: string[], deps: Partial<AuditCliDeps> = {}) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const program = new Command('image-builder-bot')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)');
  auditCommand(program, {
    io,
    clock: { now: () => NOW },
    databaseUrl: `sqlite:${path.join(folder, 'bot.sqlite')}`,
    workingDirectory: folder,
    ...deps,
  });
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : 2;
    else {
      code = error instanceof ConfigError ? 2 : 1;
      io.stderr.write(`image-builder-bot: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  return { code, stdout, stderr };
}

const parseLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('image-builder-bot audit', () => {
  it('prints the last 7 days of the log as JSON Lines, oldest first', async () => {
    await databaseWith(EVENTS);
    const { code, stdout, stderr } = await cli(['audit']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.endsWith('\n')).toBe(true);
    expect(parseLines(stdout)).toEqual([
      {
        at: daysAgo(3).toISOString(),
        kind: 'requested',
        actor: 'U056ALICE',
        request: 'r-1',
        channel: 'C012BUILDS',
        detail: {
          provider: 'aws',
          distribution: 'rhel-9',
          shareTargets: [{ kind: 'aws-account', value: '123456789012' }],
        },
      },
      {
        at: daysAgo(2).toISOString(),
        kind: 'refused',
        actor: 'U034BOB',
        request: null,
        channel: 'C999OTHER',
        detail: { entryPoint: 'command', reason: 'Images are requested in #builds only.\u001b[2J' },
      },
      {
        at: daysAgo(1).toISOString(),
        kind: 'finished',
        actor: null,
        request: 'r-1',
        channel: 'C012BUILDS',
        detail: { outcome: 'success' },
      },
    ]);
  });

  it.each([
    ['60d', 4],
    ['8w', 4],
    ['2d', 2],
    ['36h', 1],
    ['30m', 0],
  ])('with --since %s prints the %d events of that period', async (since, count) => {
    await databaseWith(EVENTS);
    const { code, stdout } = await cli(['audit', '--since', since]);
    expect(code).toBe(0);
    expect(parseLines(stdout)).toHaveLength(count);
  });

  it('prints nothing at all when nothing happened in the period', async () => {
    await databaseWith([]);
    const { code, stdout } = await cli(['audit']);
    expect(code).toBe(0);
    expect(stdout).toBe('');
  });

  it('prints a summary for people with --summary', async () => {
    await databaseWith(EVENTS);
    const { code, stdout } = await cli(['audit', '--since', '7d', '--summary']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'Audit log of the last 7 days: 2025-02-22 12:00 UTC to 2025-03-01 12:00 UTC',
        'Events: 3 (requested 1, refused 1, finished 1)',
        'People who asked for builds: 1',
        'Builds: 1 succeeded, 0 failed, 0 rejected by Image Builder',
        'Requests by cloud: aws 1',
        'Refusals by reason:',
        // The escape sequence in the reason cannot reach the terminal.
        '  1  Images are requested in #builds only.�[2J',
        'Shared with AWS accounts:',
        '  1  123456789012',
        'Shared with Azure subscriptions: none',
        'Shared with GCP principals: none',
        '',
      ].join('\n'),
    );
  });

  it('takes --json as every command does: the events stay JSON Lines, the summary becomes one JSON object', async () => {
    await databaseWith(EVENTS);
    const lines = await cli(['audit', '--since', '7d', '--json']);
    expect(lines.code).toBe(0);
    expect(lines.stdout).toBe((await cli(['audit', '--since', '7d'])).stdout);
    const summary = await cli(['audit', '--since', '7d', '--summary', '--json']);
    expect(summary.code).toBe(0);
    expect(JSON.parse(summary.stdout)).toMatchObject({
      since: '2025-02-22T12:00:00.000Z',
      total: 3,
      byKind: { requested: 1, refused: 1, finished: 1 },
      results: { success: 1, failure: 0 },
      shareTargets: { awsAccounts: { total: 1, top: [{ value: '123456789012', count: 1 }] } },
    });
  });

  it('lists and summarises an event of a kind a newer release wrote, as unknown, instead of failing', async () => {
    const file = await databaseWith(EVENTS);
    const db = new Database(file);
    db.prepare('INSERT INTO audit_events (at, kind, detail_json) VALUES (?, ?, ?)').run(
      daysAgo(1).toISOString(),
      'quota-warned',
      '{}',
    );
    db.close();

    const listed = await cli(['audit', '--since', '7d']);
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(parseLines(listed.stdout).map((line) => line.kind)).toEqual([
      'requested',
      'refused',
      'finished',
      'quota-warned',
    ]);

    const summary = await cli(['audit', '--since', '7d', '--summary']);
    expect([summary.code, summary.stderr]).toEqual([0, '']);
    expect(summary.stdout).toContain('Events: 4 (requested 1, refused 1, finished 1, unknown (quota-warned) 1)');
  });

  it('names the builds whose compose was deleted at Image Builder, when there were some', async () => {
    await databaseWith([
      ...EVENTS,
      {
        at: daysAgo(1),
        kind: 'finished',
        actorId: null,
        requestId: 'r-2',
        channelId: 'C012BUILDS',
        detail: { outcome: 'deleted' },
      },
    ]);
    const { code, stdout } = await cli(['audit', '--since', '7d', '--summary']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'Builds: 1 succeeded, 0 failed, 1 deleted at Image Builder, 0 rejected by Image Builder\n',
    );
  });

  it('reads a relative DATABASE_URL from the working directory', async () => {
    await databaseWith(EVENTS, path.join(folder, 'data', 'image-builder-bot.sqlite'));
    const { code, stdout } = await cli(['audit'], { databaseUrl: './data/image-builder-bot.sqlite' });
    expect(code).toBe(0);
    expect(parseLines(stdout)).toHaveLength(3);
  });

  it.each([['401d'], ['0'], ['soon']])('refuses --since %s as bad usage (exit 2), saying why', async (since) => {
    await databaseWith(EVENTS);
    const { code, stdout, stderr } = await cli(['audit', '--since', since]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--since <period>.*(at most 400 days|longer than zero|not a period)/);
  });

  it('refuses a DATABASE_URL it cannot use as configuration (exit 2), without creating anything', async () => {
    const { code, stderr } = await cli(['audit'], { databaseUrl: 'mysql://user:secret@db/bot' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/DATABASE_URL: the scheme "mysql:" is not supported/);
    expect(stderr).not.toContain('secret');
  });

  it('does not create a database that is not there (exit 2), naming where it looked', async () => {
    const missing = path.join(folder, 'nowhere', 'bot.sqlite');
    const { code, stdout, stderr } = await cli(['audit'], { databaseUrl: missing });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`DATABASE_URL: there is no database at ${missing}\n`);
    // It was set: nothing about what it would be unset.
    expect(stderr).not.toMatch(/unset|working directory/);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  });

  it('says, when DATABASE_URL is unset and the default file is not here, to run where the bot runs or set it', async () => {
    const { code, stdout, stderr } = await cli(['audit'], { databaseUrl: DEFAULT_DATABASE_URL });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `DATABASE_URL: there is no database at ${path.join(folder, 'data', 'image-builder-bot.sqlite')}: unset`,
    );
    expect(stderr).toContain('run audit where the bot runs, or set DATABASE_URL');
  });

  it('fails in one line (exit 1) when the database cannot be opened', async () => {
    const notADatabase = path.join(folder, 'bot.sqlite');
    fs.writeFileSync(
      notADatabase,
      'this is not a database, just text long enough to have a header of sorts\n'.repeat(20),
    );
    const { code, stdout, stderr } = await cli(['audit']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^image-builder-bot: could not open the database: .+\n$/);
  });
});
