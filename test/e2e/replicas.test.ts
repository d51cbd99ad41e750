import { tmpdir } from 'node:os';
import { setTimeout as pause } from 'node:timers/promises';
import { Agent, type Dispatcher } from 'undici';
import { createApp, type BotApp } from '../../src/app';
import type { Clock } from '../../src/platform/clock';
import { parseBotConfig } from '../../src/config/config';
import { imageBuilderFromConfig } from '../../src/imageBuilder/fromConfig';
import { createLogger } from '../../src/platform/logger';
import { createMetrics, type Metrics } from '../../src/platform/metrics';
import { OPEN_POLICY, parsePolicy } from '../../src/policy';
import { openStore } from '../../src/store/openStore';
import { DEFAULT_LEASE_MS } from '../../src/tracking/poller';
import type { BuildRequest, Store } from '../../src/store/store';
import { blocksText } from '../../src/demo/fakes/blockKit';
import {
  defaultScript,
  startFakeImageBuilder,
  type ComposeStep,
  type FakeImageBuilder,
  type FakeImageBuilderOptions,
} from '../fakes/imageBuilderService';
import { startFakeSlack, type FakeSlack, type FakeSlackMessage } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import {
  blockActionsBody,
  signedPost,
  slashCommandBody,
  submitModalBody,
  type AppAnswer,
  type SlackRequestBody,
} from '../support/slackRequests';
import { adminQuery, TEST_DATABASE_URL, usePostgresSchema } from '../tracking/postgresHelpers';
import { KNOWN_SECRETS } from '../support/knownSecrets';

/*
 * Two replicas of the bot on one PostgreSQL database, behind one Slack app and one Image Builder account, as a
 * deployment with replicas runs them: Slack delivers each command and each modal submission to whichever replica
 * the load balancer picks, and both poll the same table. A user must see every build followed to its end, in one
 * thread, with every message posted once — also when a replica dies while it holds builds.
 */

const SIGNING_SECRET = KNOWN_SECRETS.SLACK_SIGNING_SECRET;
const POLL_INTERVAL_SECONDS = 0.05;
/** What createApp leases for at this poll interval: the 60-second floor. */
const LEASE_MS = Math.max(DEFAULT_LEASE_MS, 4 * POLL_INTERVAL_SECONDS * 1000);
/** Nowhere on loopback (nothing listens on port 1): where a dead replica's held requests are finally sent. */
const UNREACHABLE_ORIGIN = 'http://127.0.0.1:1';

/** The replicas' clock: real time, which a test may move forward at once (as if a minute had passed). */
function skippableClock(): Clock & { skip(ms: number): void } {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    skip(ms) {
      offsetMs += ms;
    },
  };
}

/**
 * A store that can freeze: once frozen every call waits, as in a process that stopped dead, until `bury` makes
 * the waiting calls (and every later one) fail. Records the lease owner the poller claims under.
 */
function freezableStore(store: Store) {
  let state: 'running' | 'frozen' | 'dead' = 'running';
  const waiting: Array<(error: Error) => void> = [];
  let leaseOwner: string | undefined;
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === 'close') return method.bind(target);
      return (...args: unknown[]) => {
        if (property === 'claimDue') leaseOwner = String(args[0]);
        if (state === 'running') return method.apply(target, args);
        if (state === 'frozen') return new Promise((_, reject) => waiting.push(reject));
        return Promise.reject(new Error('this replica is gone'));
      };
    },
  });
  return {
    store: wrapped,
    leaseOwner: () => leaseOwner,
    freeze() {
      state = 'frozen';
    },
    bury() {
      state = 'dead';
      for (const fail of waiting.splice(0)) fail(new Error('this replica is gone'));
    },
  };
}

/**
 * Outbound HTTP (Slack and Image Builder) that can go dark: requests made after `goDark` are held unsent, as a
 * frozen process holds them, until `bury` sends them (and every later one) where nothing answers.
 */
