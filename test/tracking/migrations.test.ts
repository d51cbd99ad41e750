import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from '../../src/store/migrations';
import { applySqliteMigrations, createSqliteStore, openSqliteStore } from '../../src/store/sqlite';
import { newRequest, useTempFolder } from './helpers';
import {
  expectedRequest,
  insertRelease5Row,
  insertRelease6Row,
  RELEASE_5_MIGRATIONS,
  RELEASE_5_ROWS,
  RELEASE_6_MIGRATIONS,
} from './todaysRelease';

const temp = useTempFolder();

function appliedVersions(file: string) {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare('SELECT version, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all();
  } finally {
    raw.close();
  }
}

const migration = (version: number, sql: string): Migration => ({
  version,
  description: `step ${version}`,
  sql: { sqlite: sql, postgres: `-- not run here: ${sql}` },
});

describe('schema migrations', () => {
  it('are numbered 1, 2, 3… without gaps, each with its SQLite and its PostgreSQL SQL', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
    for (const m of MIGRATIONS) {
      expect(m.sql.sqlite.trim()).not.toBe('');
      expect(m.sql.postgres.trim()).not.toBe('');
    }
  });

  it('are applied once, stamped with the injected clock, however often the file is opened', async () => {
    const file = temp.file();
    const appliedAt = new Date('2025-03-01T09:00:00.000Z');
    const first = await openSqliteStore({ path: file, now: () => appliedAt });
    await first.insert(newRequest());
    await first.close();

    const second = temp.closeLater(await openSqliteStore({ path: file, now: () => new Date('2030-01-01T00:00:00Z') }));

    expect(await second.listUnfinished()).toHaveLength(1);
    expect(appliedVersions(file)).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, appliedAt: appliedAt.toISOString() })),
    );
  });

  it('are applied once when two connections open the same new file together', async () => {
    const file = temp.file();
    // Both connections exist before either has migrated, as with two processes starting at once.
    const first = new Database(file);
    const second = new Database(file);

    const stores = [await createSqliteStore(first), await createSqliteStore(second)].map(temp.closeLater);
    await stores[0]!.insert(newRequest({ id: 'from-first' }));

    expect(await stores[1]!.get('from-first')).toMatchObject({ id: 'from-first' });
    expect(appliedVersions(file)).toHaveLength(MIGRATIONS.length);
  });

  it('are applied once when several processes open the same new file at the same moment', async () => {
    const file = temp.file();
    const child = path.join(__dirname, 'fixtures', 'open-store-child.cjs');
    const ids = ['a', 'b', 'c', 'd'].map((letter) => `${letter}-${randomUUID()}`);
    // Long enough for every child to have started node and loaded the store before the shared start time.
    const startAt = Date.now() + 3000;

    const outputs = await Promise.all(
      ids.map((id) => promisify(execFile)(process.execPath, [child, file, id, String(startAt)], { timeout: 30_000 })),
    );

    expect(outputs.map((o) => o.stdout)).toEqual(ids.map(() => 'created'));
    expect(appliedVersions(file)).toHaveLength(MIGRATIONS.length);
    const store = temp.closeLater(await openSqliteStore({ path: file }));
    expect((await store.listUnfinished()).map((r) => r.id).sort()).toEqual([...ids].sort());
  }, 40_000);

  it('upgrade a database of the first release in place, keeping its requests, with the new fields empty', async () => {
    const file = temp.file();
    // As the first release left it: its one migration, recorded in its own ledger.
    const v1 = new Database(file);
    v1.exec(MIGRATIONS[0]!.sql.sqlite);
    v1.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    v1.prepare("INSERT INTO schema_migrations VALUES (1, '2025-02-01T00:00:00.000Z')").run();
    const insertV1Row = v1.prepare(
      `INSERT INTO build_requests (id, idempotency_key, requester_id, channel_id, thread_channel_id, response_url,
         provider, distribution, architecture, image_name, share_summary, compose_request, state, compose_id, status,
         progress_done, progress_total, parent_ts, result_ts, created_at, finished_at, expires_at, poll_failures)
       VALUES (@id, @key, 'U_ALICE', 'C_BUILDS', 'C_BUILDS', NULL, 'aws', 'rhel-9', 'x86_64', 'web-base',
         'AWS accounts 123456789012', '{"image_name":"web-base"}', @state, @composeId, @status, 9, 9, '1.1', @resultTs,
         @createdAt, @finishedAt, @expiresAt, 2)`,
    );
    insertV1Row.run({
      id: 'finished',
      key: 'V1',
      state: 'done',
      composeId: 'compose-1',
      status: 'success',
      resultTs: '1.3',
      createdAt: '2025-03-01T10:00:00.123Z',
      finishedAt: '2025-03-01T10:25:00.000Z',
      expiresAt: '2025-03-15T10:00:00.000Z',
    });
    insertV1Row.run({
      id: 'tracking',
      key: 'V2',
      state: 'tracking',
      composeId: 'compose-2',
      status: 'building',
      resultTs: null,
      createdAt: '2025-03-02T10:00:00.000Z',
      finishedAt: null,
      expiresAt: null,
    });
    v1.close();

    const store = temp.closeLater(
      await openSqliteStore({ path: file, now: () => new Date('2025-04-01T00:00:00.000Z') }),
    );

    expect(appliedVersions(file)).toEqual([
      { version: 1, appliedAt: expect.any(String) },
      ...MIGRATIONS.slice(1).map((m) => ({ version: m.version, appliedAt: '2025-04-01T00:00:00.000Z' })),
    ]);
    expect(await store.get('finished')).toEqual({
      id: 'finished',
      orderId: null,
      orderIndex: null,
      launchSettings: null,
      blueprint: null,
      idempotencyKey: 'V1',
      requesterId: 'U_ALICE',
      channelId: 'C_BUILDS',
      threadChannelId: 'C_BUILDS',
      // Not known for a build from before it was recorded: such a build counts as private.
      threadChannelKind: null,
      responseUrl: null,
      provider: 'aws',
      distribution: 'rhel-9',
      architecture: 'x86_64',
      imageName: 'web-base',
      shareSummary: 'AWS accounts 123456789012',
      composeRequest: '{"image_name":"web-base"}',
      state: 'done',
      composeId: 'compose-1',
      status: 'success',
      progressDone: 9,
      progressTotal: 9,
      finalImageStatus: null,
      rejection: null,
      parentTs: '1.1',
      statusTs: null,
      resultTs: '1.3',
      renderedParent: null,
      renderedStatus: null,
      createdAt: new Date('2025-03-01T10:00:00.123Z'),
      submittedAt: null,
      composeCreatedAt: null,
      finishedAt: new Date('2025-03-01T10:25:00.000Z'),
      expiresAt: new Date('2025-03-15T10:00:00.000Z'),
      nextPollAt: null,
      pollFailures: 2,
      rebuiltFrom: null,
      reminderTs: null,
      expiredNotedAt: null,
      approval: null,
      approvalExpiresAt: null,
      decision: null,
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      approvalTs: null,
      renderedApproval: null,
    });
    expect((await store.listUnfinished()).map((r) => r.id)).toEqual(['tracking']);
    expect(await store.get('tracking')).toMatchObject({ rebuiltFrom: null, reminderTs: null, expiredNotedAt: null });
    // Its unfinished build is leased like any new one.
    expect(
      (await store.claimDue('replica-a', new Date('2025-04-01T00:00:00.000Z'), 60_000, 10)).map((r) => r.id),
    ).toEqual(['tracking']);
    // What the first release built is now found by the new queries, and the new tables are there to use.
    expect(
      (await store.listNeedingReminder(new Date('2025-03-14T10:00:00.000Z'), 2 * 86_400_000)).map((r) => r.id),
    ).toEqual(['finished']);
    expect((await store.listNewest({ limit: 5 })).map((r) => r.id)).toEqual(['tracking', 'finished']);
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, new Date('2025-04-01T00:00:00.000Z'));
    expect(await store.getDefaults('U_ALICE', 'aws')).toEqual({ region: 'eu-west-1' });
    // Replicas keep their heartbeats in it, and find the leases of one that died.
    expect(await store.heartbeat('replica-a', new Date('2025-04-01T00:00:00.000Z'), 30_000)).toBe(1);
    expect(await store.listLeaseOwners()).toEqual(['replica-a']);
  });

  it('upgrade a file of the release before the message split, keeping every field of every build', async () => {
    const file = temp.file();
    const before = new Database(file);
    for (const m of RELEASE_5_MIGRATIONS) before.exec(m.sql.sqlite);
    before.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT');
    for (const m of RELEASE_5_MIGRATIONS) {
      before.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, '2025-02-01T00:00:00.000Z');
    }
    for (const row of RELEASE_5_ROWS) {
      const insert = insertRelease5Row(row, () => '?');
      before.prepare(insert.text).run(...insert.values);
    }
    before.close();

    const store = temp.closeLater(await openSqliteStore({ path: file }));

    for (const row of RELEASE_5_ROWS) expect(await store.get(row.id as string)).toEqual(expectedRequest(row));
    // The messages live apart from the tracking state now, and the lease held before the upgrade still holds.
    const raw = new Database(file, { readonly: true });
    try {
      const requestColumns = raw.prepare("SELECT name FROM pragma_table_info('build_requests')").pluck().all();
      expect(requestColumns).not.toEqual(expect.arrayContaining(['parent_ts']));
      expect(
        raw.prepare('SELECT build_id, parent_ts, reminder_ts FROM build_messages ORDER BY build_id').all(),
      ).toEqual([
        { build_id: 'finished-build', parent_ts: '1740823200.000100', reminder_ts: '1741946400.000400' },
        { build_id: 'tracked-build', parent_ts: '1740909600.000500', reminder_ts: null },
      ]);
    } finally {
      raw.close();
    }
    expect(await store.claim('tracked-build', 'another-replica', new Date('2025-03-02T10:01:00.000Z'), 60_000)).toBe(
      undefined,
    );
    expect(await store.listLeaseOwners()).toEqual(['replica-before-the-upgrade']);
  });

  it("upgrade a file of today's release to orders, keeping every build and its messages, each a plain build", async () => {
    const file = temp.file();
    const today = new Database(file);
    await applySqliteMigrations(today, { migrations: RELEASE_6_MIGRATIONS, now: () => new Date('2025-04-01') });
    for (const row of RELEASE_5_ROWS) {
      for (const insert of insertRelease6Row(row, () => '?')) today.prepare(insert.text).run(...insert.values);
    }
    today.close();

    const store = temp.closeLater(await openSqliteStore({ path: file, now: () => new Date('2025-05-01T00:00:00Z') }));

    for (const row of RELEASE_5_ROWS) expect(await store.get(row.id as string)).toEqual(expectedRequest(row));
    expect(appliedVersions(file)).toContainEqual({ version: 7, appliedAt: '2025-05-01T00:00:00.000Z' });
    expect(await store.listLeaseOwners()).toEqual(['replica-before-the-upgrade']);
    expect(await store.listOrder('finished-build')).toEqual([expectedRequest(RELEASE_5_ROWS[0]!)]);
    // An order placed after the upgrade is kept and counted as one request.
    const lead = newRequest({ id: 'lead-after-upgrade', requesterId: 'U034BOB' });
    await store.insert({ ...lead, orderId: lead.id, orderIndex: 0 });
    const image = { id: 'second-image', orderIndex: 1, architecture: 'aarch64', imageName: null };
    await store.addToOrder(lead.id, {}, [{ ...image, shareSummary: lead.shareSummary, composeRequest: '{}' }]);
    expect((await store.listOrder(lead.id)).map((r) => r.id)).toEqual([lead.id, image.id]);
    expect(await store.countForRequester('U034BOB', new Date(0))).toEqual({ inFlight: 2, since: 2 });
  });

  it('keep a blueprint whole and an order place paired in the file itself, whatever writes to it', async () => {
    const file = temp.file();
    await (await openSqliteStore({ path: file })).close();
    const raw = new Database(file);
    try {
      const insert = (columns: string, values: string) =>
        raw.exec(
          `INSERT INTO build_requests (id, requester_id, channel_id, provider, distribution, architecture,
             share_summary, compose_request, state, created_at, ${columns})
           VALUES ('b', 'U', 'C', 'aws', 'rhel-9', 'x86_64', '', '{}', 'submitting', '2025-01-01', ${values})`,
        );

      expect(() => insert('blueprint_id, blueprint_name', "'bp', 'golden'")).toThrow(/CHECK constraint failed/);
      expect(() => insert('order_id', "'b'")).toThrow(/CHECK constraint failed/);
      insert(
        'order_id, order_index, blueprint_id, blueprint_name, blueprint_version, blueprint_targets',
        "'b', 0, 'bp', 'golden', 3, 'blueprint'",
      );
      expect(raw.prepare('SELECT count(*) AS n FROM build_requests').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
    }
  });

  it('take the activation key out of a kept compose request, leaving the rest of it and other rows as they were', async () => {
    const file = temp.file();
    const store = await openSqliteStore({ path: file });
    const registering = {
      distribution: 'rhel-9',
      image_requests: [{ architecture: 'x86_64', image_type: 'aws' }],
      customizations: {
        subscription: { organization: 12345678, 'activation-key': 'old-activation-key', insights: true, rhc: true },
        packages: ['tmux'],
      },
    };
    await store.insert(newRequest({ id: 'registers', composeRequest: JSON.stringify(registering) }));
    await store.insert(newRequest({ id: 'plain', composeRequest: '{"distribution":"rhel-9"}' }));
    await store.close();

    const raw = new Database(file);
    raw.exec(MIGRATIONS.find((m) => m.version === 10)!.sql.sqlite);
    const rows = raw.prepare('SELECT id, compose_request FROM build_requests ORDER BY id').all() as {
      id: string;
      compose_request: string;
    }[];
    raw.close();

    const { 'activation-key': _key, ...kept } = registering.customizations.subscription;
    expect(rows.map((r) => [r.id, JSON.parse(r.compose_request) as unknown])).toEqual([
      ['plain', { distribution: 'rhel-9' }],
      ['registers', { ...registering, customizations: { ...registering.customizations, subscription: kept } }],
    ]);
    expect(rows.find((r) => r.id === 'plain')!.compose_request).toBe('{"distribution":"rhel-9"}');
  });

  it('applies only the migrations a database lacks, in order', async () => {
    const connection = new Database(temp.file());
    try {
      expect(await applySqliteMigrations(connection, { migrations: [migration(1, 'CREATE TABLE one (x)')] })).toEqual([
        1,
      ]);
      const later = [
        migration(1, 'CREATE TABLE one (x)'),
        migration(3, 'ALTER TABLE two ADD COLUMN y'),
        migration(2, 'CREATE TABLE two (x)'),
      ];

      expect(await applySqliteMigrations(connection, { migrations: later })).toEqual([2, 3]);
      expect(await applySqliteMigrations(connection, { migrations: later })).toEqual([]);
    } finally {
      connection.close();
    }
  });

  it('leave the database as it was when one of them fails, and say which', async () => {
    const connection = new Database(temp.file());
    try {
      const list = [migration(1, 'CREATE TABLE one (x)'), migration(2, 'CREATE TABLE broken (')];

      await expect(applySqliteMigrations(connection, { migrations: list })).rejects.toThrow(
        /^migration 2 \(step 2\) failed: /,
      );

      const tables = connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      expect(tables).toEqual([]);
    } finally {
      connection.close();
    }
  });

  it('refuse a database migrated by a newer release, naming the file', async () => {
    const file = temp.file();
    await (await openSqliteStore({ path: file })).close();
    const raw = new Database(file);
    raw.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (999, '2031-01-01T00:00:00.000Z')").run();
    raw.close();

    await expect(openSqliteStore({ path: file })).rejects.toThrow(
      expect.objectContaining({
        kind: 'incompatible',
        message: expect.stringMatching(new RegExp(`^Build-request database ${file} was migrated to version 999 `)),
      }),
    );
  });
});
