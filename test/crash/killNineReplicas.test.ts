import { hostname } from 'node:os';
import { Client } from 'pg';
import { startFakeImageBuilder, type FakeImageBuilder } from '../fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { TEST_DATABASE_URL, usePostgresSchema } from '../tracking/postgresHelpers';
import {
  acceptedPosts,
  BUILD_ROW_COLUMNS,
  buildRowsFrom,
  expectEveryBuildOnce,
  orderBuild,
  seedFrom,
  shuffled,
  sleep,
  spawnBot,
  threadOf,
  unsavedPosts,
  type BuildRow,
  type OrderRoute,
  type RunningBot,
} from './crashSupport';
import { seededRandom } from '../support/seededRandom';
import { failureNotes } from '../support/failureNotes';

/*
 * Two replicas of the bot, spawned as real processes on one PostgreSQL schema behind one Slack app and one Image
 * Builder account. Builds are ordered through either; replica A is killed with SIGKILL at random moments and
 * started again, while replica B keeps running. However often A dies, every build ends with one parent showing the
 * final state, one status reply edited in place, one result reply, and one compose at Image Builder.
 *
 * The one duplicate allowed is the one the SQLite kill test allows: a kill after Slack created a message and before
 * A saved its ts makes that message be posted again (by B or by A's next run). Each run of A calls Slack with a
 * token of its own, so its posts are told from B's, which may be mid-post at the moment A dies. A post of a dead
 * run that no row holds is such a cut-off post when (1) no row held it either right after the run died (else it
 * had been saved, and something posted that message again later), and (2) it is the last post that run made in
 * its thread (the bot posts, saves, then goes on: a run that posted there again had saved the first). Any other
 * extra message fails.
 *
 * Leases: the requests A was advancing stay leased to the dead run. A restarted bot releases the leases of its
 * dead earlier runs on the same host at start; the test gives it a moment to, and ends them itself otherwise, as
 * the lease's minute (DEFAULT_LEASE_MS) would. Now and then A stays down instead (a restart backoff longer than the
 * lease): the test ends the dead run's leases while it is down, and B takes those builds over. Either way only when
 * the requests move on changes, not what is done with them. Likewise the dead run stops counting as a live replica
 * at once rather than once its heartbeat is stale.
 *
 * Reproduce a run with KILL_NINE_REPLICAS_SEED=<the seed it printed>.
 */

jest.setTimeout(150_000);

const SIGNING_SECRET = KNOWN_SECRETS.SLACK_SIGNING_SECRET;
const KILLS = 8;
const FIRST_BUILDS = 6;
/**
 * Every kill follows an order, so it lands while builds run: an order through either replica, then a random moment
 * up to KILL_AFTER_MS later; or an order through A, then while A holds a lease, within MID_STEP_MS of taking it; or
 * an order through A, then as Slack takes A's post in that build's thread, before the answer (and so the ts) can
 * reach A. Waiting for the second or third gives up after WAIT_FOR_MOMENT_MS and kills A there.
 */
const KILL_AFTER_MS = { min: 0, max: 1_200 };
const MID_STEP_MS = { min: 0, max: 30 };
const WAIT_FOR_MOMENT_MS = 1_500;
/** Builds polled this many times (every 50 ms) while building: long enough to outlast the wait for any kill. */
const BUILDING_POLLS = 30;
const KILL_MOMENTS = ['at random', 'mid-step', 'as Slack takes its post'] as const;
type KillMoment = (typeof KILL_MOMENTS)[number];
/** How many times A stays down past the end of its dead run's leases, and for how long B runs alone then. */
const STAYS_DOWN = 3;
const DOWN_MS = { min: 300, max: 1_500 };
/** How long a restarted A is given to release its dead run's leases before the test ends them. */
const TAKE_BACK_MS = 1_000;
/** Each run of A calls Slack with a token of its own, so the test tells whose every post was. */
const B_TOKEN = KNOWN_SECRETS.SLACK_BOT_TOKEN;
const aToken = (run: number) => `xoxb-kill-replica-a${run}`;

interface Replica {
  name: string;
  token: string;
  bot: RunningBot;
}

interface Kill {
  moment: KillMoment;
  staysDown: boolean;
  /** How long after the order before it A died. */
  afterMs: number;
  /** The moment waited for did not come in time. */
  gaveUp: boolean;
  /** From the kill until A's next run said it is running. */
  restartMs: number;
  /** Builds not done when A died, and those of them the dead run held a lease on. */
  unfinished: number;
  leased: number;
  /** How the dead run's leases ended: while A stayed down (so B took them over), by A's next run at start, or by the test. */
  leasesEnded: 'none held' | 'ended while A was down' | 'released by A at start' | 'ended by the test';
  /** Posts of the dead run Slack had taken when the test looked, right after it died; and those no row held then. */
  seen: string[];
  unsavedWhenSeen: string[];
}

