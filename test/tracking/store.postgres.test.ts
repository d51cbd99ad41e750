import { MIGRATIONS } from '../../src/store/migrations';
import { openStore } from '../../src/store/openStore';
import { openPostgresStore } from '../../src/store/postgres';
import { StoreError } from '../../src/store/rows';
import { newRequest } from './helpers';
import {
  expectedRequest,
  insertRelease5Row,
  insertRelease6Row,
  RELEASE_5_MIGRATIONS,
  RELEASE_5_ROWS,
  RELEASE_6_LEDGERS_POSTGRES,
  RELEASE_6_MIGRATIONS,
} from './todaysRelease';
import { adminQuery, TEST_DATABASE_URL, usePostgresSchema } from './postgresHelpers';
import { describeStoreContract } from './storeContract';

const pg = usePostgresSchema();

/** The test database's URL with a query parameter added. */
const withParameter = (name: string, value: string) => {
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set(name, value);
  return url.toString();
};

describe('PostgreSQL store', () => {
  describeStoreContract({ open: () => pg.open() });

  describe('schema migrations', () => {
    const applied = (schema = pg.schema()) =>
      adminQuery<{ version: number; applied_at: Date }>(
        `SELECT version, applied_at FROM ${schema}.schema_migrations ORDER BY version`,
      );

    it('are applied once, stamped with the injected clock, however often the database is opened', async () => {
      const appliedAt = new Date('2025-03-01T09:00:00.000Z');
      const first = await pg.open({ now: () => appliedAt });
      await first.insert(newRequest());
      await first.close();

      const second = await pg.open({ now: () => new Date('2030-01-01T00:00:00Z') });

      expect(await second.listUnfinished()).toHaveLength(1);
      expect(await applied()).toEqual(MIGRATIONS.map((m) => ({ version: m.version, applied_at: appliedAt })));
    });

    it('are applied once when several replicas open a new schema at the same moment', async () => {
      const replicas = await Promise.all([pg.open(), pg.open(), pg.open(), pg.open()]);

      await replicas[0]!.insert(newRequest({ id: 'from-the-first' }));

      expect(await replicas[3]!.get('from-the-first')).toMatchObject({ id: 'from-the-first' });
      expect((await applied()).map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it('keep each schema to itself, so deployments (and test runs) can share a database', async () => {
      const mine = await pg.open();
      const otherSchema = pg.newSchema();
      const other = pg.closeLater(
        await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema: otherSchema }),
      );

      await mine.insert(newRequest({ id: 'mine' }));

      expect(await mine.get('mine')).toBeDefined();
      expect(await other.get('mine')).toBeUndefined();
      expect(await applied(otherSchema)).toHaveLength(MIGRATIONS.length);
    });

    it('upgrade a schema of the release before the message split, keeping every field of every build', async () => {
      const schema = pg.schema();
      await adminQuery(`CREATE SCHEMA ${schema}`);
      for (const m of RELEASE_5_MIGRATIONS) await adminQuery(`SET search_path TO ${schema}; ${m.sql.postgres}`);
      await adminQuery(
        `SET search_path TO ${schema};
         CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);
         INSERT INTO schema_migrations SELECT v, '2025-02-01T00:00:00Z' FROM generate_series(1, 5) v;`,
      );
      for (const row of RELEASE_5_ROWS) {
        const insert = insertRelease5Row(row, (i) => `$${i}`);
        await adminQuery(
          insert.text.replace('INSERT INTO build_requests', `INSERT INTO ${schema}.build_requests`),
          insert.values,
        );
      }

      const store = await pg.open();

      for (const row of RELEASE_5_ROWS) expect(await store.get(row.id as string)).toEqual(expectedRequest(row));
      const columns = await adminQuery<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'build_requests'`,
        [schema],
      );
      expect(columns.map((c) => c.column_name)).not.toContain('parent_ts');
      expect(
        await adminQuery(`SELECT build_id, parent_ts, reminder_ts FROM ${schema}.build_messages ORDER BY build_id`),
      ).toEqual([
        { build_id: 'finished-build', parent_ts: '1740823200.000100', reminder_ts: '1741946400.000400' },
        { build_id: 'tracked-build', parent_ts: '1740909600.000500', reminder_ts: null },
      ]);
      expect(await store.listLeaseOwners()).toEqual(['replica-before-the-upgrade']);
    });

    it("upgrade a schema of today's release to orders, keeping every build and its messages, each a plain build", async () => {
      const schema = pg.schema();
      await adminQuery(`CREATE SCHEMA ${schema}`);
      for (const m of RELEASE_6_MIGRATIONS) await adminQuery(`SET search_path TO ${schema}; ${m.sql.postgres}`);
      await adminQuery(`SET search_path TO ${schema}; ${RELEASE_6_LEDGERS_POSTGRES}`);
      for (const row of RELEASE_5_ROWS) {
        for (const insert of insertRelease6Row(row, (i) => `$${i}`)) {
          await adminQuery(insert.text.replace('INSERT INTO ', `INSERT INTO ${schema}.`), insert.values);
        }
      }

      const store = await pg.open({ now: () => new Date('2025-05-01T00:00:00Z') });

      for (const row of RELEASE_5_ROWS) expect(await store.get(row.id as string)).toEqual(expectedRequest(row));
      expect(await applied()).toContainEqual({ version: 7, applied_at: new Date('2025-05-01T00:00:00Z') });
      expect(await store.listLeaseOwners()).toEqual(['replica-before-the-upgrade']);
      const lead = newRequest({ id: 'lead-after-upgrade', requesterId: 'U034BOB' });
      await store.insert({ ...lead, orderId: lead.id, orderIndex: 0 });
      const image = { id: 'second-image', orderIndex: 1, architecture: 'aarch64', imageName: null };
      await store.addToOrder(lead.id, {}, [{ ...image, shareSummary: lead.shareSummary, composeRequest: '{}' }]);
      expect((await store.listOrder(lead.id)).map((r) => r.id)).toEqual([lead.id, image.id]);
      expect(await store.countForRequester('U034BOB', new Date(0))).toEqual({ inFlight: 2, since: 2 });
      // Half a blueprint, or an order id without a place, is refused by the database itself.
      const insert = (columns: string, values: string) =>
        adminQuery(
          `INSERT INTO ${schema}.build_requests (id, requester_id, channel_id, provider, distribution, architecture,
             share_summary, compose_request, state, created_at, ${columns})
           VALUES ('b', 'U', 'C', 'aws', 'rhel-9', 'x86_64', '', '{}', 'submitting', now(), ${values})`,
        );
      await expect(insert('blueprint_id, blueprint_name', "'bp', 'golden'")).rejects.toThrow(
        /build_requests_blueprint_whole/,
      );
      await expect(insert('order_id', "'b'")).rejects.toThrow(/build_requests_order_place/);
    });

    it('take the activation key out of a kept compose request, leaving the rest of it and other rows as they were', async () => {
      const store = await pg.open();
      const registering = {
        distribution: 'rhel-9',
        customizations: {
          subscription: { organization: 12345678, 'activation-key': 'old-activation-key', insights: true, rhc: true },
          packages: ['tmux'],
        },
      };
      await store.insert(newRequest({ id: 'registers', composeRequest: JSON.stringify(registering) }));
      await store.insert(newRequest({ id: 'plain', composeRequest: '{"distribution":"rhel-9"}' }));

      const migration = MIGRATIONS.find((m) => m.version === 10)!;
      await adminQuery(`SET search_path TO ${pg.schema()}; ${migration.sql.postgres}`);

      const { 'activation-key': _key, ...kept } = registering.customizations.subscription;
      expect(JSON.parse((await store.get('registers'))!.composeRequest)).toEqual({
        ...registering,
        customizations: { ...registering.customizations, subscription: kept },
      });
      expect((await store.get('plain'))!.composeRequest).toBe('{"distribution":"rhel-9"}');
    });

    it('refuse a database migrated by a newer release, naming it without the password', async () => {
      await (await pg.open()).close();
      await adminQuery(`INSERT INTO ${pg.schema()}.schema_migrations (version, applied_at) VALUES (999, now())`);
      const url = new URL(TEST_DATABASE_URL);
      url.password = 's3cret-pw';

      const opening = openPostgresStore({ connectionString: url.toString(), schema: pg.schema() });

      await expect(opening).rejects.toMatchObject({
        kind: 'incompatible',
        message: expect.stringContaining(`(schema ${pg.schema()}) was migrated to version 999 by a newer release`),
      });
      await expect(opening).rejects.toThrow(/^Build-request database postgres:\/\/postgres@/);
      await expect(opening).rejects.not.toThrow(/s3cret/);
    });
  });

  describe('DATABASE_URL', () => {
    it('keeps the tables in the schema named by ?schema=, creating it', async () => {
      const store = pg.closeLater(await openStore(withParameter('schema', pg.schema()), { workingDirectory: '/' }));

      await store.insert(newRequest({ id: 'in-its-schema' }));

      const rows = await adminQuery(`SELECT id FROM ${pg.schema()}.build_requests`);
      expect(rows).toEqual([{ id: 'in-its-schema' }]);
    });
  });

  describe('when the database cannot serve', () => {
    it('says the server refused the connection, naming the database but never the password', async () => {
      const opening = openPostgresStore({
        connectionString: 'postgres://bot:s3cret-pw@127.0.0.1:1/bot?sslmode=disable',
        connectTimeoutMs: 2000,
      });

      await expect(opening).rejects.toBeInstanceOf(StoreError);
      await expect(opening).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(opening).rejects.toThrow(
        /^Build-request database postgres:\/\/bot@127\.0\.0\.1:1\/bot cannot be opened: the server refused the connection/,
      );
      await expect(opening).rejects.not.toThrow(/s3cret/);
    });

    it('fails the ping, and nothing else, when the database can only be read', async () => {
      await (await pg.open()).insert(newRequest({ id: 'written-before' }));
      const readOnly = pg.closeLater(
        await openPostgresStore({
          connectionString: withParameter('options', '-c default_transaction_read_only=on'),
          schema: pg.schema(),
        }),
      );

      expect(await readOnly.get('written-before')).toBeDefined();
      const ping = readOnly.ping();

      await expect(ping).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(ping).rejects.toThrow(/cannot be written: the database is read-only/);
      await expect(readOnly.ping()).rejects.toThrow(/read-only/);
    });

    it('gives up on a statement that waits longer than the statement timeout, with a clear error', async () => {
      const store = await pg.open({ statementTimeoutMs: 100 });
      const { request } = await store.insert(newRequest());
      // Another session holds the row, as a stuck replica's open transaction would.
      const { Client } = await import('pg');
      const blocker = new Client({ connectionString: TEST_DATABASE_URL });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM ${pg.schema()}.build_requests WHERE id = $1 FOR UPDATE`, [request.id]);

        const update = store.update(request.id, { status: 'building' });

        await expect(update).rejects.toMatchObject({ kind: 'unavailable' });
        await expect(update).rejects.toThrow(/cannot be written: a statement took longer than the statement timeout/);
      } finally {
        await blocker.query('ROLLBACK');
        await blocker.end();
      }
      expect(await store.update(request.id, { status: 'building' })).toMatchObject({ status: 'building' });
    });
  });
});
