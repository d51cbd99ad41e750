import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { runCli } from '../src/cli/program';
import { openStore } from '../src/store/openStore';
import { newRequest, useTempFolder } from './tracking/helpers';

/*
 * `image-builder-bot backup <file>` on a live SQLite store: another process keeps writing to it in WAL mode the whole
 * time, as the bot would, and the copy must open, pass SQLite's integrity check and hold every row committed before
 * the backup began.
 */

const temp = useTempFolder();

async function cli(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env,
    workingDirectory: temp.folder(),
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    clock: { now: () => new Date() },
    sleep: async () => undefined,
  });
  return { code, stdout, stderr };
}

// Rows of 2 KB in transactions of 20, as fast as SQLite takes them, until killed; "ready" once the file is big
// enough that a copy takes more than an instant.
const WRITER = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec('CREATE TABLE IF NOT EXISTS load (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
const insert = db.prepare('INSERT INTO load (payload) VALUES (randomblob(2048))');
const batch = db.transaction(() => { for (let i = 0; i < 20; i++) insert.run(); });
let told = false;
(function write() {
  batch();
  if (!told && db.prepare('SELECT count(*) AS n FROM load').get().n >= 5000) { told = true; process.stdout.write('ready\\n'); }
  setImmediate(write);
})();
`;

function startWriter(file: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', WRITER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the writer stopped early (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

const countUpTo = (db: Database.Database, id: number) =>
  (db.prepare('SELECT count(*) AS n FROM load WHERE id <= ?').get(id) as { n: number }).n;
const maxId = (db: Database.Database) => (db.prepare('SELECT max(id) AS id FROM load').get() as { id: number }).id;

describe('image-builder-bot backup', () => {
  let writer: ChildProcess | undefined;
  afterEach(async () => {
    if (writer && writer.exitCode === null) {
      const exited = new Promise((resolve) => writer!.once('exit', resolve));
      writer.kill('SIGKILL');
      await exited;
    }
    writer = undefined;
  });

  it('copies a store another process is writing to, consistent and with every row committed before it began', async () => {
    const source = temp.file('bot.sqlite');
    const store = await openStore(source, { workingDirectory: temp.folder() });
    const builds = [newRequest(), newRequest(), newRequest()];
    for (const build of builds) await store.insert(build);
    await store.close();

    writer = await startWriter(source);
    const watcher = new Database(source, { readonly: true });
    const committedBefore = maxId(watcher);
    const backup = await cli(['backup', 'copy.sqlite'], { DATABASE_URL: `sqlite:${source}` });
    const committedAfter = maxId(watcher);
    watcher.close();

    expect(backup).toEqual({
      code: 0,
      stdout: expect.stringMatching(
        /^Backed up .*bot\.sqlite to .*copy\.sqlite \(\d+ pages, [\d.]+ MB\); the copy passed/,
      ),
      stderr: '',
    });
    // The writer was not held up: it went on committing while the copy was made.
    expect(committedAfter).toBeGreaterThan(committedBefore);

    const copyFile = temp.file('copy.sqlite');
    expect(fs.existsSync(`${copyFile}-wal`)).toBe(false);
    expect(fs.statSync(copyFile).mode & 0o777).toBe(0o600);
    const copy = new Database(copyFile, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(countUpTo(copy, committedBefore)).toBe(committedBefore);
    // One moment's snapshot: whole transactions only.
    expect(maxId(copy) % 20).toBe(0);
    copy.close();

    const restored = await openStore(copyFile, { workingDirectory: temp.folder() });
    try {
      for (const build of builds) expect((await restored.get(build.id))?.requesterId).toBe(build.requesterId);
    } finally {
      await restored.close();
    }
  }, 60_000);

  it('never overwrites a file, and names a database that is not there', async () => {
    const source = temp.file('bot.sqlite');
    await (await openStore(source, { workingDirectory: temp.folder() })).close();
    fs.writeFileSync(temp.file('taken.sqlite'), 'keep me');

    const taken = await cli(['backup', 'taken.sqlite'], { DATABASE_URL: source });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/taken\.sqlite already exists; name a new file/);
    expect(fs.readFileSync(temp.file('taken.sqlite'), 'utf8')).toBe('keep me');

    const missing = await cli(['backup', 'copy.sqlite'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/there is no database at .*data\/image-builder-bot\.sqlite: unset, DATABASE_URL is/);
    expect(fs.readdirSync(temp.folder()).sort()).toEqual(['bot.sqlite', 'taken.sqlite']);
  });

  it('gives the pg_dump line for PostgreSQL, without the password', async () => {
    const { code, stdout, stderr } = await cli(['backup', 'images.dump'], {
      DATABASE_URL: 'postgres://bot:s3cret-pw@db.example.com:5432/images?sslmode=verify-full&schema=image_builder',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'pg_dump --format=custom --schema=image_builder --file=images.dump ' +
        "'postgres://bot@db.example.com:5432/images?sslmode=verify-full'",
    );
    expect(stderr).not.toContain('s3cret-pw');
  });

  it('gives it without a password passed as a query parameter either', async () => {
    const { code, stderr } = await cli(['backup', 'images.dump'], {
      DATABASE_URL: 'postgres://bot@db.example.com/images?password=Qu3ry-pw&sslpassword=Key-pw&sslmode=verify-full',
    });
    expect(code).toBe(2);
    expect(stderr).toContain("'postgres://bot@db.example.com/images?sslmode=verify-full'");
    expect(stderr).not.toMatch(/Qu3ry-pw|Key-pw/);
  });
});
