import Database from 'better-sqlite3';
import { createSqliteStore, EXPIRY_BATCH_SIZE, openSqliteStore, StoreError } from '../../src/tracking/sqlite';
import type { AuditEvent, BuildRequestPatch, NewBuildRequest, Store } from '../../src/tracking/store';
import { newRequest, useTempFolder } from './helpers';

const temp = useTempFolder();
const open = (file = temp.file()) => temp.closeLater(openSqliteStore({ path: file }));

const minute = 60_000;
const day = 24 * 60 * minute;
const at = (minutes: number) => new Date(Date.UTC(2025, 2, 1, 10, 0) + minutes * minute);
const ids = (requests: { id: string }[]) => requests.map((r) => r.id);

/** A build that finished, by default successfully, with its image expiring at `expiresAt`. */
async function finishedBuild(
  store: Store,
  expiresAt: Date | null,
  patch: BuildRequestPatch = {},
  request: Partial<NewBuildRequest> = {},
) {
  const { request: inserted } = await store.insert(newRequest(request));
  return store.update(inserted.id, { state: 'done', status: 'success', composeId: `compose-${inserted.id}`, expiresAt, ...patch });
}

describe('rebuilds', () => {
  it('remembers which request a rebuild came from', async () => {
    const store = open();
    const original = newRequest();
    const rebuild = newRequest({ rebuiltFrom: original.id });
    await store.insert(original);

    const { request: saved } = await store.insert(rebuild);

    expect(saved.rebuiltFrom).toBe(original.id);
    expect((await store.get(rebuild.id))?.rebuiltFrom).toBe(original.id);
    expect((await store.get(original.id))?.rebuiltFrom).toBeNull();
  });

  it('never changes the request a rebuild came from', async () => {
    const store = open();
    const rebuild = newRequest({ rebuiltFrom: 'original-id' });
    await store.insert(rebuild);

    await expect(store.update(rebuild.id, { rebuiltFrom: 'other' } as BuildRequestPatch)).rejects.toThrow(/rebuiltFrom/);
    expect((await store.get(rebuild.id))?.rebuiltFrom).toBe('original-id');
  });
});