function switchableNetwork() {
  const agent = new Agent();
  let state: 'up' | 'dark' | 'dead' = 'up';
  const held: Array<() => void> = [];
  const dispatcher: Dispatcher = agent.compose((dispatch) => (options, handler) => {
    if (state === 'up') return dispatch(options, handler);
    const sendNowhere = () => dispatch({ ...options, origin: UNREACHABLE_ORIGIN }, handler);
    if (state === 'dead') return sendNowhere();
    held.push(sendNowhere);
    return true;
  });
  return {
    dispatcher,
    heldRequests: () => held.length,
    goDark() {
      state = 'dark';
    },
    bury() {
      state = 'dead';
      for (const send of held.splice(0)) send();
    },
    close: () => agent.close(),
  };
}

interface Replica {
  name: string;
  /** The bot token it calls Slack with: tells its Slack calls from the other replica's. */
  token: string;
  url: string;
  /** Its own connection to the database, not frozen with it. */
  store: Store;
  logLines: string[];
  /** The name this replica's poller takes leases under (known once it has looked for work). */
  leaseOwner(): string | undefined;
  /** Slack and Image Builder calls it made since going dark, waiting unsent. */
  heldRequests(): number;
  /** Stops talking to Slack and Image Builder, mid-step, without a word: the calls it makes from now on wait. */
  goDark(): void;
  /** Stops talking to the database as well: it renews no lease and claims nothing more. */
  freezeStore(): void;
  stop(): Promise<void>;
}

interface World {
  slack: FakeSlack;
  imageBuilder: FakeImageBuilder;
  clock: ReturnType<typeof skippableClock>;
  schema: string;
}

const cleanups: Array<() => Promise<unknown>> = [];
// Declared before the schema's own afterEach, so the replicas are stopped before their schema is dropped.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const pg = usePostgresSchema();

async function startWorld(options: { imageBuilder?: FakeImageBuilderOptions } = {}): Promise<World> {
  const slack = await startFakeSlack();
  const imageBuilder = await startFakeImageBuilder(options.imageBuilder);
  cleanups.push(() => Promise.all([slack.close(), imageBuilder.close()]));
  return { slack, imageBuilder, clock: skippableClock(), schema: pg.schema() };
}

async function startReplica(world: World, name: string, options: { policy?: string } = {}): Promise<Replica> {
  const token = `${KNOWN_SECRETS.SLACK_BOT_TOKEN}-replica-${name}`;
  const databaseUrl = new URL(TEST_DATABASE_URL);
  databaseUrl.searchParams.set('schema', world.schema);
  const config = parseBotConfig({
    SLACK_BOT_TOKEN: token,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.slack.url,
    SLACK_RESPONSE_URL_PREFIXES: world.slack.responseUrlPrefix,
    PORT: '0',
    HEALTH_PORT: '0',
    DATABASE_URL: databaseUrl.toString(),
    POLL_INTERVAL_SECONDS: String(POLL_INTERVAL_SECONDS),
    LOG_LEVEL: 'info',
    IMAGE_BUILDER_URL: world.imageBuilder.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: world.imageBuilder.tokenUrl,
    IMAGE_BUILDER_CLIENT_ID: world.imageBuilder.credentials.clientId,
    IMAGE_BUILDER_CLIENT_SECRET: world.imageBuilder.credentials.clientSecret,
    // The default 10 a second would pace a dozen builds polled every 50 ms; the fake has no limit.
    IMAGE_BUILDER_MAX_RPS: '500',
    POLICY_FILE: 'open',
  });
  const logLines: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    secrets: config.secrets,
    destination: { write: (line) => logLines.push(line) },
  });
  const network = switchableNetwork();
  const store = await openStore(config.databaseUrl, { workingDirectory: tmpdir() });
  const frozen = freezableStore(store);
  const metrics: Metrics = createMetrics({ defaultMetrics: false });
  const app: BotApp = createApp({
    config,
    logger,
    imageBuilder: imageBuilderFromConfig(config, {
      dispatcher: network.dispatcher,
      logger: logger.child({ component: 'image-builder' }),
      onCall: (call) => metrics.imageBuilderCall(call.operation, call.outcome, call.durationMs),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    }),
    store: frozen.store,
    policy: options.policy ? parsePolicy(options.policy, 'policy.yaml') : OPEN_POLICY,
    clock: world.clock,
    outbound: network.dispatcher,
    metrics,
    slackRetryConfig: { retries: 0 },
    slackPace: { postPerChannelMs: 0, updateMs: 0 },
  });
  const { port } = await app.start();
  let dying = false;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    if (dying) {
      // A frozen replica's steps never end by themselves: failing what they wait on lets it stop.
      frozen.bury();
      network.bury();
    }
    stopped ??= app
      .stop()
      .then(() => store.close())
      .then(() => network.close());
    return stopped;
  };
  cleanups.push(stop);
  return {
    name,
    token,
    url: `http://127.0.0.1:${port}`,
    store,
    logLines,
    leaseOwner: frozen.leaseOwner,
    heldRequests: network.heldRequests,
    goDark() {
      dying = true;
      network.goDark();
    },
    freezeStore() {
      dying = true;
      frozen.freeze();
    },
    stop,
  };
}

