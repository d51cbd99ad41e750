import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { blocksText } from '../fakes/blockKit';
import { startFakeImageBuilder } from '../fakes/imageBuilderService';
import { startFakeSlack, type FakeSlackMessage, type SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { signedPost, slashCommandBody, submitModalBody, type FillValue } from '../support/slackRequests';

/*
 * The bot killed with SIGKILL at random moments while composes run, and started again on the same SQLite file each
 * time, as a crash-looping container would be. However often it dies, every build ends with one parent message
 * showing the final state, one status reply edited in place, one result reply, and one compose at Image Builder.
 *
 * Slack has no idempotency key, so one window remains by design: a kill after Slack created a message and before
 * the bot saved its ts (threadProjection: post, then save) makes the restarted bot post that message again. The
 * test finds every such post — a message in Slack whose ts no row holds — right after each kill, and holds every
 * extra message at the end to exactly those: a duplicate anywhere else fails.
 *
 * Leases: a request the killed process was advancing stays leased to it for the lease's minute (DEFAULT_LEASE_MS).
 * The dead process can never write again, so the test ends those leases at once rather than waiting the minute
 * out; that changes when the restarted bot takes the request back, not what it does with it.
 *
 * Reproduce a run with KILL_NINE_SEED=<the seed it printed>.
 */

jest.setTimeout(150_000);

const ROOT = path.resolve(__dirname, '../..');
const SIGNING_SECRET = 'kill-nine-signing-secret';
const BOT_TOKEN = 'xoxb-kill-nine';
const KILLS = 20;
const FIRST_BUILDS = 6;
/** When fewer builds than this are still running before a kill, more are ordered so kills keep landing mid-run. */
const KEEP_RUNNING = 2;
const MORE_BUILDS = 3;
/** A kill lands this long after the restarted bot said it is running: its first steps, or deep into them. */
const KILL_AFTER_MS = { min: 0, max: 1_200 };

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
const ORDERS: { cloud: string; fills: Record<string, FillValue> }[] = [
  { cloud: 'aws', fills: { distribution: 'rhel-9', share_with_accounts: '123456789012' } },
  { cloud: 'gcp', fills: { distribution: 'rhel-10', share_with: 'user:alice@example.com' } },
  { cloud: 'azure', fills: { distribution: 'rhel-9', tenant_id: TENANT, subscription_id: SUBSCRIPTION, resource_group: 'images' } },
];

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RunningBot {
  child: ChildProcess;
  pid: number;
  appUrl: string;
  exited: Promise<void>;
}

interface BuildRow {
  id: string;
  state: string;
  channel_id: string;
  thread_channel_id: string | null;
  compose_id: string | null;
  parent_ts: string | null;
  status_ts: string | null;
  result_ts: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fakes, a database file, and the bot spawned on it: everything one run needs, and how to look at it. */
async function startRig() {
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const imageBuilder = await startFakeImageBuilder();
  const dir = mkdtempSync(path.join(tmpdir(), 'ibb-kill-nine-'));
  const databasePath = path.join(dir, 'bot.sqlite');
  let bot: RunningBot | undefined;
  let orders = 0;
  /** `channel/ts` of every post a kill cut off before its ts was saved. */
  const cutOff = new Set<string>();

  async function startBot(): Promise<RunningBot> {
    const child = spawn(process.execPath, ['--require', './test/support/registerTs.cjs', 'src/index.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.url,
        PORT: '0',
        DATABASE_URL: `sqlite://${databasePath}`,
        POLL_INTERVAL_SECONDS: '0.05',
        IMAGE_BUILDER_URL: imageBuilder.baseUrl,
        IMAGE_BUILDER_TOKEN_URL: imageBuilder.tokenUrl,
        IMAGE_BUILDER_OFFLINE_TOKEN: imageBuilder.credentials.offlineToken,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    bot = { child, pid: child.pid!, appUrl: '', exited };
    const port = await eventually(() => /"port":(\d+)/.exec(logs)?.[1], { timeoutMs: 20_000, description: 'the bot to start' }).catch(
      (error: Error) => {
        throw new Error(`${error.message}; it wrote:\n${logs.slice(-4000)}`);
      },
    );
    bot.appUrl = `http://127.0.0.1:${port}`;
    return bot;
  }

  function readRows(): BuildRow[] {
    const db = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare('SELECT id, state, channel_id, thread_channel_id, compose_id, parent_ts, status_ts, result_ts FROM build_requests')
        .all() as BuildRow[];
    } finally {
      db.close();
    }
  }

  /** What waiting out the dead process's leases would do, without the wait: they end now. */
  function endLeasesOf(pid: number): void {
    const db = new Database(databasePath, { fileMustExist: true });
    try {
      const now = new Date().toISOString();
      db.prepare('UPDATE build_requests SET lease_until = ? WHERE lease_owner LIKE ? AND lease_until > ?').run(now, `%:${pid}:%`, now);
    } finally {
      db.close();
    }
  }

  async function orderBuild(appUrl: string): Promise<void> {
    const { cloud, fills } = ORDERS[orders % ORDERS.length]!;
    orders += 1;
    // One channel per build, so each thread is told apart by where it is.
    const channel = `CKILL${orders}`;
    const opened = slack.views().length;
    const ack = await signedPost(
      appUrl,
      SIGNING_SECRET,
      slashCommandBody({ text: cloud, channel_id: channel, response_url: slack.responseUrl(`order-${orders}`) }),
    );
    expect(ack.status).toBe(200);
    const view = await slack.waitFor(() => slack.views()[opened] as SlackView | undefined, { description: `the ${cloud} modal` });
    const submitted = await signedPost(appUrl, SIGNING_SECRET, submitModalBody(view, 'U1', fills));
    // The request is in the database before Slack gets its answer: from here on no kill can lose it.
    expect(submitted.status).toBe(200);
    expect(submitted.text).toBe('');
  }

  /** Messages Slack holds that no row knows: posts whose answer a kill cut off before the ts was saved. */
  function unsavedPosts(rows: BuildRow[]): string[] {
    const saved = new Set(rows.flatMap((r) => [r.parent_ts, r.status_ts, r.result_ts].map((ts) => `${r.thread_channel_id}/${ts}`)));
    return slack
      .callsTo('chat.postMessage')
      .map((call) => call.response.body as { ok?: boolean; channel?: string; ts?: string })
      .filter((body) => body.ok === true)
      .map((body) => `${body.channel}/${body.ts}`)
      .filter((key) => !saved.has(key));
  }

  /** Waits for the killed bot to be gone, notes what the kill cut off, and starts the bot again on the same file. */
  async function afterKill(killed: RunningBot): Promise<{ unfinished: number; cutOff: string[] }> {
    await killed.exited;
    // A request already on the wire when the process died is still answered by Slack: let it land.
    await sleep(50);
    const rows = readRows();
    const fresh = unsavedPosts(rows).filter((key) => !cutOff.has(key));
    fresh.forEach((key) => cutOff.add(key));
    endLeasesOf(killed.pid);
    await startBot();
    return { unfinished: rows.filter((r) => r.state !== 'done').length, cutOff: fresh };
  }

  async function allDone(): Promise<BuildRow[]> {
    await eventually(() => readRows().every((r) => r.state === 'done'), {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'every build to finish after the last restart',
    });
    return readRows();
  }

  /**
   * Per build: one parent showing the result, one status reply edited in place, one result reply, one POST
   * /compose; and nothing else in Slack but the posts a kill cut off.
   */
  function expectEveryBuildOnce(rows: BuildRow[]) {
    const composePosts = imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
    const shown = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
    for (const row of rows) {
      expect(row).toMatchObject({ state: 'done', thread_channel_id: row.channel_id });
      const messages = slack.messages(row.channel_id);
      const cut = (m: FakeSlackMessage) => cutOff.has(`${row.channel_id}/${m.ts}`);
      const parents = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
      const replies = messages.filter((m) => m.thread_ts && m.thread_ts !== m.ts);
      const statusReplies = replies.filter((m) => m.text.startsWith('Status:'));
      const results = replies.filter((m) => !m.text.startsWith('Status:'));
      expect(parents.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.parent_ts]);
      expect(statusReplies.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.status_ts]);
      expect(results.filter((m) => !cut(m)).map((m) => m.ts)).toEqual([row.result_ts]);
      // Replies only in the saved thread: a reply to a parent cut off would be a thread nobody follows.
      expect(replies.filter((m) => !cut(m)).every((m) => m.thread_ts === row.parent_ts)).toBe(true);
      const status = statusReplies.find((m) => m.ts === row.status_ts);
      expect(shown(parents.find((m) => m.ts === row.parent_ts))).toContain('Ready');
      expect(shown(status)).toContain('Ready');
      expect(shown(results.find((m) => m.ts === row.result_ts))).toContain('your image is ready');
      // Edited as the build moved, never posted again.
      expect(status!.history.length).toBeGreaterThan(0);

      const posted = composePosts.filter((r) => String((r.body as { image_description?: string }).image_description).includes(row.id));
      expect(posted).toHaveLength(1);
      expect(imageBuilder.composes.get(row.compose_id!)?.request).toEqual(posted[0]!.body);
    }
    expect(composePosts).toHaveLength(rows.length);
    const everyMessage = rows.flatMap((r) => slack.messages(r.channel_id));
    expect(everyMessage).toHaveLength(rows.length * 3 + cutOff.size);
    expect(slack.problems).toEqual([]);
  }

  return {
    slack,
    imageBuilder,
    cutOff,
    bot: () => bot!,
    startBot,
    readRows,
    orderBuild,
    afterKill,
    allDone,
    expectEveryBuildOnce,
    async close() {
      bot?.child.kill('SIGKILL');
      await bot?.exited;
      await Promise.all([slack.close(), imageBuilder.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('kill -9 at random moments during a run of composes', () => {
  let rig: Awaited<ReturnType<typeof startRig>> | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it(`ends every build with one parent, one status reply edited in place, one result and one compose, after ${KILLS} kills`, async () => {
    const seed = Number(process.env.KILL_NINE_SEED ?? Math.floor(Math.random() * 2 ** 32));
    const random = seededRandom(seed);
    console.log(`kill -9 test: seed ${seed} (rerun with KILL_NINE_SEED=${seed})`);
    const started = Date.now();
    rig = await startRig();
    const { slack } = rig;

    let bot = await rig.startBot();
    for (let i = 0; i < FIRST_BUILDS; i++) await rig.orderBuild(bot.appUrl);

    const kills: { afterMs: number; unfinished: number; cutOff: string[] }[] = [];
    while (kills.length < KILLS) {
      if (rig.readRows().filter((r) => r.state !== 'done').length < KEEP_RUNNING) {
        for (let i = 0; i < MORE_BUILDS; i++) await rig.orderBuild(bot.appUrl);
      }
      const afterMs = Math.round(KILL_AFTER_MS.min + random() * (KILL_AFTER_MS.max - KILL_AFTER_MS.min));
      await sleep(afterMs);
      bot.child.kill('SIGKILL');
      kills.push({ afterMs, ...(await rig.afterKill(bot)) });
      bot = rig.bot();
    }
    const killsDoneAt = Date.now();
    const rows = await rig.allDone();

    const posts = slack.callsTo('chat.postMessage').filter((c) => (c.response.body as { ok?: boolean }).ok === true).length;
    console.log(
      [
        `kill -9 test: seed ${seed}, ${rows.length} builds, ${kills.length} kills in ${killsDoneAt - started} ms, all done at ${Date.now() - started} ms`,
        `kills while builds were running: ${kills.filter((k) => k.unfinished > 0).length}`,
        `kills between Slack's answer and the ts saved: ${kills.filter((k) => k.cutOff.length > 0).length} ` +
          `(posts cut off, so posted twice: ${rig.cutOff.size} of ${posts})`,
        ...kills.map((k, i) => `  kill ${i + 1}: after ${k.afterMs} ms, ${k.unfinished} unfinished${k.cutOff.length ? `, cut off ${k.cutOff.join(' ')}` : ''}`),
      ].join('\n'),
    );

    expect(kills).toHaveLength(KILLS);
    expect(kills.every((k) => k.unfinished > 0)).toBe(true);
    rig.expectEveryBuildOnce(rows);
    // Each kill interrupts at most the steps in hand (the poller's concurrency, 4), so at most that many posts.
    expect(kills.every((k) => k.cutOff.length <= 4)).toBe(true);
  });

  it('a kill while Slack creates a message costs exactly that one message twice, and nothing else', async () => {
    rig = await startRig();
    const { slack, imageBuilder } = rig;
    // Short, so the targeted kills are the whole story: pending, building, then the result.
    imageBuilder.script('next', ['pending', 'building', 'success']);
    // The 1st, 3rd and 5th posts are the parent, the status reply and the result, each the first time it is sent:
    // the bot dies as Slack takes each, before the answer (and so the ts) can reach it.
    const killOn = new Set([1, 3, 5]);
    let posts = 0;
    slack.on('chat.postMessage', () => {
      posts += 1;
      if (killOn.has(posts)) rig!.bot().child.kill('SIGKILL');
      return undefined;
    });

    const bot = await rig.startBot();
    await rig.orderBuild(bot.appUrl);
    const kills: { cutOff: string[] }[] = [];
    while (kills.length < killOn.size) {
      const dying = rig.bot();
      kills.push(await rig.afterKill(dying));
    }
    const rows = await rig.allDone();

    // Every one of the three kills cut one post off; each was posted again once, and only once.
    expect(kills.map((k) => k.cutOff.length)).toEqual([1, 1, 1]);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(6);
    rig.expectEveryBuildOnce(rows);
  });
});