describe('the newest requests', () => {
  it("lists everyone's newest requests first, whatever became of them, up to the limit", async () => {
    const store = open();
    const alice1 = newRequest({ requesterId: 'U_ALICE', channelId: 'C_ONE', createdAt: at(1) });
    const bob = newRequest({ requesterId: 'U_BOB', channelId: 'C_TWO', createdAt: at(3) });
    const alice2 = newRequest({ requesterId: 'U_ALICE', channelId: 'C_TWO', createdAt: at(2) });
    const carol = newRequest({ requesterId: 'U_CAROL', channelId: 'C_ONE', createdAt: at(4) });
    for (const r of [alice1, bob, alice2, carol]) await store.insert(r);
    await store.update(bob.id, { state: 'rejected', rejection: 'quota' });
    await store.update(alice2.id, { state: 'done', status: 'failure' });

    expect(ids(await store.listNewest({ limit: 10 }))).toEqual(ids([carol, bob, alice2, alice1]));
    expect(ids(await store.listNewest({ limit: 2 }))).toEqual(ids([carol, bob]));
  });

  it("lists only one user's requests when a requester is given", async () => {
    const store = open();
    const older = newRequest({ requesterId: 'U_ALICE', createdAt: at(1) });
    const others = newRequest({ requesterId: 'U_BOB', createdAt: at(2) });
    const newer = newRequest({ requesterId: 'U_ALICE', channelId: 'C_ELSEWHERE', createdAt: at(3) });
    for (const r of [older, others, newer]) await store.insert(r);

    expect(ids(await store.listNewest({ requesterId: 'U_ALICE', limit: 10 }))).toEqual(ids([newer, older]));
    expect(ids(await store.listNewest({ requesterId: 'U_ALICE', limit: 1 }))).toEqual(ids([newer]));
    expect(await store.listNewest({ requesterId: 'U_NOBODY', limit: 10 })).toEqual([]);
  });

  it('puts the later of two requests made in the same millisecond first', async () => {
    const store = open();
    const requests = [newRequest(), newRequest(), newRequest()];
    for (const r of requests) await store.insert(r);

    expect(ids(await store.listNewest({ limit: 3 }))).toEqual(ids(requests).reverse());
    expect(ids(await store.listNewest({ requesterId: 'U012ALICE', limit: 3 }))).toEqual(ids(requests).reverse());
  });

  it('lists nothing for a limit of 0 and refuses a negative or fractional limit', async () => {
    const store = open();
    await store.insert(newRequest());

    expect(await store.listNewest({ limit: 0 })).toEqual([]);
    await expect(store.listNewest({ limit: -1 })).rejects.toThrow(RangeError);
    await expect(store.listNewest({ requesterId: 'U012ALICE', limit: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('counting for policy limits', () => {
  it('counts submitting and tracking requests as in flight, however old they are', async () => {
    const store = open();
    const submitting = newRequest({ createdAt: new Date(at(0).getTime() - 10 * day) });
    const tracking = newRequest({ createdAt: at(1) });
    const rejected = newRequest({ createdAt: at(2) });
    const done = newRequest({ createdAt: at(3) });
    for (const r of [submitting, tracking, rejected, done]) await store.insert(r);
    await store.update(tracking.id, { state: 'tracking', composeId: 'c-1' });
    await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
    await store.update(done.id, { state: 'done', status: 'success' });

    expect(await store.countForRequester('U012ALICE', at(60))).toEqual({ inFlight: 2, since: 0 });
  });

  it('counts every request made from exactly `since` on, rejected and finished ones included', async () => {
    const store = open();
    const since = at(0);
    const justBefore = newRequest({ createdAt: new Date(since.getTime() - 1) });
    const exactly = newRequest({ createdAt: since });
    const rejected = newRequest({ createdAt: at(5) });
    const done = newRequest({ createdAt: at(6) });
    for (const r of [justBefore, exactly, rejected, done]) await store.insert(r);
    await store.update(exactly.id, { state: 'tracking', composeId: 'c-1' });
    await store.update(rejected.id, { state: 'rejected', rejection: 'quota' });
    await store.update(done.id, { state: 'done', status: 'failure' });

    expect(await store.countForRequester('U012ALICE', since)).toEqual({ inFlight: 2, since: 3 });
  });

  it("counts only the given user's requests", async () => {
    const store = open();
    await store.insert(newRequest({ requesterId: 'U_ALICE', createdAt: at(1) }));
    await store.insert(newRequest({ requesterId: 'U_BOB', createdAt: at(1) }));
    await store.insert(newRequest({ requesterId: 'U_BOB', createdAt: at(2) }));

    expect(await store.countForRequester('U_ALICE', at(0))).toEqual({ inFlight: 1, since: 1 });
    expect(await store.countForRequester('U_BOB', at(0))).toEqual({ inFlight: 2, since: 2 });
    expect(await store.countForRequester('U_NOBODY', at(0))).toEqual({ inFlight: 0, since: 0 });
  });

  it('refuses an invalid date', async () => {
    await expect(open().countForRequester('U_ALICE', new Date('not a date'))).rejects.toThrow(/since/);
  });
});

describe('expiry reminders', () => {
  const now = at(0);
  const within = 2 * day;

  it('lists successful builds whose image expires after now and within the window, soonest first', async () => {
    const store = open();
    const atWindowEnd = await finishedBuild(store, new Date(now.getTime() + within));
    const pastWindow = await finishedBuild(store, new Date(now.getTime() + within + 1));
    const soonest = await finishedBuild(store, new Date(now.getTime() + 1));
    const expiringExactlyNow = await finishedBuild(store, now);
    const alreadyExpired = await finishedBuild(store, new Date(now.getTime() - day));
    const middle = await finishedBuild(store, new Date(now.getTime() + day));

    const due = await store.listNeedingReminder(now, within);

    expect(ids(due)).toEqual(ids([soonest, middle, atWindowEnd]));
    expect(ids(due)).not.toContain(pastWindow.id);
    expect(ids(due)).not.toContain(expiringExactlyNow.id);
    expect(ids(due)).not.toContain(alreadyExpired.id);
  });

  it('leaves out failed and unfinished builds and builds with no known expiry', async () => {
    const store = open();
    const inWindow = new Date(now.getTime() + day);
    const remind = await finishedBuild(store, inWindow);
    await finishedBuild(store, inWindow, { status: 'failure' });
    await finishedBuild(store, inWindow, { state: 'tracking' });
    await finishedBuild(store, null);

    expect(ids(await store.listNeedingReminder(now, within))).toEqual([remind.id]);
  });

  it('does not list a build again once its reminder was posted, also after a restart', async () => {
    const file = temp.file();
    const store = open(file);
    const reminded = await finishedBuild(store, new Date(now.getTime() + day));
    const pending = await finishedBuild(store, new Date(now.getTime() + day + 1));

    const updated = await store.update(reminded.id, { reminderTs: '1740823200.000500' });
    await store.close();

    expect(updated.reminderTs).toBe('1740823200.000500');
    expect(ids(await open(file).listNeedingReminder(now, within))).toEqual([pending.id]);
  });

  it('hands a backlog out in batches, soonest first, until every reminder is posted', async () => {
    const store = open();
    const backlog = [];
    // Latest expiry inserted first, so the order can only come from the expiry.
    for (let i = EXPIRY_BATCH_SIZE; i >= 0; i -= 1) backlog.unshift(await finishedBuild(store, new Date(now.getTime() + 1 + i)));

    const first = await store.listNeedingReminder(now, within);
    for (const r of first) await store.update(r.id, { reminderTs: `ts-${r.id}` });
    const second = await store.listNeedingReminder(now, within);

    expect(EXPIRY_BATCH_SIZE).toBe(100);
    expect(ids(first)).toEqual(ids(backlog.slice(0, EXPIRY_BATCH_SIZE)));
    expect(ids(second)).toEqual(ids(backlog.slice(EXPIRY_BATCH_SIZE)));
  });

  it('lists nothing for an empty window and refuses a negative one', async () => {
    const store = open();
    await finishedBuild(store, new Date(now.getTime() + 1));

    expect(await store.listNeedingReminder(now, 0)).toEqual([]);
    await expect(store.listNeedingReminder(now, -1)).rejects.toThrow(RangeError);
    await expect(store.listNeedingReminder(now, Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe('expired images', () => {
  const now = at(0);

  it('lists successful builds whose image expired by now, exactly now included, oldest expiry first', async () => {
    const store = open();
    const exactlyNow = await finishedBuild(store, now);
    const notYet = await finishedBuild(store, new Date(now.getTime() + 1));
    const longAgo = await finishedBuild(store, new Date(now.getTime() - 7 * day));
    const aMomentAgo = await finishedBuild(store, new Date(now.getTime() - 1), { reminderTs: '1.1' });

    const expired = await store.listNewlyExpired(now);

    expect(ids(expired)).toEqual(ids([longAgo, aMomentAgo, exactlyNow]));
    expect(ids(expired)).not.toContain(notYet.id);
  });

  it('lists an expired build whose reminder was never posted (the bot was down through the window)', async () => {
    const store = open();
    const missedReminder = await finishedBuild(store, new Date(now.getTime() - day));

    expect(ids(await store.listNewlyExpired(now))).toEqual([missedReminder.id]);
    expect(await store.listNeedingReminder(now, 3 * day)).toEqual([]);
  });

  it('does not list a build again once its result says the image expired', async () => {
    const store = open();
    const noted = await finishedBuild(store, new Date(now.getTime() - 2));
    const pending = await finishedBuild(store, new Date(now.getTime() - 1));

    const updated = await store.update(noted.id, { expiredNotedAt: now });

    expect(updated.expiredNotedAt).toEqual(now);
    expect(ids(await store.listNewlyExpired(now))).toEqual([pending.id]);
  });

  it('leaves out failed and unfinished builds and builds with no known expiry', async () => {
    const store = open();
    const expiredAt = new Date(now.getTime() - day);
    const expired = await finishedBuild(store, expiredAt);
    await finishedBuild(store, expiredAt, { status: 'failure' });
    await finishedBuild(store, expiredAt, { state: 'tracking' });
    await finishedBuild(store, null);

    expect(ids(await store.listNewlyExpired(now))).toEqual([expired.id]);
  });

  it('hands a backlog out in batches, oldest expiry first', async () => {
    const store = open();
    const backlog = [];
    for (let i = 0; i <= EXPIRY_BATCH_SIZE; i += 1) backlog.push(await finishedBuild(store, new Date(now.getTime() - day + i)));

    const first = await store.listNewlyExpired(now);
    for (const r of first) await store.update(r.id, { expiredNotedAt: now });
    const second = await store.listNewlyExpired(now);

    expect(ids(first)).toEqual(ids(backlog.slice(0, EXPIRY_BATCH_SIZE)));
    expect(ids(second)).toEqual(ids(backlog.slice(EXPIRY_BATCH_SIZE)));
  });
});

describe('remembered modal values', () => {
  it('gives back what a user last saved for a cloud, and nothing for another cloud or user', async () => {
    const store = open();
    const values = { region: 'eu-west-1', accounts: '123456789012, 210987654321', note: 'résumé 🚀', empty: '' };

    await store.saveDefaults('U_ALICE', 'aws', values, at(0));

    expect(await store.getDefaults('U_ALICE', 'aws')).toEqual(values);
    expect(await store.getDefaults('U_ALICE', 'gcp')).toBeUndefined();
    expect(await store.getDefaults('U_BOB', 'aws')).toBeUndefined();
  });

  it('replaces the earlier values rather than merging them, and keeps them across a restart', async () => {
    const file = temp.file();
    const store = open(file);
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1', accounts: '123456789012' }, at(0));

    await store.saveDefaults('U_ALICE', 'aws', { region: 'us-east-1' }, at(5));
    await store.close();

    expect(await open(file).getDefaults('U_ALICE', 'aws')).toEqual({ region: 'us-east-1' });
    const raw = new Database(file, { readonly: true });
    const rows = raw.prepare('SELECT user_id, provider, updated_at FROM user_defaults').all();
    raw.close();
    expect(rows).toEqual([{ user_id: 'U_ALICE', provider: 'aws', updated_at: '2025-03-01T10:05:00.000Z' }]);
  });

  it("forgets every cloud's values of one user, says how many, and leaves other users' alone", async () => {
    const store = open();
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));
    await store.saveDefaults('U_ALICE', 'gcp', { project: 'web' }, at(0));
    await store.saveDefaults('U_BOB', 'aws', { region: 'us-east-1' }, at(0));

    expect(await store.clearDefaults('U_ALICE')).toBe(2);

    expect(await store.getDefaults('U_ALICE', 'aws')).toBeUndefined();
    expect(await store.getDefaults('U_ALICE', 'gcp')).toBeUndefined();
    expect(await store.getDefaults('U_BOB', 'aws')).toEqual({ region: 'us-east-1' });
    expect(await store.clearDefaults('U_ALICE')).toBe(0);
  });

  it.each([
    ['a nested object', { region: { name: 'eu' } }, /"region" is an object/],
    ['a number', { count: 3 }, /"count" is a number/],
    ['a null value', { region: null }, /"region" is null/],
    ['an array', ['eu-west-1'], /got an array/],
    ['null', null, /got null/],
    ['a bare string', 'eu-west-1', /got a string/],
  ])('refuses %s with a message saying values must be text, and saves nothing', async (_, values, reason) => {
    const store = open();
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));

    const saving = store.saveDefaults('U_ALICE', 'aws', values as unknown as Record<string, string>, at(1));

    await expect(saving).rejects.toThrow(TypeError);
    await expect(saving).rejects.toThrow(/^The defaults of U_ALICE for aws must /);
    await expect(saving).rejects.toThrow(reason);
    expect(await store.getDefaults('U_ALICE', 'aws')).toEqual({ region: 'eu-west-1' });
  });
});

describe('audit log', () => {
  const event = (overrides: Partial<AuditEvent> = {}): AuditEvent => ({
    at: at(0),
    kind: 'requested',
    actorId: 'U_ALICE',
    requestId: 'request-1',
    channelId: 'C_BUILDS',
    detail: {},
    ...overrides,
  });

  it('lists the events from exactly `since` on, oldest first, with their detail', async () => {
    const store = open();
    const before = event({ at: new Date(at(0).getTime() - 1), kind: 'requested' });
    const exactly = event({ at: at(0), kind: 'submitted', detail: { composeId: 'c-1', targets: ['123456789012'] } });
    const later = event({
      at: at(30),
      kind: 'finished',
      actorId: null,
      channelId: null,
      detail: { status: 'success', nested: { ok: true, n: 1.5 } },
    });
    const refused = event({
      at: at(10),
      kind: 'refused',
      requestId: null,
      detail: { reason: 'too many builds in flight', entryPoint: 'modal' },
    });
    for (const e of [later, before, exactly, refused]) await store.appendAudit(e);

    expect(await store.listAudit(at(0))).toEqual([exactly, refused, later]);
    expect(await store.listAudit(at(31))).toEqual([]);
  });

  it('keeps the order events were appended in when they share a millisecond, also after a restart', async () => {
    const file = temp.file();
    const store = open(file);
    const kinds = ['finished', 'reminded', 'expired', 'defaults-cleared'] as const;
    for (const kind of kinds) await store.appendAudit(event({ kind }));
    await store.close();

    expect((await open(file).listAudit(at(0))).map((e) => e.kind)).toEqual(kinds);
  });

  it('refuses an unknown kind or a detail that is not an object, and records nothing', async () => {
    const store = open();

    await expect(store.appendAudit(event({ kind: 'deleted' as AuditEvent['kind'] }))).rejects.toThrow(/"deleted"/);
    await expect(
      store.appendAudit(event({ detail: ['a'] as unknown as Record<string, unknown> })),
    ).rejects.toThrow(/detail .* must be an object, got an array/);
    await expect(store.appendAudit(event({ at: new Date('not a date') }))).rejects.toThrow(/at must be a valid Date/);
    expect(await store.listAudit(new Date(0))).toEqual([]);
  });
});

describe('a database that cannot be written', () => {
  it('fails saving defaults, forgetting them and auditing with a clear error naming the file', async () => {
    const file = temp.file();
    await open(file).close();
    const store = temp.closeLater(createSqliteStore(new Database(file, { readonly: true })));

    // Reading still works.
    expect(await store.getDefaults('U_ALICE', 'aws')).toBeUndefined();
    expect(await store.listAudit(at(0))).toEqual([]);
    expect(await store.listNeedingReminder(at(0), day)).toEqual([]);
    const writes = [
      () => store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0)),
      () => store.clearDefaults('U_ALICE'),
      () => store.appendAudit({ at: at(0), kind: 'requested', actorId: 'U_ALICE', requestId: null, channelId: null, detail: {} }),
    ];

    for (const write of writes) {
      const failure = write();
      await expect(failure).rejects.toBeInstanceOf(StoreError);
      await expect(failure).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(failure).rejects.toThrow(`Build-request database ${file} cannot be written: the database is read-only`);
    }
  });

  it('closes cleanly, also when closed twice', async () => {
    const store = open();
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0));

    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