interface Order {
  cloud: 'aws' | 'gcp';
  channel: string;
  user: string;
  fills: Record<string, string>;
  /** The replica Slack delivers the slash command to, and the one it delivers the modal submission to. */
  commandTo: Replica;
  submitTo: Replica;
}

/** `count` orders, AWS and GCP in turn, over three channels and two users, alternating the replicas Slack picks. */
function orders(count: number, a: Replica, b: Replica): Order[] {
  const routes: Array<[Replica, Replica]> = [
    [a, a],
    [b, b],
    [a, b],
    [b, a],
  ];
  return Array.from({ length: count }, (_, i): Order => {
    const [commandTo, submitTo] = routes[i % routes.length]!;
    const cloud = i % 2 === 0 ? 'aws' : 'gcp';
    return {
      cloud,
      channel: `C${(i % 3) + 1}`,
      user: `U${(i % 2) + 1}`,
      fills:
        cloud === 'aws'
          ? { distribution: 'rhel-9', share_with_accounts: String(100000000000 + i) }
          : { distribution: 'rhel-10', share_with: `user:dev${i}@example.com` },
      commandTo,
      submitTo,
    };
  });
}

const post = (replica: Replica, body: SlackRequestBody): Promise<AppAnswer> =>
  signedPost(replica.url, SIGNING_SECRET, body);

/** Types `/image-builder <cloud>` and submits the modal that opens, as a person would. */
async function placeOrder(world: World, order: Order, index: number) {
  const opened = world.slack.views().length;
  const ack = await post(
    order.commandTo,
    slashCommandBody({
      text: order.cloud,
      channel_id: order.channel,
      user_id: order.user,
      response_url: world.slack.responseUrl(`order-${index}`),
    }),
  );
  expect(ack.status).toBe(200);
  const modal = await world.slack.waitFor(() => world.slack.views()[opened], {
    description: `the modal of order ${index}`,
  });
  const submitted = await post(order.submitTo, submitModalBody(modal, order.user, order.fills));
  expect(submitted.status).toBe(200);
  expect(submitted.text).toBe('');
}

async function everyBuild(replica: Replica): Promise<BuildRequest[]> {
  return replica.store.listNewest({ limit: 100 });
}

async function waitUntilAllDone(replica: Replica, count: number, timeoutMs = 15_000): Promise<BuildRequest[]> {
  return eventually(
    async () => {
      const rows = await everyBuild(replica);
      return rows.length === count && rows.every((row) => row.state === 'done') ? rows : undefined;
    },
    { timeoutMs, description: `all ${count} builds to be done` },
  );
}

function successfulPosts(slack: FakeSlack) {
  return slack.callsTo('chat.postMessage').filter((call) => (call.response.body as { ok?: boolean }).ok === true);
}

/** A build's thread as its requester sees it: the parent message in the channel and every reply under it. */
function threadOf(slack: FakeSlack, row: BuildRequest) {
  const messages = slack.messages(row.threadChannelId!);
  return {
    parents: messages.filter((m) => m.ts === row.parentTs),
    replies: messages.filter((m) => m.thread_ts === row.parentTs && m.ts !== row.parentTs),
  };
}

const isParent = (m: FakeSlackMessage) => !m.thread_ts || m.thread_ts === m.ts;

