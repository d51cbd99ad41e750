import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeImageBuilder } from '../fakes/imageBuilderService';
import { startFakeSlack } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import {
  acceptedPosts,
  expectEveryBuildOnce,
  orderBuild,
  readSqliteBuildRows,
  seedFrom,
  sleep,
  spawnBot,
  threadOf,
  unsavedPosts,
  type BuildRow,
  type RunningBot,
} from './crashSupport';
import { seededRandom } from '../support/seededRandom';
import { failureNotes } from '../support/failureNotes';

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

const SIGNING_SECRET = KNOWN_SECRETS.SLACK_SIGNING_SECRET;
const BOT_TOKEN = KNOWN_SECRETS.SLACK_BOT_TOKEN;
const KILLS = 20;
const FIRST_BUILDS = 6;
/** When fewer builds than this are still running before a kill, more are ordered so kills keep landing mid-run. */
const KEEP_RUNNING = 2;
const MORE_BUILDS = 3;
/** A kill lands this long after the restarted bot said it is running: its first steps, or deep into them. */
const KILL_AFTER_MS = { min: 0, max: 1_200 };

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

  function startBot(): Promise<RunningBot> {
    return spawnBot({
      slack,
      imageBuilder,
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      databaseUrl: `sqlite://${databasePath}`,
      // The current bot from the moment it exists: the targeted kills may come before it says it is running.
      onSpawn: (spawned) => (bot = spawned),
    });
  }

  const readRows = () => readSqliteBuildRows(databasePath);

  /** What waiting out the dead process's leases would do, without the wait: they end now. */
  function endLeasesOf(pid: number): void {
    const db = new Database(databasePath, { fileMustExist: true });
    try {
      const now = new Date().toISOString();
      db.prepare('UPDATE build_requests SET lease_until = ? WHERE lease_owner LIKE ? AND lease_until > ?').run(
        now,
        `%:${pid}:%`,
        now,
      );
    } finally {
      db.close();
    }
  }

  /** Orders a build in a channel of its own, so each thread is told apart by where it is. */
  async function order(appUrl: string): Promise<void> {
    orders += 1;
    await orderBuild(slack, SIGNING_SECRET, orders, `CKILL${orders}`, { commandTo: appUrl, submitTo: appUrl });
  }

  /** Waits for the killed bot to be gone, notes what the kill cut off, and starts the bot again on the same file. */
  async function afterKill(killed: RunningBot): Promise<{ unfinished: number; cutOff: string[] }> {
    await killed.exited;
    // A request already on the wire when the process died is still answered by Slack: let it land.
    await sleep(50);
    const rows = readRows();
    const fresh = unsavedPosts(slack, rows).filter((key) => !cutOff.has(key));
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

  return {
    slack,
    imageBuilder,
    cutOff,
    bot: () => bot!,
    startBot,
    readRows,
    order,
    afterKill,
    allDone,
    expectEveryBuildOnce: (rows: BuildRow[]) => expectEveryBuildOnce(slack, imageBuilder, rows, cutOff),
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

  const notes = failureNotes();
  it(
    `ends every build with one parent, one status reply edited in place, one result and one compose, after ${KILLS} kills`,
    notes.test(async () => {
      const seed = seedFrom('KILL_NINE_SEED');
      const random = seededRandom(seed);
      notes.add(`kill -9 test: seed ${seed} (rerun with KILL_NINE_SEED=${seed})`);
      const started = Date.now();
      rig = await startRig();
      const { slack } = rig;

      let bot = await rig.startBot();
      for (let i = 0; i < FIRST_BUILDS; i++) await rig.order(bot.appUrl);

      const kills: { afterMs: number; unfinished: number; cutOff: string[] }[] = [];
      while (kills.length < KILLS) {
        if (rig.readRows().filter((r) => r.state !== 'done').length < KEEP_RUNNING) {
          for (let i = 0; i < MORE_BUILDS; i++) await rig.order(bot.appUrl);
        }
        const afterMs = Math.round(KILL_AFTER_MS.min + random() * (KILL_AFTER_MS.max - KILL_AFTER_MS.min));
        await sleep(afterMs);
        bot.child.kill('SIGKILL');
        kills.push({ afterMs, ...(await rig.afterKill(bot)) });
        bot = rig.bot();
      }
      const killsDoneAt = Date.now();
      const rows = await rig.allDone();

      const posts = acceptedPosts(slack).length;
      notes.add(
        [
          `kill -9 test: seed ${seed}, ${rows.length} builds, ${kills.length} kills in ${killsDoneAt - started} ms, all done at ${Date.now() - started} ms`,
          `kills while builds were running: ${kills.filter((k) => k.unfinished > 0).length}`,
          `kills between Slack's answer and the ts saved: ${kills.filter((k) => k.cutOff.length > 0).length} ` +
            `(posts cut off, so posted twice: ${rig.cutOff.size} of ${posts})`,
          ...kills.map(
            (k, i) =>
              `  kill ${i + 1}: after ${k.afterMs} ms, ${k.unfinished} unfinished${k.cutOff.length ? `, cut off ${k.cutOff.join(' ')}` : ''}`,
          ),
        ].join('\n'),
      );

      expect(kills).toHaveLength(KILLS);
      expect(kills.every((k) => k.unfinished > 0)).toBe(true);
      rig.expectEveryBuildOnce(rows);
      // A kill interrupts each step in hand at one point at most: never two posts of one thread.
      for (const kill of kills) expect(new Set(kill.cutOff.map(threadOf)).size).toBe(kill.cutOff.length);
    }),
  );

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
    await rig.order(bot.appUrl);
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
