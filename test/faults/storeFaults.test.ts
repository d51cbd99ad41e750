import type Database from 'better-sqlite3';
import { startHarness, type Harness } from '../e2e/harness';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { adminQuery, TEST_DATABASE_URL } from '../tracking/postgresHelpers';
import { eventually } from '../support/eventually';
import {
  orderImage,
  ORDERS,
  reportFaults,
  startCuttableTcpProxy,
  statusRank,
  threadIn,
  type CuttableTcpProxy,
  recordUnhandledRejections,
} from './faultSupport';

/*
 * The store failing under a running bot: a SQLite file that stops taking writes, and a PostgreSQL server that goes
 * away behind a partition (a loopback TCP proxy that is cut, so the shared server keeps running). Either way /readyz
 * turns 503 and names the store, a new order is refused in the modal rather than silently dropped, and once the
 * store is back the builds that were already tracked finish.
 *
 * A step under way when the store fails cannot release its lease; the poller takes its own leases back at its next
 * look for work, so once the store is back the build moves on at once rather than a lease (a minute) later.
 */

jest.setTimeout(60_000);

let h: Harness | undefined;
let proxy: CuttableTcpProxy | undefined;
const unhandled = recordUnhandledRejections();
afterEach(async () => {
  await h?.close();
  h = undefined;
  await proxy?.close();
  proxy = undefined;
});