/** What a user must see once every build is over: each in one thread of three messages, each posted once. */
function expectEveryBuildFollowedOnce(world: World, rows: BuildRequest[], channels: string[]) {
  const { slack, imageBuilder } = world;
  for (const row of rows) {
    const { parents, replies } = threadOf(slack, row);
    expect(parents).toHaveLength(1);
    expect(replies.map((m) => m.ts)).toEqual([row.statusTs, row.resultTs]);
    expect(blocksText(replies[1]!.blocks)).toContain(`<@${row.requesterId}> your image is ready`);
  }
  // Nothing posted outside those threads, and nothing posted twice: three messages per build, no more.
  expect(channels.flatMap((channel) => slack.messages(channel).filter(isParent))).toHaveLength(rows.length);
  expect(successfulPosts(slack)).toHaveLength(3 * rows.length);
  expect(slack.problems).toEqual([]);

  // One compose per build, never submitted twice.
  const submissions = imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
  expect(submissions).toHaveLength(rows.length);
  for (const row of rows) {
    const forRow = submissions.filter((r) =>
      String((r.body as { image_description?: string }).image_description).includes(row.id),
    );
    expect(forRow).toHaveLength(1);
  }
  expect(new Set(rows.map((row) => row.composeId)).size).toBe(rows.length);
}

const errorsIn = (lines: string[]) =>
  lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((l) => l.level >= 50);

describe('two replicas on one PostgreSQL database', () => {
  it('follow a run of builds ordered through either of them, posting every message once and leaving none behind', async () => {
    const world = await startWorld();
    const [a, b] = await Promise.all([startReplica(world, 'a'), startReplica(world, 'b')]);
    const run = orders(12, a, b);
    for (const [i, order] of run.entries()) await placeOrder(world, order, i);

    await waitUntilAllDone(b, run.length);
    // Both replicas keep polling for a while: anything posted late or twice would show now.
    await pause(20 * POLL_INTERVAL_SECONDS * 1000);
    const rows = await everyBuild(a);

    expect(rows.map((row) => row.state)).toEqual(run.map(() => 'done'));
    expect(rows.map((row) => row.status)).toEqual(run.map(() => 'success'));
    expect(rows.map((row) => row.provider).sort()).toEqual(run.map((order) => order.cloud).sort());
    expectEveryBuildFollowedOnce(world, rows, ['C1', 'C2', 'C3']);
    // The work was shared: both replicas posted to Slack.
    const posters = new Set(successfulPosts(world.slack).map((call) => call.token));
    expect(posters).toEqual(new Set([a.token, b.token]));
    expect([...errorsIn(a.logLines), ...errorsIn(b.logLines)]).toEqual([]);
  });

  it('hand the builds of a replica that died mid-build to the other once its leases end', async () => {
    // Every compose builds until the death is staged, however long placing the orders takes on a busy machine;
    // then each follows the usual script to its end.
    const stillBuilding = Array.from({ length: 10_000 }, (): ComposeStep => ({ status: 'building' }));
    const world = await startWorld({ imageBuilder: { script: ['pending', ...stillBuilding] } });
    const [a, b] = await Promise.all([startReplica(world, 'a'), startReplica(world, 'b')]);
    const run = orders(8, a, b);
    for (const [i, order] of run.entries()) await placeOrder(world, order, i);
    // Every build submitted and shown in its thread: from here on they are being followed.
    await eventually(
      async () => (await everyBuild(b)).filter((row) => row.statusTs && row.state === 'tracking').length === run.length,
      {
        timeoutMs: 10_000,
        description: 'every build to be followed',
      },
    );

    // A dies mid-step: its calls to Slack and Image Builder go unanswered, then its database too. Going dark
    // first lets a step that already had Slack's answer save the message's ts, so the test does not depend on
    // where the death lands (a message posted but not saved is the one duplicate leases cannot rule out).
    const ownerA = a.leaseOwner()!;
    const leasedBy = async (owner: string) =>
      (
        await adminQuery<{ id: string }>(
          `SELECT id FROM ${world.schema}.build_requests WHERE lease_owner = $1 AND state <> 'done' ORDER BY id`,
          [owner],
        )
      ).map((row) => row.id);
    a.goDark();
    // Stuck in a step means holding a lease while a call waits: a held call alone may be an edit sent after its step.
    await eventually(async () => a.heldRequests() > 0 && (await leasedBy(ownerA)).length > 0, {
      description: 'replica A to be stuck in a step',
    });
    await pause(250);
    a.freezeStore();
    const stranded = await leasedBy(ownerA);
    expect(stranded.length).toBeGreaterThan(0);
    for (const id of world.imageBuilder.composes.keys()) world.imageBuilder.script(id, defaultScript());

    // B finishes everything else, and leaves A's builds alone while A's leases last.
    await eventually(
      async () => (await everyBuild(b)).filter((row) => row.state === 'done').length === run.length - stranded.length,
      { timeoutMs: 10_000, description: 'replica B to finish the builds A did not hold' },
    );
    await pause(20 * POLL_INTERVAL_SECONDS * 1000);
    expect(await leasedBy(ownerA)).toEqual(stranded);
    for (const row of (await everyBuild(b)).filter((r) => stranded.includes(r.id))) {
      expect(row.state).toBe('tracking');
      expect(threadOf(world.slack, row).replies).toHaveLength(1);
    }

    // A minute later A's leases have ended without renewal: B takes its builds over and finishes them.
    world.clock.skip(LEASE_MS + 1000);
    const rows = await waitUntilAllDone(b, run.length);
    await pause(20 * POLL_INTERVAL_SECONDS * 1000);

    expectEveryBuildFollowedOnce(world, await everyBuild(b), ['C1', 'C2', 'C3']);
    expect(await leasedBy(ownerA)).toEqual([]);
    // The result of each stranded build came from B.
    const resultTsOfStranded = rows.filter((row) => stranded.includes(row.id)).map((row) => row.resultTs);
    const resultPosters = successfulPosts(world.slack)
      .filter((call) => resultTsOfStranded.includes((call.response.body as { ts?: string }).ts ?? ''))
      .map((call) => call.token);
    expect(resultPosters).toEqual(stranded.map(() => b.token));
    expect(errorsIn(b.logLines)).toEqual([]);
  });
});

