import { subDays } from 'date-fns';
import { openSqliteStore } from '../../src/store/sqlite';
import type { AuditEvent, Store } from '../../src/store/store';
import { newRequest } from '../tracking/helpers';
import { eventually } from '../support/eventually';
import { startHarness, type Harness } from './harness';

/*
 * RETENTION_DAYS through the running app: finished builds and audit events older than the period are deleted at
 * start (and then every hour), and the log says how many. Unset, nothing is ever deleted.
 */

let h: Harness;
afterEach(async () => h?.close());

const auditEvent = (at: Date): AuditEvent => ({
  at,
  kind: 'refused',
  actorId: 'U1',
  requestId: null,
  channelId: 'C1',
  detail: { reason: 'r' },
});

/** Writes rows while the app is down (a running app would take a new row up at once), then starts it again. */
async function seedAndRestart<T>(write: (store: Store) => Promise<T>): Promise<T> {
  await h.crash();
  const store = await openSqliteStore({ path: h.databasePath });
  try {
    return await write(store);
  } finally {
    await store.close();
    await h.restart();
  }
}

/** A build that failed `days` ago (nothing of it is still available). */
async function failedDaysAgo(store: Store, days: number) {
  const { request } = await store.insert(newRequest({ createdAt: subDays(new Date(), days + 1) }));
  return store.update(request.id, {
    state: 'done',
    status: 'failure',
    composeId: `compose-${request.id}`,
    finishedAt: subDays(new Date(), days),
  });
}

type LogLine = { msg: string; builds?: number; auditEvents?: number };
const purges = () =>
  h.logLines.map((line) => JSON.parse(line) as LogLine).filter((line) => line.msg.startsWith('retention: deleted'));

it('deletes the builds that finished and the audit events recorded before RETENTION_DAYS, and logs how many', async () => {
  h = await startHarness({ env: { RETENTION_DAYS: '30' } });
  const { old, recent } = await seedAndRestart(async (store) => {
    const rows = {
      old: [await failedDaysAgo(store, 45), await failedDaysAgo(store, 31)],
      recent: await failedDaysAgo(store, 29),
    };
    for (const days of [400, 31, 29, 0]) await store.appendAudit(auditEvent(subDays(new Date(), days)));
    return rows;
  });

  const purge = await eventually(() => purges().find((line) => line.builds === 2), {
    description: 'the purge at start to be logged',
  });
  expect(purge).toMatchObject({ builds: 2, auditEvents: 2 });
  for (const gone of old) expect(await h.store().get(gone.id)).toBeUndefined();
  expect(await h.store().get(recent.id)).toMatchObject({ id: recent.id, state: 'done' });
  expect(await h.store().listAudit(new Date(0))).toHaveLength(2);
});

it('keeps everything without RETENTION_DAYS', async () => {
  h = await startHarness();
  const old = await seedAndRestart(async (store) => {
    await store.appendAudit(auditEvent(subDays(new Date(), 3650)));
    return failedDaysAgo(store, 3650);
  });

  expect(await h.store().get(old.id)).toMatchObject({ id: old.id });
  expect(await h.store().listAudit(new Date(0))).toHaveLength(1);
  expect(purges()).toEqual([]);
});