const cleanups: Array<() => Promise<unknown>> = [];
// Declared before the schema's own afterEach, so the bots are gone before their schema is dropped.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const pg = usePostgresSchema();

/** Fakes, one schema, a connection to look at it, and the replicas spawned on it. */
async function startRig() {
  const slack: FakeSlack = await startFakeSlack();
  const imageBuilder: FakeImageBuilder = await startFakeImageBuilder({
    script: [
      'pending',
      ...Array.from({ length: BUILDING_POLLS }, () => 'building' as const),
      'uploading',
      'registering',
      'success',
    ],
  });
  cleanups.push(() => Promise.all([slack.close(), imageBuilder.close()]));
  const schema = pg.schema();
  const databaseUrl = new URL(TEST_DATABASE_URL);
  databaseUrl.searchParams.set('schema', schema);
  const db = new Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  cleanups.push(() => db.end());
  const bots: RunningBot[] = [];
  cleanups.push(async () => {
    for (const bot of bots) bot.child.kill('SIGKILL');
    await Promise.all(bots.map((bot) => bot.exited));
  });
  let orders = 0;
  /** The replica to kill as Slack takes its next post in a thread, before answering it. */
  let killOnPost: { replica: Replica; channel: string } | undefined;
  slack.on('chat.postMessage', (call) => {
    if (killOnPost && call.token === killOnPost.replica.token && call.args.channel === killOnPost.channel) {
      killOnPost.replica.bot.child.kill('SIGKILL');
      killOnPost = undefined;
    }
    return undefined;
  });

  async function startReplica(name: string, token: string): Promise<Replica> {
    const bot = await spawnBot({
      slack,
      imageBuilder,
      botToken: token,
      signingSecret: SIGNING_SECRET,
      databaseUrl: databaseUrl.toString(),
      // Budgets a few times Slack's and Image Builder's, shared by the replicas: at theirs, the last edits of a dozen
      // builds would take half a minute after the kills. Their pace is not what this test is about.
      env: { IMAGE_BUILDER_MAX_RPS: '500', SLACK_PACE_SCALE: '5' },
    });
    bots.push(bot);
    return { name, token, bot };
  }

  async function readRows(): Promise<BuildRow[]> {
    return (await db.query<BuildRow>(`SELECT ${BUILD_ROW_COLUMNS} FROM ${buildRowsFrom(schema)}`)).rows;
  }

  /** Whether `name` (a lease owner, a replica) is the process `pid` of this host: `host:pid:nonce`. */
  const isProcess = (pid: number, name: string) => {
    const prefix = `${hostname()}:${pid}:`;
    return name.startsWith(prefix) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length));
  };

  /** Ids of the requests whose lease, still running, is held by the process `pid` of this host. */
  async function leasedTo(pid: number): Promise<string[]> {
    const { rows } = await db.query<{ id: string; lease_owner: string }>(
      `SELECT id, lease_owner FROM ${schema}.build_requests WHERE lease_until > now()`,
    );
    return rows.filter((row) => isProcess(pid, row.lease_owner)).map((row) => row.id);
  }

  /**
   * What the replicas' heartbeats would do 30 s after the death, without the wait: the dead run no longer counts
   * as a live replica. Otherwise every run killed within the last 30 s counts, and B, taking its share of the
   * deployment's Slack pace and Image Builder budget, slows down as many times (how fast is not this test's matter).
   */
  async function forget(pid: number): Promise<void> {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${schema}.replicas`);
    const dead = rows.map((row) => row.id).filter((id) => isProcess(pid, id));
    await db.query(`DELETE FROM ${schema}.replicas WHERE id = ANY($1)`, [dead]);
  }

  /** What waiting out the dead process's leases would do, without the wait: they end now. */
  async function endLeasesOf(pid: number): Promise<void> {
    const ids = await leasedTo(pid);
    await db.query(
      `UPDATE ${schema}.build_requests SET lease_until = now() WHERE id = ANY($1) AND lease_until > now()`,
      [ids],
    );
  }

  /** Orders a build in a channel of its own, so each thread is told apart by where it is. */
  async function order(route: OrderRoute): Promise<void> {
    orders += 1;
    await orderBuild(slack, SIGNING_SECRET, orders, channelOf(orders), route);
  }
  const channelOf = (order: number) => `CKILLPG${order}`;

  async function allDone(): Promise<BuildRow[]> {
    await eventually(async () => (await readRows()).every((r) => r.state === 'done'), {
      timeoutMs: 90_000,
      intervalMs: 200,
      description: 'every build to finish after the last kill',
    });
    return readRows();
  }

  return {
    slack,
    imageBuilder,
    startReplica,
    readRows,
    leasedTo,
    endLeasesOf,
    forget,
    order,
    allDone,
    ordered: () => orders,
    /** Kills `replica` as Slack takes its first post in the thread of the next order, or no longer. */
    killOnPostInNextThread(replica: Replica | undefined) {
      killOnPost = replica && { replica, channel: channelOf(orders + 1) };
    },
  };
}

describe('kill -9 of one of two replicas on PostgreSQL, at random moments during a run of composes', () => {
  const notes = failureNotes();
  it(
    `ends every build with one parent, one status reply, one result and one compose, after ${KILLS} kills of one replica`,
    notes.test(async () => {
      const seed = seedFrom('KILL_NINE_REPLICAS_SEED');
      const random = seededRandom(seed);
      const between = (range: { min: number; max: number }) =>
        Math.round(range.min + random() * (range.max - range.min));
      notes.add(`kill -9 replicas test: seed ${seed} (rerun with KILL_NINE_REPLICAS_SEED=${seed})`);
      // Every moment at least twice, the rest drawn; A stays down after STAYS_DOWN of the kills. Shuffled.
      const moments: KillMoment[] = [...KILL_MOMENTS, ...KILL_MOMENTS];
      while (moments.length < KILLS) moments.push(KILL_MOMENTS[Math.floor(random() * KILL_MOMENTS.length)]!);
      const downs = shuffled(
        Array.from({ length: KILLS }, (_, i) => i < STAYS_DOWN),
        random,
      );
      const plan = shuffled(moments, random).map((moment, i) => ({ moment, staysDown: downs[i]! }));
      const started = Date.now();
      const rig = await startRig();
      const { slack, imageBuilder } = rig;

      const b = await rig.startReplica('B', B_TOKEN);
      let aRun = 1;
      let a = await rig.startReplica('A', aToken(aRun));
      // Slack's load balancer sends the command and the modal's submission to either replica, alike or not.
      const routes = (): OrderRoute[] => [
        { commandTo: a.bot.appUrl, submitTo: a.bot.appUrl },
        { commandTo: b.bot.appUrl, submitTo: b.bot.appUrl },
        { commandTo: a.bot.appUrl, submitTo: b.bot.appUrl },
        { commandTo: b.bot.appUrl, submitTo: a.bot.appUrl },
      ];
      let routed = 0;
      const orderThroughEither = () => rig.order(routes()[routed++ % 4]!);
      for (let i = 0; i < FIRST_BUILDS; i++) await orderThroughEither();

      const kills: Kill[] = [];
      while (kills.length < KILLS) {
        const dead = a;
        const { moment, staysDown } = plan[kills.length]!;
        let gaveUp = false;
        if (moment === 'at random') {
          await orderThroughEither();
        } else {
          // A's poller is woken by the order it takes, and takes it before B looks: its step submits the compose, then
          // posts the thread. (The answer to the submission is sent before that, so no kill cuts the order itself off.)
          if (moment === 'as Slack takes its post') rig.killOnPostInNextThread(dead);
          await rig.order({ commandTo: dead.bot.appUrl, submitTo: dead.bot.appUrl });
        }
        const from = Date.now();
        if (moment === 'at random') {
          await sleep(between(KILL_AFTER_MS));
        } else if (moment === 'mid-step') {
          const inStep = await eventually(async () => (await rig.leasedTo(dead.bot.pid)).length > 0, {
            timeoutMs: WAIT_FOR_MOMENT_MS,
            intervalMs: 5,
            description: 'A to take a lease',
          }).catch(() => false);
          gaveUp = !inStep;
          if (inStep) await sleep(between(MID_STEP_MS));
        } else {
          gaveUp = await Promise.race([dead.bot.exited.then(() => false), sleep(WAIT_FOR_MOMENT_MS).then(() => true)]);
          rig.killOnPostInNextThread(undefined);
        }
        const afterMs = Date.now() - from;
        dead.bot.child.kill('SIGKILL');
        await dead.bot.exited;
        // A request already on the wire when the process died is still answered by Slack: let it land.
        await sleep(50);
        const seen = acceptedPosts(slack, dead.token);
        const rows = await rig.readRows();
        const leased = await rig.leasedTo(dead.bot.pid);
        const kill: Kill = {
          moment,
          staysDown,
          afterMs,
          gaveUp,
          restartMs: 0,
          unfinished: rows.filter((r) => r.state !== 'done').length,
          leased: leased.length,
          leasesEnded: 'none held',
          seen,
          unsavedWhenSeen: unsavedPosts(slack, rows, dead.token).filter((key) => seen.includes(key)),
        };
        kills.push(kill);

        if (staysDown) {
          // Down for longer than a lease: its leases end while B runs alone, and Slack sends every order to B.
          if (leased.length > 0) kill.leasesEnded = 'ended while A was down';
          await rig.endLeasesOf(dead.bot.pid);
          // And its heartbeat goes stale, so B takes the whole budget (a restarted A forgets it at start by itself).
          await rig.forget(dead.bot.pid);
          await rig.order({ commandTo: b.bot.appUrl, submitTo: b.bot.appUrl });
          await sleep(between(DOWN_MS));
        }
        aRun += 1;
        a = await rig.startReplica('A', aToken(aRun));
        kill.restartMs = Date.now() - from - afterMs;
        if (kill.leasesEnded === 'none held' && leased.length > 0) {
          const releasedByA = await eventually(async () => (await rig.leasedTo(dead.bot.pid)).length === 0, {
            timeoutMs: TAKE_BACK_MS,
            description: "A's next run to release the dead run's leases",
          }).catch(() => false);
          if (!releasedByA) await rig.endLeasesOf(dead.bot.pid);
          kill.leasesEnded = releasedByA ? 'released by A at start' : 'ended by the test';
        }
      }
      const killsDoneAt = Date.now();
      const rows = await rig.allDone();

      // The posts of every dead run that no row holds, now that whatever was on the wire when it died has landed.
      const deadTokens = kills.map((_, i) => aToken(i + 1));
      const unsavedOfRun = deadTokens.map((token) => unsavedPosts(slack, rows, token));
      const cutOff = new Set(unsavedOfRun.flat());
      const landedLate = unsavedOfRun.flatMap((keys, i) => keys.filter((key) => !kills[i]!.seen.includes(key)));
      const posts = acceptedPosts(slack).length;
      notes.add(
        [
          `kill -9 replicas test: seed ${seed}, ${rows.length} builds, ${kills.length} kills in ${killsDoneAt - started} ms, ` +
            `all done at ${Date.now() - started} ms`,
          `kills while builds were running: ${kills.filter((k) => k.unfinished > 0).length}, ` +
            `with leases held by the dead run: ${kills.filter((k) => k.leased > 0).length}`,
          `kills between Slack's answer and the ts saved: ${unsavedOfRun.filter((keys) => keys.length > 0).length} ` +
            `(posts cut off, so posted twice: ${cutOff.size} of ${posts}, ${landedLate.length} of them landed after the kill was looked at; ` +
            `posts by B: ${acceptedPosts(slack, B_TOKEN).length})`,
          `live replicas B counted, at most: ${Math.max(1, ...[...b.bot.logs().matchAll(/"replicas":(\d+)/g)].map((m) => Number(m[1])))}`,
          ...kills.map(
            (k, i) =>
              `  kill ${i + 1}: ${k.moment}${k.gaveUp ? ' (gave up waiting)' : ''}, after ${k.afterMs} ms, ` +
              `${k.staysDown ? 'stayed down, ' : ''}` +
              `${k.unfinished} unfinished, ${k.leased} leased (${k.leasesEnded}), running again ${k.restartMs} ms later` +
              (unsavedOfRun[i]!.length ? `, cut off ${unsavedOfRun[i]!.join(' ')}` : ''),
          ),
        ].join('\n'),
      );

      expect(kills).toHaveLength(KILLS);
      expect(kills.every((k) => k.unfinished > 0)).toBe(true);
      // A post a row held when the run had just died was saved: were it not held now, something posted it again.
      for (const [i, kill] of kills.entries()) {
        expect(unsavedOfRun[i]!.filter((key) => kill.seen.includes(key))).toEqual(kill.unsavedWhenSeen);
      }
      // Each cut-off post is the last its run posted in that thread (a run that posts there again had saved it), so
      // a kill cuts off one post per thread at most.
      for (const [i, token] of deadTokens.entries()) {
        const postsOfRun = acceptedPosts(slack, token);
        for (const key of unsavedOfRun[i]!) {
          expect(postsOfRun.filter((p) => threadOf(p) === threadOf(key)).at(-1)).toBe(key);
        }
      }
      expect(rows).toHaveLength(rig.ordered());
      expectEveryBuildOnce(slack, imageBuilder, rows, cutOff);
      // A died holding builds, which then moved on elsewhere; B worked too, and kept running throughout.
      expect(kills.some((k) => k.leased > 0)).toBe(true);
      expect(acceptedPosts(slack, B_TOKEN).length).toBeGreaterThan(0);
      expect(b.bot.child.exitCode).toBeNull();
    }),
  );
});