interface Readiness {
  status: number;
  body: { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
}

async function readiness(harness: Harness): Promise<Readiness> {
  const res = await fetch(`${harness.healthUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

const waitForReadiness = (harness: Harness, status: number, description: string) =>
  eventually(
    async () => {
      const r = await readiness(harness);
      return r.status === status ? r : undefined;
    },
    { timeoutMs: 10_000, description },
  );

/** The error the modal shows when the app refused a submission, or undefined when it accepted it. */
const modalError = (json: unknown) => {
  const body = json as { response_action?: string; errors?: Record<string, string> } | undefined;
  return body?.response_action === 'errors' ? Object.values(body.errors ?? {}).join(' ') : undefined;
};

const shown = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

const midBuild = (harness: Harness, channel: string) =>
  harness.slack.waitFor(() => /step [2-7] of/.test(threadIn(harness, channel)?.status?.text ?? ''), {
    timeoutMs: 15_000,
    description: `the build in ${channel} to be under way`,
  });

/** The thread in `channel` that reached its result, however many stray parents sit beside it. */
const completeThread = (harness: Harness, channel: string) =>
  harness.slack.waitFor(
    () => {
      const messages = harness.slack.messages(channel);
      for (const parent of messages.filter((m) => !m.thread_ts)) {
        const replies = messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
        if (replies.length >= 2) return { parent, replies, result: replies[1]! };
      }
      return undefined;
    },
    { timeoutMs: 20_000, description: `a finished thread in ${channel}` },
  );

const finished = (harness: Harness, channel: string) =>
  harness.slack.waitFor(() => threadIn(harness, channel)?.result, {
    timeoutMs: 20_000,
    description: `a result in ${channel}`,
  });

/** Opens the order modal in `channel` without submitting it. */
async function openModal(harness: Harness, channel: string): Promise<SlackView> {
  const opened = harness.slack.views().length;
  await harness.command('aws', { channel_id: channel });
  return harness.slack.waitFor(() => harness.slack.views()[opened], {
    timeoutMs: 10_000,
    description: `the modal for ${channel}`,
  });
}

/**
 * The bot's own SQLite connection. The harness gives no handle on it (nor should the app), so the test reaches in:
 * running as root, file permissions would not stop the bot, and a second connection's pragmas are its own.
 */
const botConnection = (harness: Harness) =>
  Reflect.get(Reflect.get(harness.store(), 'dialect') as object, 'connection') as Database.Database;

/**
 * Turns the bot's connection read-only (as a volume remounted read-only would) at a moment a step holds a lease,
 * checked and switched in one synchronous turn, so the step's writes and its lease release all fail.
 */
const failWritesMidStep = (connection: Database.Database) =>
  eventually(
    () => {
      const leased = connection
        .prepare('SELECT count(*) FROM build_requests WHERE lease_owner IS NOT NULL')
        .pluck()
        .get() as number;
      if (leased === 0) return false;
      connection.pragma('query_only = ON');
      return true;
    },
    { intervalMs: 1, description: 'a step to hold a lease' },
  );

it('reports a SQLite store that stops taking writes, refuses new orders, and finishes the tracked build once it is writable', async () => {
  h = await startHarness();
  const harness = h;
  await waitForReadiness(harness, 200, 'the bot to be ready');
  await orderImage(harness, 'CSQL1');
  await midBuild(harness, 'CSQL1');
  const connection = botConnection(harness);
  await failWritesMidStep(connection);

  const notReady = await waitForReadiness(harness, 503, '/readyz to report the store');
  expect(notReady.body.checks.store).toEqual({ ok: false, detail: expect.stringContaining(harness.databasePath) });
  expect(notReady.body.checks.store!.detail).toMatch(/cannot be written.*read-only/);

  const refused = await orderImage(harness, 'CSQL2');
  expect(refused.status).toBe(200);
  expect(modalError(refused.json)).toContain('could not be saved');
  expect(threadIn(harness, 'CSQL1')!.result).toBeUndefined();

  connection.pragma('query_only = OFF');
  await waitForReadiness(harness, 200, '/readyz to recover');
  expect(shown(await finished(harness, 'CSQL1'))).toContain('your image is ready');
  expect(threadIn(harness, 'CSQL2')).toBeUndefined();

  // The refused order can simply be placed again.
  const again = await orderImage(harness, 'CSQL2');
  expect(modalError(again.json)).toBeUndefined();
  expect(shown(await finished(harness, 'CSQL2'))).toContain('your image is ready');
  expect(harness.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toHaveLength(2);
  expect(unhandled).toEqual([]);

  reportFaults({
    area: 'Store faults',
    test: 'SQLite store turned read-only under the running bot',
    faults: { 'sqlite-read-only': 1 },
    builds: 2,
  });
});

const MAX_ORDERS_ON_FULL_DISK = 8;

it('refuses an order in the modal once the SQLite disk is full, and loses none it accepted', async () => {
  h = await startHarness();
  const harness = h;
  await waitForReadiness(harness, 200, 'the bot to be ready');
  const connection = botConnection(harness);
  // max_page_count at the file's size is SQLite's own stand-in for a full disk: the next page it needs is refused.
  // The free room left in the last pages is filled first, or a small insert could still fit.
  connection.exec('CREATE TABLE IF NOT EXISTS disk_filler (bytes BLOB)');
  const pages = connection.pragma('page_count', { simple: true }) as number;
  connection.pragma(`max_page_count = ${pages + 4}`);
  let filled = 0;
  for (let size = 4096; size >= 16;) {
    try {
      connection.prepare('INSERT INTO disk_filler VALUES (randomblob(?))').run(size);
      filled += 1;
    } catch {
      size = Math.floor(size / 2);
    }
  }
  expect(filled).toBeGreaterThan(0);

  // Orders keep coming while the disk is full: the first ones may still fit in the free room of existing pages;
  // the first that needs a new page must be refused in the modal, and none accepted may be dropped.
  const accepted: string[] = [];
  let refusal: string | undefined;
  for (let i = 0; i < MAX_ORDERS_ON_FULL_DISK && refusal === undefined; i++) {
    const answer = await orderImage(harness, `CFULL${i}`);
    expect(answer.status).toBe(200);
    refusal = modalError(answer.json);
    if (refusal === undefined) accepted.push(`CFULL${i}`);
  }
  expect(refusal).toContain('could not be saved');
  expect(harness.logLines.some((l) => /could not save a build request/.test(l) && /full/.test(l))).toBe(true);
  const refusedChannel = `CFULL${accepted.length}`;
  expect(threadIn(harness, refusedChannel)).toBeUndefined();

  connection.exec('DROP TABLE disk_filler');
  connection.pragma('max_page_count = 1073741823');
  const again = await orderImage(harness, refusedChannel);
  expect(modalError(again.json)).toBeUndefined();
  for (const channel of [...accepted, refusedChannel]) {
    const thread = await completeThread(harness, channel);
    expect(shown(thread.result)).toContain('your image is ready');
    expect(thread.replies).toHaveLength(2);
    // A message Slack took whose ts the full disk would not let the bot record is taken back (chat.delete) before
    // the step is retried, so the channel shows one parent per build, whatever the disk did.
    expect(harness.slack.messages(channel).filter((m) => !m.thread_ts)).toHaveLength(1);
  }
  const takenBack = harness.slack.callsTo('chat.delete').length;
  expect(unhandled).toEqual([]);

  reportFaults({
    area: 'Store faults',
    test: 'SQLite disk full (max_page_count)',
    faults: { 'sqlite-disk-full': 1 },
    builds: accepted.length + 1,
    notes:
      `${accepted.length} orders still fitted before one was refused; ${takenBack} message(s) posted while the ` +
      'disk was full were taken back because their ts could not be saved',
  });
});

it('takes back a parent Slack took when its ts cannot be saved, so the channel shows one parent per build', async () => {
  h = await startHarness();
  const harness = h;
  const connection = botConnection(harness);
  // Slack takes the parent; before its answer reaches the bot, the store stops taking writes.
  let struck = false;
  harness.slack.on('chat.postMessage', ({ args }) => {
    if (!struck && args.thread_ts === undefined) {
      struck = true;
      connection.pragma('query_only = ON');
    }
    return undefined;
  });
  await orderImage(harness, 'CBACK');
  const deleted = await harness.slack.waitForCall('chat.delete', () => true);
  expect(harness.slack.messages('CBACK').find((m) => m.ts === deleted.args.ts)?.thread_ts).toBeUndefined();
  await eventually(() => harness.logLines.some((l) => /took it back so it is not posted twice/.test(l)), {
    description: 'the bot to log that it took the message back',
  });
  connection.pragma('query_only = OFF');

  const thread = await completeThread(harness, 'CBACK');
  expect(shown(thread.result)).toContain('your image is ready');
  // The channel shows one parent: the one the retried step posted and saved.
  expect(harness.slack.messages('CBACK').filter((m) => !m.thread_ts)).toEqual([thread.parent]);
  expect(harness.slack.callsTo('chat.delete').map((c) => c.args.ts)).toEqual([deleted.args.ts]);
  expect(thread.parent.ts).not.toBe(deleted.args.ts);
  expect(unhandled).toEqual([]);
  reportFaults({
    area: 'Store faults',
    test: 'SQLite stops taking writes between a post and its ts',
    faults: { 'sqlite-read-only': 1 },
    builds: 1,
    notes: 'the unsaved parent was deleted; the retried step posted the only one left',
  });
});

it('takes a tracked build up again as soon as the SQLite store is writable, not a lease later', async () => {
  reportFaults({
    area: 'Store faults',
    test: 'build resumes promptly after a SQLite outage',
    faults: { 'sqlite-read-only': 1 },
    builds: 1,
  });
  h = await startHarness();
  const harness = h;
  await orderImage(harness, 'CLEASE');
  await midBuild(harness, 'CLEASE');
  const connection = botConnection(harness);
  await failWritesMidStep(connection);
  await waitForReadiness(harness, 503, '/readyz to report the store');
  const before = statusRank(threadIn(harness, 'CLEASE')!.status!.text);
  connection.pragma('query_only = OFF');
  await harness.slack.waitFor(() => statusRank(threadIn(harness, 'CLEASE')!.status!.text) > before, {
    timeoutMs: 4_000,
    description: 'the build to move on after the store came back',
  });
});

it('reports PostgreSQL gone behind a cut connection, refuses new orders, and carries on once the connection is back', async () => {
  const schema = `ibb_fault_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const target = new URL(TEST_DATABASE_URL);
  const cuttable = await startCuttableTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  proxy = cuttable;
  const throughProxy = new URL(TEST_DATABASE_URL);
  throughProxy.host = `127.0.0.1:${cuttable.port}`;
  throughProxy.searchParams.set('schema', schema);
  try {
    h = await startHarness({ env: { DATABASE_URL: throughProxy.toString() } });
    const harness = h;
    await waitForReadiness(harness, 200, 'the bot to be ready');
    await orderImage(harness, 'CPG1');
    await midBuild(harness, 'CPG1');
    // A modal opened before the partition and submitted during it.
    const pending = await openModal(harness, 'CPG2');

    cuttable.cut();
    const notReady = await waitForReadiness(harness, 503, '/readyz to report the store');
    expect(notReady.body.checks.store?.ok).toBe(false);
    expect(notReady.body.checks.store?.detail).toMatch(
      new RegExp(`Build-request database .*schema ${schema}.* cannot be written: the connection was lost`),
    );

    // Not accepted, whatever the user is shown (the test below checks what they are told).
    const refused = await harness.submitModal(ORDERS[0]!.fills, 'U1', pending);
    expect(refused.status !== 200 || modalError(refused.json) !== undefined).toBe(true);
    // A new command cannot even read the user's defaults: it says so rather than showing a form that cannot be saved.
    const command = await harness.command('aws', { channel_id: 'CPG3' });
    expect(command.status).toBe(200);
    const notice = await harness.slack.waitForCall('response_url', (c) =>
      JSON.stringify(c.args).includes('could not open the form'),
    );
    expect(notice.args.response_type).toBe('ephemeral');
    expect(threadIn(harness, 'CPG1')!.result).toBeUndefined();

    cuttable.restore();
    await waitForReadiness(harness, 200, '/readyz to recover');
    expect(shown(await finished(harness, 'CPG1'))).toContain('your image is ready');
    expect(threadIn(harness, 'CPG2')).toBeUndefined();
    const again = await orderImage(harness, 'CPG2');
    expect(modalError(again.json)).toBeUndefined();
    expect(shown(await finished(harness, 'CPG2'))).toContain('your image is ready');
    expect(harness.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(unhandled).toEqual([]);

    reportFaults({
      area: 'Store faults',
      test: 'PostgreSQL behind a cut TCP proxy',
      faults: { 'postgres-partition': 1, 'postgres-connections-dropped': cuttable.dropped() },
      builds: 2,
    });
  } finally {
    await h?.close();
    h = undefined;
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
});

// The submission counts the user's requests (policy limits) in the store before saving: when the store cannot be
// reached there, the user is told it could not be saved rather than getting Slack's generic error.
it('tells the user their order could not be saved when PostgreSQL is unreachable at submission', async () => {
  reportFaults({
    area: 'Store faults',
    test: 'modal answer while PostgreSQL is unreachable',
    faults: { 'postgres-partition': 1 },
    builds: 0,
  });
  const schema = `ibb_fault_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const target = new URL(TEST_DATABASE_URL);
  const cuttable = await startCuttableTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  proxy = cuttable;
  const throughProxy = new URL(TEST_DATABASE_URL);
  throughProxy.host = `127.0.0.1:${cuttable.port}`;
  throughProxy.searchParams.set('schema', schema);
  try {
    h = await startHarness({ env: { DATABASE_URL: throughProxy.toString() } });
    const pending = await openModal(h, 'CPGMODAL');
    cuttable.cut();
    await waitForReadiness(h, 503, '/readyz to report the store');
    const refused = await h.submitModal(ORDERS[0]!.fills, 'U1', pending);
    expect(refused.status).toBe(200);
    expect(modalError(refused.json)).toContain('could not be saved');
  } finally {
    await h?.close();
    h = undefined;
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
});