describe('per-user limits on PostgreSQL', () => {
  const ONE_AT_A_TIME = 'limits:\n  in_flight_per_user: 1\n';

  /**
   * One user opens `count` forms, each through the next replica, then submits them all at once (a double click,
   * several tabs, a script), each to another replica than the one that opened it.
   */
  async function submitAtOnce(world: World, replicas: Replica[], count: number): Promise<AppAnswer[]> {
    const forms = [];
    for (let i = 0; i < count; i += 1) {
      const opened = world.slack.views().length;
      const command = slashCommandBody({
        text: 'aws',
        channel_id: 'C1',
        user_id: 'U1',
        response_url: world.slack.responseUrl(`limit-${i}`),
      });
      expect((await post(replicas[i % replicas.length]!, command)).status).toBe(200);
      forms.push(await world.slack.waitFor(() => world.slack.views()[opened], { description: `form ${i}` }));
    }
    return Promise.all(
      forms.map((form, i) =>
        post(
          replicas[(i + 1) % replicas.length]!,
          submitModalBody(form, 'U1', { distribution: 'rhel-9', share_with_accounts: String(100000000000 + i) }),
        ),
      ),
    );
  }

  it.each([1, 2])(
    'store one of 20 forms submitted at once with in_flight_per_user 1 (%i replicas), and show the others the limit',
    async (count) => {
      // The build never finishes, so the one stored stays in flight for the whole test.
      const world = await startWorld({ imageBuilder: { script: ['building'] } });
      const replicas = await Promise.all(
        ['a', 'b'].slice(0, count).map((name) => startReplica(world, name, { policy: ONE_AT_A_TIME })),
      );

      const answers = await submitAtOnce(world, replicas, 20);

      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
      expect(answers.filter((answer) => answer.text === '')).toHaveLength(1);
      const limitError = {
        response_action: 'errors',
        errors: { distribution: expect.stringContaining('limits.in_flight_per_user') },
      };
      expect(answers.filter((answer) => answer.text !== '').map((answer) => answer.json)).toEqual(
        Array.from({ length: 19 }, () => limitError),
      );
      expect(await everyBuild(replicas[0]!)).toHaveLength(1);
      const refusals = (await replicas[0]!.store.listAudit(new Date(0))).filter((event) => event.kind === 'refused');
      expect(refusals).toHaveLength(19);
    },
  );
});

