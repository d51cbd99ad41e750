import fs from 'node:fs';
import Database from 'better-sqlite3';
import { createSqliteStore, openSqliteStore, StoreError } from '../../src/tracking/sqlite';
import type { BuildRequest, BuildRequestPatch } from '../../src/tracking/store';
import { newRequest, useTempFolder } from './helpers';

const temp = useTempFolder();
const open = (file = temp.file(), options: { busyTimeoutMs?: number } = {}) =>
  temp.closeLater(openSqliteStore({ path: file, ...options }));

/** What a build looks like once every field has been set, with awkward values where they matter. */
const everythingSet: Required<BuildRequestPatch> = {
  threadChannelId: 'D012ALICE',
  responseUrl: null,
  state: 'done',
  composeId: '2a8b7c6d-0000-4000-8000-000000000001',
  status: 'success',
  progressDone: 0,
  progressTotal: 9_007_199_254_740_991,
  finalImageStatus: JSON.stringify({ status: 'success', upload_status: { type: 'aws', options: { ami: 'ami-1' } } }),
  rejection: 'Quota exceeded — «résumé» 🚀',
  parentTs: '1709287200.000100',
  statusTs: '1709287201.000200',
  resultTs: '1709289000.000300',
  renderedParent: '{"blocks":[]}',
  renderedStatus: '',
  submittedAt: new Date('2025-03-01T10:00:01.001Z'),
  composeCreatedAt: new Date('2025-03-01T10:00:02.999Z'),
  finishedAt: new Date('2025-03-01T10:25:00.000Z'),
  expiresAt: new Date('2025-03-15T10:00:02.999Z'),
  nextPollAt: new Date('1970-01-01T00:00:00.000Z'),
  pollFailures: 7,
  reminderTs: '1710324000.000400',
  expiredNotedAt: new Date('2025-03-15T10:01:00.000Z'),
};

