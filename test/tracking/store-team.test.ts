import Database from 'better-sqlite3';
import { createSqliteStore, openSqliteStore, StoreError } from '../../src/store/sqlite';
import { useTempFolder } from './helpers';

/*
 * What the team features (defaults, audit log, expiry) look like in a SQLite file. Their behaviour, the same in
 * every store, is in storeContract.ts.
 */

const temp = useTempFolder();
const open = async (file = temp.file()) => temp.closeLater(await openSqliteStore({ path: file }));

const minute = 60_000;
const day = 24 * 60 * minute;
const at = (minutes: number) => new Date(Date.UTC(2025, 2, 1, 10, 0) + minutes * minute);

describe('remembered modal values', () => {
  it('keeps one row per user and cloud, with the time it was last saved, readable with the sqlite3 shell', async () => {
    const file = temp.file();
    const store = await open(file);
    await store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1', accounts: '123456789012' }, at(0));

    await store.saveDefaults('U_ALICE', 'aws', { region: 'us-east-1' }, at(5));
    await store.close();

    const raw = new Database(file, { readonly: true });
    const rows = raw.prepare('SELECT user_id, provider, values_json, updated_at FROM user_defaults').all();
    raw.close();
    expect(rows).toEqual([
      {
        user_id: 'U_ALICE',
        provider: 'aws',
        values_json: '{"region":"us-east-1"}',
        updated_at: '2025-03-01T10:05:00.000Z',
      },
    ]);
  });
});

describe('a database that cannot be written', () => {
  it('fails saving defaults, forgetting them and auditing with a clear error naming the file', async () => {
    const file = temp.file();
    await (await open(file)).close();
    const store = temp.closeLater(await createSqliteStore(new Database(file, { readonly: true })));

    // Reading still works.
    expect(await store.getDefaults('U_ALICE', 'aws')).toBeUndefined();
    expect(await store.listAudit(at(0))).toEqual([]);
    expect(await store.listNeedingReminder(at(0), day)).toEqual([]);
    const writes = [
      () => store.saveDefaults('U_ALICE', 'aws', { region: 'eu-west-1' }, at(0)),
      () => store.clearDefaults('U_ALICE'),
      () =>
        store.appendAudit({
          at: at(0),
          kind: 'requested',
          actorId: 'U_ALICE',
          requestId: null,
          channelId: null,
          detail: {},
        }),
    ];

    for (const write of writes) {
      const failure = write();
      await expect(failure).rejects.toBeInstanceOf(StoreError);
      await expect(failure).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(failure).rejects.toThrow(
        `Build-request database ${file} cannot be written: the database is read-only`,
      );
    }
  });
});