describe('approvals on PostgreSQL, with two replicas', () => {
  const APPROVER = 'U0APPROVE';
  const SECOND_APPROVER = 'U0SECOND2';
  const APPROVALS = 'C0APPROVE';
  const HELD = `
approvals:
  approvers:
    users: [${APPROVER}, ${SECOND_APPROVER}]
  channel: ${APPROVALS}
  required_in: [C0BUILDS1]
  expire_after_hours: 1
`;

  async function heldRequest(world: World, a: Replica, b: Replica) {
    const order = { cloud: 'aws' as const, channel: 'C0BUILDS1', user: 'U0ALICE01', commandTo: a, submitTo: b };
    await placeOrder(world, { ...order, fills: { distribution: 'rhel-9', share_with_accounts: '123456789012' } }, 0);
    const request = await eventually(async () => (await a.store.listAwaitingApproval(10))[0], {
      description: 'the request waiting for approval',
    });
    const message = world.slack.messages(APPROVALS).find((m) => /approve_request/.test(JSON.stringify(m.blocks)))!;
    return { request, message: structuredClone(message) };
  }

  const approvalPosts = (world: World) => successfulPosts(world.slack).filter((c) => c.args.channel === APPROVALS);
  const composePosts = (world: World) =>
    world.imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));

  it('build once when two approvers approve on both replicas at once, with one approval recorded', async () => {
    const world = await startWorld({ imageBuilder: { script: ['pending', 'success'] } });
    const [a, b] = await Promise.all([
      startReplica(world, 'a', { policy: HELD }),
      startReplica(world, 'b', { policy: HELD }),
    ]);
    const { request, message } = await heldRequest(world, a, b);
    const press = (replica: Replica, user: string, i: number) =>
      post(
        replica,
        blockActionsBody({
          user,
          actionId: 'approve_request',
          source: { message: { ...message, channel: APPROVALS }, responseUrl: world.slack.responseUrl(`press-${i}`) },
        }),
      );

    const answers = await Promise.all([
      press(a, APPROVER, 1),
      press(b, SECOND_APPROVER, 2),
      press(b, APPROVER, 3),
      press(a, SECOND_APPROVER, 4),
    ]);

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const [done] = await waitUntilAllDone(a, 1);
    expect(done!.id).toBe(request.id);
    expect(composePosts(world)).toHaveLength(1);
    expect(approvalPosts(world)).toHaveLength(1);
    const approvals = (await a.store.listAudit(new Date(0))).filter((event) => event.kind === 'approved');
    expect(approvals).toHaveLength(1);
    expect(approvals[0]!.actorId).toBe(done!.decidedBy);
    const thread = threadOf(world.slack, done!);
    expect(thread.parents).toHaveLength(1);
  });

  it('drop an undecided request once, both replicas watching the clock', async () => {
    const world = await startWorld({ imageBuilder: { script: ['pending', 'success'] } });
    const [a, b] = await Promise.all([
      startReplica(world, 'a', { policy: HELD }),
      startReplica(world, 'b', { policy: HELD }),
    ]);
    const { request } = await heldRequest(world, a, b);

    world.clock.skip(60 * 60 * 1000 + 1);

    await eventually(async () => (await a.store.get(request.id))!.state === 'rejected', {
      timeoutMs: 10_000,
      description: 'the request dropped',
    });
    const expired = (await a.store.listAudit(new Date(0))).filter((event) => event.kind === 'approval-expired');
    expect(expired).toHaveLength(1);
    expect(composePosts(world)).toHaveLength(0);
    const row = (await a.store.get(request.id))!;
    const told = threadOf(world.slack, row).replies.filter((m) => /nobody approved/.test(blocksText(m.blocks)));
    expect(told).toHaveLength(1);
  });
});
