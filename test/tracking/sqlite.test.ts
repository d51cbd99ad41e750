import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { checkReadiness } from '../../src/platform/operations';
import { openStore } from '../../src/store/openStore';
import { createSqliteStore, openSqliteStore, StoreError } from '../../src/store/sqlite';
import { newRequest, useTempFolder } from './helpers';

const temp = useTempFolder();
const open = async (file = temp.file(), options: { busyTimeoutMs?: number } = {}) =>
  temp.closeLater(await openSqliteStore({ path: file, ...options }));

describe('SQLite build-request store', () => {
  describe('keeping requests in a file', () => {
    it('stores dates as ISO-8601 text in UTC, readable with the sqlite3 shell', async () => {
      const file = temp.file();
      const store = await open(file);
      const request = newRequest({ createdAt: new Date('2025-03-01T12:00:00.5+02:00') });
      await store.insert(request);
      await store.close();

      const raw = new Database(file, { readonly: true });
      const row = raw.prepare('SELECT created_at, next_poll_at FROM build_requests').get();
      raw.close();
      expect(row).toEqual({ created_at: '2025-03-01T10:00:00.500Z', next_poll_at: null });
    });

    it('creates the file and any missing folders', async () => {
      const file = temp.file('nested', 'deeper', 'bot.sqlite');

      await (await open(file)).insert(newRequest());

      expect(fs.existsSync(file)).toBe(true);
    });

    it("creates the folder, the file and its -wal and -shm files readable by the bot's user only", async () => {
      const file = temp.file('data', 'bot.sqlite');
      const store = await open(file);
      await store.insert(newRequest());

      const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
      expect({
        folder: mode(path.dirname(file)),
        file: mode(file),
        wal: mode(`${file}-wal`),
        shm: mode(`${file}-shm`),
      }).toEqual({
        folder: '700',
        file: '600',
        wal: '600',
        shm: '600',
      });
    });

    it('leaves the permissions of an existing folder and file as they are', async () => {
      const file = temp.file('shared', 'bot.sqlite');
      fs.mkdirSync(path.dirname(file), { mode: 0o750 });
      fs.chmodSync(path.dirname(file), 0o750);
      await (await open(file)).close();
      fs.chmodSync(file, 0o640);

      await (await open(file)).insert(newRequest());

      expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe('750');
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('640');
    });

    it('uses the WAL journal, so the CLI can read while the bot writes', async () => {
      const file = temp.file();
      const store = await open(file);
      await store.insert(newRequest());

      const reader = new Database(file, { readonly: true });
      expect(reader.pragma('journal_mode', { simple: true })).toBe('wal');
      reader.close();
    });
  });

  describe('leases', () => {
    it('never gives one request to two processes claiming from the same file', async () => {
      const file = temp.file();
      const store = await open(file);
      const ids: string[] = [];
      // Due since long ago, whatever the children's clocks say.
      for (let i = 0; i < 60; i += 1) ids.push((await store.insert(newRequest({ createdAt: new Date(i) }))).request.id);
      const child = path.join(__dirname, 'fixtures', 'claim-child.cjs');

      const outputs = await Promise.all(
        ['a', 'b', 'c'].map((owner) =>
          promisify(execFile)(process.execPath, [child, file, owner], { timeout: 30_000 }),
        ),
      );

      const claimed = outputs.flatMap((output) => JSON.parse(output.stdout) as string[]);
      expect(claimed).toHaveLength(ids.length);
      expect(new Set(claimed)).toEqual(new Set(ids));
    }, 40_000);

    it('fails a claim with a clear error when the database can only be read', async () => {
      const file = temp.file();
      await (await open(file)).close();
      const store = temp.closeLater(await createSqliteStore(new Database(file, { readonly: true })));

      await expect(store.claimDue('replica-a', new Date(), 60_000, 1)).rejects.toThrow(
        `Build-request database ${file} cannot be written: the database is read-only`,
      );
    });
  });

  describe('readiness', () => {
    it('pings a writable store and leaves no trace', async () => {
      const file = temp.file();
      const store = await open(file);
      await store.insert(newRequest());
      // data_version moves whenever another connection commits.
      const raw = new Database(file, { readonly: true });
      const before = raw.pragma('data_version', { simple: true });

      await expect(store.ping()).resolves.toBeUndefined();

      expect(raw.pragma('data_version', { simple: true })).toBe(before);
      raw.close();
    });

    it('fails the ping with a clear error when the database can only be read', async () => {
      const file = temp.file();
      await (await open(file)).close();
      const store = temp.closeLater(await createSqliteStore(new Database(file, { readonly: true })));

      // Reading still works; only the ping tells that nothing could be saved.
      expect(await store.listUnfinished()).toEqual([]);
      const failure = store.ping();

      await expect(failure).rejects.toBeInstanceOf(StoreError);
      await expect(failure).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(failure).rejects.toThrow(
        `Build-request database ${file} cannot be written: the database is read-only`,
      );
    });

    it('waits for another connection’s lock less than Slack’s 3 seconds, so a submission can still be answered', async () => {
      const connection = new Database(temp.file());
      temp.closeLater(await createSqliteStore(connection));
      expect(connection.pragma('busy_timeout', { simple: true })).toBeLessThan(3000);
    });

    it('reports a partly corrupted file not ready, naming the damage, though it opens and takes the probe’s write', async () => {
      const file = temp.file();
      const store = await open(file);
      for (let i = 0; i < 200; i += 1)
        await store.insert(newRequest({ composeRequest: JSON.stringify({ padding: 'x'.repeat(400) }) }));
      await store.close();
      // Some pages of the requests table overwritten, as a bad disk or a copy taken mid-write leaves them.
      const raw = new Database(file, { readonly: true });
      const pageSize = raw.pragma('page_size', { simple: true }) as number;
      const pages = raw
        .prepare<[], number>(
          "SELECT pageno FROM dbstat WHERE name = 'build_requests' AND pagetype = 'leaf' ORDER BY pageno",
        )
        .pluck()
        .all();
      raw.close();
      const fd = fs.openSync(file, 'r+');
      for (const page of pages.slice(1, 4))
        fs.writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (page - 1) * pageSize);
      fs.closeSync(fd);

      const reopened = temp.closeLater(await openStore(file, { workingDirectory: temp.folder() }));
      const report = await checkReadiness({
        slack: { current: () => ({ ok: true }) },
        store: reopened,
        imageBuilderCredentials: () => ({ state: 'working' }),
      });

      await expect(reopened.listUnfinished()).rejects.toThrow('the database file is corrupt');
      expect(report.ready).toBe(false);
      expect(report.checks.store).toEqual({
        ok: false,
        detail: expect.stringContaining(`Build-request database ${file} is damaged`) as string,
      });
      expect(report.checks.store.detail).toMatch(/integrity check at start found .*page \d+/);
    });

    it('fails the ping when another connection holds the write lock past the busy timeout', async () => {
      const file = temp.file();
      const store = await open(file, { busyTimeoutMs: 50 });
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        await expect(store.ping()).rejects.toThrow(
          `${file} cannot be written: another connection held the database lock`,
        );
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('fails an insert on a full disk with a clear error and saves nothing', async () => {
      const file = temp.file();
      await (await open(file)).close();
      const connection = new Database(file);
      // max_page_count stops the file from growing, as a full disk would.
      connection.pragma(`max_page_count = ${Number(connection.pragma('page_count', { simple: true }))}`);
      const store = temp.closeLater(await createSqliteStore(connection));
      const request = newRequest({ composeRequest: 'x'.repeat(64 * 1024) });

      await expect(store.insert(request)).rejects.toThrow(
        `${file} cannot be written: the disk is full or the database reached its size limit`,
      );
      expect(await store.get(request.id)).toBeUndefined();
    });
  });

  describe('opening a file that cannot be used', () => {
    it('names the path and says the file is not a database when it holds something else', async () => {
      const file = temp.file();
      fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));

      await expect(openSqliteStore({ path: file })).rejects.toThrow(
        `Build-request database ${file} cannot be opened: the file is not a SQLite database`,
      );
    });

    it('names the folder it could not create', async () => {
      fs.writeFileSync(temp.file('not-a-folder'), 'a plain file');
      const file = temp.file('not-a-folder', 'bot.sqlite');

      let error: unknown;
      try {
        await openSqliteStore({ path: file });
      } catch (caught) {
        error = caught;
      }

      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toMatch(
        `Build-request database ${file} cannot be opened: its folder ${temp.file('not-a-folder')} cannot be created`,
      );
      expect((error as StoreError).message).toMatch(/ENOTDIR|EEXIST/);
    });

    it('says the file cannot be opened when the path is a folder', async () => {
      const folder = temp.file('a-folder');
      fs.mkdirSync(folder);

      await expect(openSqliteStore({ path: folder })).rejects.toThrow(
        `Build-request database ${folder} cannot be opened: the file cannot be opened or created`,
      );
    });

    it('refuses to create the schema through a read-only connection', async () => {
      const file = temp.file();
      new Database(file).close();

      await expect(createSqliteStore(new Database(file, { readonly: true }))).rejects.toThrow(
        `Build-request database ${file} cannot be opened: the database is read-only`,
      );
    });
  });
});