describe('SQLite build-request store', () => {
  describe('keeping requests', () => {
    it('returns a new request as submitting, with nothing else known yet', async () => {
      const store = open();
      const request = newRequest({ imageName: null, responseUrl: null, idempotencyKey: null });

      const { request: saved, created } = await store.insert(request);

      expect(created).toBe(true);
      const expected: BuildRequest = {
        ...request,
        threadChannelId: null,
        state: 'submitting',
        composeId: null,
        status: null,
        progressDone: null,
        progressTotal: null,
        finalImageStatus: null,
        rejection: null,
        parentTs: null,
        statusTs: null,
        resultTs: null,
        renderedParent: null,
        renderedStatus: null,
        submittedAt: null,
        composeCreatedAt: null,
        finishedAt: null,
        expiresAt: null,
        nextPollAt: null,
        pollFailures: 0,
        rebuiltFrom: null,
        reminderTs: null,
        expiredNotedAt: null,
      };
      expect(saved).toEqual(expected);
      expect(await store.get(request.id)).toEqual(expected);
    });

    it('reads back every field exactly as written: text, numbers, dates to the millisecond and nulls', async () => {
      const store = open();
      const request = newRequest({
        composeRequest: JSON.stringify({ customizations: { users: [{ name: 'ü' }] } }),
        rebuiltFrom: '5f0c2e9a-0000-4000-8000-000000000000',
      });
      await store.insert(request);

      const updated = await store.update(request.id, everythingSet);

      expect(updated).toEqual({ ...request, ...everythingSet });
      expect(await store.get(request.id)).toEqual({ ...request, ...everythingSet });
      expect(updated.createdAt).toBeInstanceOf(Date);
      expect(updated.createdAt.getTime()).toBe(request.createdAt.getTime());
    });

    it('stores dates as ISO-8601 text in UTC, readable with the sqlite3 shell', async () => {
      const file = temp.file();
      const store = open(file);
      const request = newRequest({ createdAt: new Date('2025-03-01T12:00:00.5+02:00') });
      await store.insert(request);
      await store.close();

      const raw = new Database(file, { readonly: true });
      const row = raw.prepare('SELECT created_at, next_poll_at FROM build_requests').get();
      raw.close();
      expect(row).toEqual({ created_at: '2025-03-01T10:00:00.500Z', next_poll_at: null });
    });

    it('answers undefined for a request it does not have', async () => {
      expect(await open().get('no-such-id')).toBeUndefined();
    });

    it('keeps every request after the bot restarts', async () => {
      const file = temp.file();
      const first = open(file);
      const request = newRequest();
      await first.insert(request);
      await first.update(request.id, { state: 'tracking', composeId: 'compose-1', parentTs: '1.2' });
      await first.close();

      const second = open(file);

      expect(await second.get(request.id)).toMatchObject({ state: 'tracking', composeId: 'compose-1', parentTs: '1.2' });
      expect((await second.listUnfinished()).map((r) => r.id)).toEqual([request.id]);
    });

    it('creates the file and any missing folders', async () => {
      const file = temp.file('nested', 'deeper', 'bot.sqlite');

      await open(file).insert(newRequest());

      expect(fs.existsSync(file)).toBe(true);
    });

    it('uses the WAL journal, so the CLI can read while the bot writes', async () => {
      const file = temp.file();
      const store = open(file);
      await store.insert(newRequest());

      const reader = new Database(file, { readonly: true });
      expect(reader.pragma('journal_mode', { simple: true })).toBe('wal');
      reader.close();
    });
  });

  describe('a submission delivered twice', () => {
    it('returns the first request and writes nothing when the idempotency key is seen again', async () => {
      const store = open();
      const first = newRequest({ idempotencyKey: 'V0VIEW1' });
      const again = newRequest({ idempotencyKey: 'V0VIEW1', imageName: 'other', createdAt: new Date() });
      await store.insert(first);
      await store.update(first.id, { state: 'tracking', composeId: 'compose-1' });

      const result = await store.insert(again);

      expect(result.created).toBe(false);
      expect(result.request).toMatchObject({ id: first.id, imageName: 'web-base', state: 'tracking' });
      expect(await store.get(again.id)).toBeUndefined();
      expect(await store.listRecent({ requesterId: first.requesterId, channelId: first.channelId, limit: 10 }))
        .toHaveLength(1);
    });

    it('treats the very same request inserted twice as one', async () => {
      const store = open();
      const request = newRequest();
      await store.insert(request);

      const result = await store.insert(request);

      expect(result).toEqual({ request: expect.objectContaining({ id: request.id }), created: false });
    });

    it('accepts any number of requests without an idempotency key', async () => {
      const store = open();
      const results = [];
      for (let i = 0; i < 3; i += 1) results.push(await store.insert(newRequest({ idempotencyKey: null })));

      expect(results.map((r) => r.created)).toEqual([true, true, true]);
    });
  });

  describe('updating a request', () => {
    it('changes only the fields given and leaves the rest as they were', async () => {
      const store = open();
      const request = newRequest();
      await store.insert(request);
      await store.update(request.id, { state: 'tracking', composeId: 'compose-1', parentTs: '1.1' });

      const updated = await store.update(request.id, { status: 'building', progressDone: 3, progressTotal: 9 });

      expect(updated).toMatchObject({
        ...request,
        state: 'tracking',
        composeId: 'compose-1',
        parentTs: '1.1',
        status: 'building',
        progressDone: 3,
        progressTotal: 9,
        statusTs: null,
      });
      expect(await store.get(request.id)).toEqual(updated);
    });

    it('clears a field set to null and ignores one set to undefined', async () => {
      const store = open();
      const request = newRequest();
      await store.insert(request);
      await store.update(request.id, { nextPollAt: new Date('2025-03-01T10:01:00Z'), status: 'pending' });

      const updated = await store.update(request.id, { nextPollAt: null, status: undefined });

      expect(updated).toMatchObject({ nextPollAt: null, status: 'pending', responseUrl: request.responseUrl });
    });

    it('returns the request unchanged for an empty patch', async () => {
      const store = open();
      const request = newRequest();
      const { request: saved } = await store.insert(request);

      expect(await store.update(request.id, {})).toEqual(saved);
    });

    it('fails with a not-found error naming the id when there is no such request', async () => {
      const store = open();

      await expect(store.update('missing-id', { state: 'done' })).rejects.toMatchObject({
        name: 'StoreError',
        kind: 'not-found',
        message: expect.stringContaining('missing-id'),
      });
      await expect(store.update('missing-id', {})).rejects.toBeInstanceOf(StoreError);
    });

    it('refuses to change what the user asked for, whatever slips past the types', async () => {
      const store = open();
      const request = newRequest();
      await store.insert(request);

      await expect(store.update(request.id, { id: 'other' } as BuildRequestPatch)).rejects.toThrow(/id/);
      await expect(store.update(request.id, { createdAt: new Date() } as BuildRequestPatch)).rejects.toThrow(
        /createdAt/,
      );
      await expect(store.update(request.id, { colour: 'red' } as BuildRequestPatch)).rejects.toThrow(/colour/);
      expect(await store.get(request.id)).toMatchObject({ id: request.id, createdAt: request.createdAt });
    });

    it('refuses an invalid date instead of storing it', async () => {
      const store = open();
      const request = newRequest();
      await store.insert(request);

      await expect(store.update(request.id, { nextPollAt: new Date('not a date') })).rejects.toThrow(/nextPollAt/);
    });
  });

  describe('listing', () => {
    const at = (minute: number) => new Date(Date.UTC(2025, 2, 1, 10, minute));

    it('lists the requests still to look after, oldest first', async () => {
      const store = open();
      const late = newRequest({ createdAt: at(30) });
      const early = newRequest({ createdAt: at(10) });
      const rejected = newRequest({ createdAt: at(5) });
      const done = newRequest({ createdAt: at(1) });
      const middle = newRequest({ createdAt: at(20) });
      for (const r of [late, early, rejected, done, middle]) await store.insert(r);
      await store.update(early.id, { state: 'tracking', composeId: 'c-early' });
      await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
      await store.update(done.id, { state: 'done' });

      const unfinished = await store.listUnfinished();

      expect(unfinished.map((r) => r.id)).toEqual([early.id, middle.id, late.id]);
      expect(unfinished.map((r) => r.state)).toEqual(['tracking', 'submitting', 'submitting']);
    });

    it('keeps insertion order between requests made in the same millisecond', async () => {
      const store = open();
      const requests = [newRequest(), newRequest(), newRequest()];
      for (const r of requests) await store.insert(r);

      expect((await store.listUnfinished()).map((r) => r.id)).toEqual(requests.map((r) => r.id));
      expect((await store.listRecent({ requesterId: 'U012ALICE', channelId: 'C0', limit: 3 })).map((r) => r.id))
        .toEqual(requests.map((r) => r.id).reverse());
    });

    it("lists a user's or a channel's newest requests first, up to the limit", async () => {
      const store = open();
      const mineHere = newRequest({ requesterId: 'U_ME', channelId: 'C_HERE', createdAt: at(1) });
      const mineElsewhere = newRequest({ requesterId: 'U_ME', channelId: 'C_ELSEWHERE', createdAt: at(3) });
      const othersHere = newRequest({ requesterId: 'U_BOB', channelId: 'C_HERE', createdAt: at(2) });
      const othersElsewhere = newRequest({ requesterId: 'U_BOB', channelId: 'C_ELSEWHERE', createdAt: at(4) });
      const newestMine = newRequest({ requesterId: 'U_ME', channelId: 'C_HERE', createdAt: at(5) });
      for (const r of [mineHere, mineElsewhere, othersHere, othersElsewhere, newestMine]) await store.insert(r);
      await store.update(mineHere.id, { state: 'done' });

      const recent = await store.listRecent({ requesterId: 'U_ME', channelId: 'C_HERE', limit: 10 });
      const limited = await store.listRecent({ requesterId: 'U_ME', channelId: 'C_HERE', limit: 2 });

      expect(recent.map((r) => r.id)).toEqual([newestMine.id, mineElsewhere.id, othersHere.id, mineHere.id]);
      expect(limited.map((r) => r.id)).toEqual([newestMine.id, mineElsewhere.id]);
    });

    it('lists nothing for a limit of 0 and refuses a negative limit', async () => {
      const store = open();
      await store.insert(newRequest());

      expect(await store.listRecent({ requesterId: 'U012ALICE', channelId: 'C012BUILDS', limit: 0 })).toEqual([]);
      await expect(store.listRecent({ requesterId: 'U012ALICE', channelId: 'C012BUILDS', limit: -1 })).rejects
        .toThrow(RangeError);
    });
  });

  describe('readiness', () => {
    it('pings a writable store and leaves no trace', async () => {
      const file = temp.file();
      const store = open(file);
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
      await open(file).close();
      const store = temp.closeLater(createSqliteStore(new Database(file, { readonly: true })));

      // Reading still works; only the ping tells that nothing could be saved.
      expect(await store.listUnfinished()).toEqual([]);
      const failure = store.ping();

      await expect(failure).rejects.toBeInstanceOf(StoreError);
      await expect(failure).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(failure).rejects.toThrow(`Build-request database ${file} cannot be written: the database is read-only`);
    });

    it('fails the ping when another connection holds the write lock past the busy timeout', async () => {
      const file = temp.file();
      const store = open(file, { busyTimeoutMs: 50 });
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        await expect(store.ping()).rejects.toThrow(`${file} cannot be written: another connection held the database lock`);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('fails an insert on a full disk with a clear error and saves nothing', async () => {
      const file = temp.file();
      await open(file).close();
      const connection = new Database(file);
      // max_page_count stops the file from growing, as a full disk would.
      connection.pragma(`max_page_count = ${Number(connection.pragma('page_count', { simple: true }))}`);
      const store = temp.closeLater(createSqliteStore(connection));
      const request = newRequest({ composeRequest: 'x'.repeat(64 * 1024) });

      await expect(store.insert(request)).rejects.toThrow(
        `${file} cannot be written: the disk is full or the database reached its size limit`,
      );
      expect(await store.get(request.id)).toBeUndefined();
    });
  });

  describe('opening a file that cannot be used', () => {
    it('names the path and says the file is not a database when it holds something else', () => {
      const file = temp.file();
      fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));

      expect(() => openSqliteStore({ path: file })).toThrow(
        `Build-request database ${file} cannot be opened: the file is not a SQLite database`,
      );
    });

    it('names the folder it could not create', () => {
      fs.writeFileSync(temp.file('not-a-folder'), 'a plain file');
      const file = temp.file('not-a-folder', 'bot.sqlite');

      let error: unknown;
      try {
        openSqliteStore({ path: file });
      } catch (caught) {
        error = caught;
      }

      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toMatch(
        `Build-request database ${file} cannot be opened: its folder ${temp.file('not-a-folder')} cannot be created`,
      );
      expect((error as StoreError).message).toMatch(/ENOTDIR|EEXIST/);
    });

    it('says the file cannot be opened when the path is a folder', () => {
      const folder = temp.file('a-folder');
      fs.mkdirSync(folder);

      expect(() => openSqliteStore({ path: folder })).toThrow(
        `Build-request database ${folder} cannot be opened: the file cannot be opened or created`,
      );
    });

    it('refuses to create the schema through a read-only connection', () => {
      const file = temp.file();
      new Database(file).close();

      expect(() => createSqliteStore(new Database(file, { readonly: true }))).toThrow(
        `Build-request database ${file} cannot be opened: the database is read-only`,
      );
    });
  });
});
