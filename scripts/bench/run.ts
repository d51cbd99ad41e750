import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openStore } from '../../src/tracking/openStore';
import { signedPost, slashCommandBody } from '../../test/support/slackRequests';
import type { FakesMessage, FakesReady, FakesRequest, FakesStats, SeededCompose } from './protocol';

/*
 * `npm run bench`: everything on loopback, three processes (this load generator, the fakes, the bot), results
 * printed and written to docs/benchmarks.md. Options: --composes N (default 1000), --runs N (default 3),
 * --factor F (time compression of tracking, default 20), --slack-scale S (how much faster the bot's Slack pace
 * runs; 1 until the bot has a knob for it), --track-seconds N (wall time per tracking run, default 40).
 */

const ROOT = path.resolve(__dirname, '../..');
const TS = ['--require', './test/support/registerTs.cjs'];
const SIGNING_SECRET = 'bench-signing-secret';
const BOT_TOKEN = 'xoxb-bench';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const settings = {
  runs: option('runs', 3),
  ackRequests: option('ack-requests', 400),
  ackConcurrency: option('ack-concurrency', 10),
  composes: option('composes', 1000),
  factor: option('factor', 20),
  slackScale: option('slack-scale', 1),
  trackSeconds: option('track-seconds', 40),
  replicaComposes: option('replica-composes', 200),
  replicaSeconds: option('replica-seconds', 30),
};

/** The PostgreSQL the tests use (test/tracking/postgresHelpers.ts); each replica run gets a schema of its own. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Statistics

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (values: number[]) => percentile(values, 50);

/** The median of the runs' figures, and their spread. */
interface Figure {
  median: number;
  min: number;
  max: number;
}
const figure = (values: number[]): Figure => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const show = (f: Figure, digits = 1) => `${fmt(f.median, digits)} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`;

// ---------------------------------------------------------------------------------------------------------------
// Processes

class Fakes {
  private readonly waiting: ((message: FakesMessage) => void)[] = [];
  ready!: FakesReady;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FakesMessage) => this.waiting.shift()?.(message));
  }

  static async start(slackScale: number): Promise<Fakes> {
    const child = fork(path.join(__dirname, 'fakesProcess.ts'), [String(slackScale)], { cwd: ROOT, execArgv: TS });
    const fakes = new Fakes(child);
    fakes.ready = (await fakes.next()) as FakesReady;
    return fakes;
  }

  private next(): Promise<FakesMessage> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async ask<K extends FakesMessage['kind']>(request: FakesRequest): Promise<Extract<FakesMessage, { kind: K }>> {
    const answer = this.next();
    this.child.send(request);
    return (await answer) as Extract<FakesMessage, { kind: K }>;
  }

  async stop() {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ kind: 'stop' } satisfies FakesRequest);
    await Promise.race([exited, sleep(3000)]);
    this.child.kill('SIGKILL');
  }
}

interface Running {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns a Node process running a .ts file and waits for the `"port":N` its log announces. */
async function spawnServer(script: string, args: string[], env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [...TS, script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  // Keep only the tail: the bot logs every compose, and the tail is what explains a failure.
  const keep = (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  let port: string | undefined;
  while (!(port = /"port":(\d+)/.exec(logs)?.[1])) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${script} did not start; it wrote:\n${logs}`);
    await sleep(50);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(12_000)]);
      child.kill('SIGKILL');
    },
  };
}

function botEnv(fakes: FakesReady, extra: Record<string, string>): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fakes.slackUrl,
    PORT: '0',
    IMAGE_BUILDER_URL: fakes.imageBuilderUrl,
    IMAGE_BUILDER_TOKEN_URL: fakes.tokenUrl,
    IMAGE_BUILDER_OFFLINE_TOKEN: fakes.offlineToken,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Ack latency

/** Fires `count` signed `/image-builder aws` commands, `concurrency` at a time; per-request milliseconds. */
async function fireCommands(appUrl: string, fakes: FakesReady, count: number, concurrency: number): Promise<{ latencies: number[]; failures: number }> {
  const origin = new URL(fakes.slackUrl).origin;
  const latencies: number[] = [];
  let failures = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      const i = issued++;
      const body = slashCommandBody({ text: 'aws', user_id: `UBENCH${i % 50}`, channel_id: 'CBENCH', response_url: `${origin}/response-url/bench-${i}` });
      const started = performance.now();
      const answer = await signedPost(appUrl, SIGNING_SECRET, body);
      latencies.push(performance.now() - started);
      if (answer.status !== 200) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures };
}

interface AckResult {
  bot: { p50: Figure; p99: Figure };
  bare: { p50: Figure; p99: Figure };
  ratioP99: Figure;
  failures: number;
}

async function ackLatency(fakes: Fakes): Promise<AckResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-ack-'));
  const bot = await spawnServer('src/index.ts', [], botEnv(fakes.ready, { DATABASE_URL: path.join(dir, 'bot.sqlite'), LOG_LEVEL: 'info' }));
  const bare = await spawnServer('scripts/bench/bareApp.ts', [SIGNING_SECRET, BOT_TOKEN, fakes.ready.slackUrl], {});
  const runs: { bot: number[]; bare: number[] }[] = [];
  let failures = 0;
  try {
    // Warm up both (JIT, connection pools, the bot's distribution catalog) before anything is measured.
    await fireCommands(bot.url, fakes.ready, 50, settings.ackConcurrency);
    await fireCommands(bare.url, fakes.ready, 50, settings.ackConcurrency);
    for (let run = 0; run < settings.runs; run += 1) {
      await fakes.ask({ kind: 'reset' });
      // Alternate which goes first, so neither always meets a fakes process still busy with the other's modals.
      const order = run % 2 === 0 ? (['bot', 'bare'] as const) : (['bare', 'bot'] as const);
      const result = { bot: [] as number[], bare: [] as number[] };
      for (const which of order) {
        const measured = await fireCommands(which === 'bot' ? bot.url : bare.url, fakes.ready, settings.ackRequests, settings.ackConcurrency);
        result[which] = measured.latencies;
        failures += measured.failures;
        await sleep(500);
      }
      runs.push(result);
    }
  } finally {
    await Promise.all([bot.stop(), bare.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  const of = (which: 'bot' | 'bare', p: number) => figure(runs.map((r) => percentile(r[which], p)));
  return {
    bot: { p50: of('bot', 50), p99: of('bot', 99) },
    bare: { p50: of('bare', 50), p99: of('bare', 99) },
    ratioP99: figure(runs.map((r) => percentile(r.bot, 99) / percentile(r.bare, 99))),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Tracking at scale

const REAL_POLL_SECONDS = 15;
const REAL_MAX_RPS = 10;

/** Rows the bot would have written after submitting each compose: state tracking, due for a poll now. */
async function seedStore(databaseUrl: string, composes: SeededCompose[]): Promise<Record<string, string>> {
  const store = await openStore(databaseUrl, { workingDirectory: ROOT });
  const channelOf: Record<string, string> = {};
  const now = new Date();
  try {
    for (const [index, { composeId, request }] of composes.entries()) {
      // A channel per compose, so Slack calls map to their compose and each has its own per-channel post limit.
      const channel = `CB${index.toString(36).toUpperCase()}`;
      channelOf[composeId] = channel;
      const id = randomUUID();
      await store.insert({
        id,
        idempotencyKey: null,
        requesterId: `UB${index % 200}`,
        channelId: channel,
        responseUrl: null,
        provider: 'aws',
        distribution: 'rhel-9',
        architecture: 'x86_64',
        imageName: 'bench',
        shareSummary: 'AWS account 123456789012',
        composeRequest: JSON.stringify(request),
        createdAt: now,
      });
      await store.update(id, { state: 'tracking', composeId, submittedAt: now, composeCreatedAt: now, nextPollAt: now, status: 'pending' });
    }
  } finally {
    await store.close();
  }
  return channelOf;
}

async function residentBytes(botUrl: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${botUrl}/metrics`)).text();
    const value = /^process_resident_memory_bytes (\S+)/m.exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  } catch {
    return undefined;
  }
}

interface TrackingRun {
  peakRssMb: number;
  imageBuilderRps: number;
  /** Over composes whose every change reached Slack. */
  callsPerCompose: number;
  changesPerCompose: number;
  /** Of those composes, how many made more calls than changes + 2. */
  overBudget: number;
  fullySynced: number;
  finishedAtService: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  unseenChanges: number;
  totalChanges: number;
  rateLimited: number;
  chatUpdatesPerSecond: number;
}

async function trackingRun(fakes: Fakes): Promise<TrackingRun> {
  await fakes.ask({ kind: 'reset' });
  const { composes } = await fakes.ask<'seeded'>({ kind: 'seed', count: settings.composes });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-track-'));
  const databasePath = path.join(dir, 'bot.sqlite');
  const channelOf = await seedStore(databasePath, composes);
  const maxRps = Math.min(1000, REAL_MAX_RPS * settings.factor);
  const bot = await spawnServer(
    'src/index.ts',
    [],
    botEnv(fakes.ready, {
      DATABASE_URL: databasePath,
      POLL_INTERVAL_SECONDS: String(REAL_POLL_SECONDS / settings.factor),
      IMAGE_BUILDER_MAX_RPS: String(maxRps),
      // Not read by the bot today (see docs/benchmarks.md); harmless until it is.
      SLACK_PACE_SCALE: String(settings.slackScale),
      LOG_LEVEL: 'info',
    }),
  );
  let peak = 0;
  const started = Date.now();
  const stats: FakesStats = await (async () => {
    try {
      while (Date.now() - started < settings.trackSeconds * 1000) {
        const rss = await residentBytes(bot.url);
        if (rss !== undefined) peak = Math.max(peak, rss);
        await sleep(250);
      }
      return (await fakes.ask<'stats'>({ kind: 'stats', channelOf })).stats;
    } finally {
      await bot.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  })();

  const seconds = (stats.until - stats.since) / 1000;
  const synced = stats.perCompose.filter((c) => c.finished && c.unseen === 0);
  const latencies = stats.perCompose.flatMap((c) => c.latencies);
  return {
    peakRssMb: peak / 1024 / 1024,
    imageBuilderRps: stats.imageBuilderRequests / seconds,
    callsPerCompose: median(synced.map((c) => c.slackCalls)),
    changesPerCompose: median(synced.map((c) => c.changes)),
    overBudget: synced.filter((c) => c.slackCalls > c.changes + 2).length,
    fullySynced: synced.length,
    finishedAtService: stats.perCompose.filter((c) => c.finished).length,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    unseenChanges: stats.perCompose.reduce((sum, c) => sum + c.unseen, 0),
    totalChanges: stats.perCompose.reduce((sum, c) => sum + c.changes, 0),
    rateLimited: stats.slackRateLimited,
    chatUpdatesPerSecond: stats.slackCalls / seconds,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Replicas

interface ReplicaRun {
  /** Parent posts beyond one per compose, and thread replies beyond the status reply and the result. */
  duplicates: number;
  imageBuilderRps: number;
  slackCallsPerSecond: number;
  changesOnSlackPerSecond: number;
  rateLimited: number;
}

async function replicaRun(fakes: Fakes, replicas: number): Promise<ReplicaRun> {
  await fakes.ask({ kind: 'reset' });
  const { composes } = await fakes.ask<'seeded'>({ kind: 'seed', count: settings.replicaComposes });
  const schema = `ibb_bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const databaseUrl = `${POSTGRES_URL}?schema=${schema}`;
  const channelOf = await seedStore(databaseUrl, composes);
  const env = botEnv(fakes.ready, {
    DATABASE_URL: databaseUrl,
    POLL_INTERVAL_SECONDS: String(REAL_POLL_SECONDS / settings.factor),
    IMAGE_BUILDER_MAX_RPS: String(Math.min(1000, REAL_MAX_RPS * settings.factor)),
    SLACK_PACE_SCALE: String(settings.slackScale),
    LOG_LEVEL: 'info',
  });
  const bots = await Promise.all(Array.from({ length: replicas }, () => spawnServer('src/index.ts', [], env)));
  let stats: FakesStats;
  try {
    await sleep(settings.replicaSeconds * 1000);
    stats = (await fakes.ask<'stats'>({ kind: 'stats', channelOf })).stats;
  } finally {
    await Promise.all(bots.map((bot) => bot.stop()));
    const admin = new Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
  }
  const seconds = (stats.until - stats.since) / 1000;
  const seen = stats.perCompose.reduce((sum, c) => sum + c.changes - c.unseen, 0);
  return {
    duplicates: stats.perCompose.reduce((sum, c) => sum + Math.max(0, c.parentPosts - 1) + Math.max(0, c.threadPosts - 2), 0),
    imageBuilderRps: stats.imageBuilderRequests / seconds,
    slackCallsPerSecond: stats.slackCalls / seconds,
    changesOnSlackPerSecond: seen / seconds,
    rateLimited: stats.slackRateLimited,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function machine(): string {
  const cpus = os.cpus();
  return [
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- CPUs: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Node.js: ${process.version}`,
  ].join('\n');
}

const verdict = (pass: boolean) => (pass ? 'pass' : '**fail**');

function report(ack: AckResult, tracking: TrackingRun[], replicas: { one: ReplicaRun[]; two: ReplicaRun[] }, startedAt: Date, seconds: number): string {
  const t = <K extends keyof TrackingRun>(key: K) => figure(tracking.map((r) => r[key]));
  const r = <K extends keyof ReplicaRun>(runs: ReplicaRun[], key: K) => figure(runs.map((run) => run[key]));
  const budget = Math.min(1000, REAL_MAX_RPS * settings.factor);
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (scripts/bench/run.ts) on ${startedAt.toISOString()}, in ${seconds.toFixed(0)} s. Everything on loopback;`,
    'the load generator, the fakes (test/fakes: Slack and Image Builder) and the bot are separate processes.',
    `Each figure is the median of ${settings.runs} runs, with the spread (min–max) in brackets.`,
    '',
    '## Machine',
    '',
    machine(),
    '',
    '## 1. Ack latency',
    '',
    `${settings.ackRequests} signed \`/image-builder aws\` commands per run at a concurrency of ${settings.ackConcurrency}, against the bot`,
    '(HTTP mode, SQLite) and against a bare Bolt app (scripts/bench/bareApp.ts) that only acks and opens a one-field modal,',
    'both answering to the same fake Slack, alternately within each run. Latency is from sending the request to its HTTP answer (the ack).',
    '',
    '| | bot | bare Bolt | ratio (bot / bare) | target | result |',
    '|---|---|---|---|---|---|',
    `| p50 (ms) | ${show(ack.bot.p50)} | ${show(ack.bare.p50)} | ${fmt(ack.bot.p50.median / ack.bare.p50.median, 2)} | | |`,
    `| p99 (ms) | ${show(ack.bot.p99)} | ${show(ack.bare.p99)} | ${show(ack.ratioP99, 2)} | ≤ 1.15 | ${verdict(ack.ratioP99.median <= 1.15)} |`,
    '',
    `Non-200 answers: ${ack.failures}.`,
    '',
    '## 2. Tracking at scale',
    '',
    `${settings.composes} composes already submitted (rows seeded in the bot's SQLite store as \`tracking\`, the same compose ids`,
    'known to the fake Image Builder), each moving pending → building (4 progress steps) → uploading → registering → success,',
    `one step per poll. Time is compressed by a factor of **${settings.factor}**: POLL_INTERVAL_SECONDS = ${REAL_POLL_SECONDS}/${settings.factor},`,
    `IMAGE_BUILDER_MAX_RPS = ${REAL_MAX_RPS} × ${settings.factor} = ${budget}. Each run lasts ${settings.trackSeconds} s of wall time`,
    `(${fmt((settings.trackSeconds * settings.factor) / 60, 0)} min at real pace).`,
    '',
    `**Slack throttles are compressed by ${settings.slackScale}, not by ${settings.factor}.** The bot's pace (1.1 s per channel for posts,`,
    '1.25 s between chat.update calls workspace-wide, DEFAULT_SLACK_PACE in src/slack/threadProjection.ts) has no setting, so',
    `the fake Slack enforces the real tiers × ${settings.slackScale} (chat.postMessage 1/s per channel, chat.update 50/min) and answers 429`,
    'beyond them. Slack-side figures are therefore at real Slack pace against a compressed service: they show how far Slack lags, not',
    'what a scaled run would show. Latencies are wall-clock ms of this run.',
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    `| peak RSS of the bot (MB) | ${show(t('peakRssMb'))} | < 200 | ${verdict(t('peakRssMb').median < 200)} |`,
    `| Image Builder requests per second | ${show(t('imageBuilderRps'))} | ≤ ${budget} (budget) | ${verdict(t('imageBuilderRps').median <= budget * 1.05)} |`,
    `| composes finished at the service | ${show(t('finishedAtService'), 0)} of ${settings.composes} | | |`,
    `| composes with every change on Slack | ${show(t('fullySynced'), 0)} of ${settings.composes} | | |`,
    `| Slack calls per compose (fully synced ones) | ${show(t('callsPerCompose'))} vs ${show(t('changesPerCompose'))} visible changes | ≤ changes + 2 | ${t('fullySynced').max === 0 ? 'not measured: no compose fully synced' : `${verdict(t('overBudget').max === 0)} (${show(t('overBudget'), 0)} over)`} |`,
    `| change-to-Slack latency p50 (ms) | ${show(t('latencyP50Ms'), 0)} | | |`,
    `| change-to-Slack latency p99 (ms) | ${show(t('latencyP99Ms'), 0)} | | |`,
    `| changes not yet on Slack at the end | ${show(t('unseenChanges'), 0)} of ${show(t('totalChanges'), 0)} | | |`,
    `| Slack calls per second (all methods) | ${show(t('chatUpdatesPerSecond'), 2)} | | |`,
    `| Slack 429s | ${show(t('rateLimited'), 0)} | 0 | ${verdict(t('rateLimited').max === 0)} |`,
    '',
    'Change-to-Slack latency: from the poll at which the fake first answered a new status to the next successful chat.postMessage',
    'or chat.update in that compose\'s channel (changes with no later call are counted as "not yet on Slack", not in the latency).',
    'RSS is the bot\'s process_resident_memory_bytes from /metrics, sampled every 250 ms.',
    '',
    '## 3. Replicas',
    '',
    `${settings.replicaComposes} composes seeded as above in a fresh PostgreSQL schema (127.0.0.1:5432) per run; two bots on it for`,
    `${settings.replicaSeconds} s, side by side with one bot on the same setup (same factor, same Slack pace). Duplicates: parent posts`,
    'beyond one per compose plus thread replies beyond two (status and result), counted at the fake Slack.',
    '',
    '| figure | one replica | two replicas | target | result |',
    '|---|---|---|---|---|',
    `| duplicates | ${show(r(replicas.one, 'duplicates'), 0)} | ${show(r(replicas.two, 'duplicates'), 0)} | 0 | ${verdict(r(replicas.two, 'duplicates').max === 0)} |`,
    `| Image Builder requests per second | ${show(r(replicas.one, 'imageBuilderRps'), 2)} | ${show(r(replicas.two, 'imageBuilderRps'), 2)} | | |`,
    `| status changes reaching Slack per second | ${show(r(replicas.one, 'changesOnSlackPerSecond'), 2)} | ${show(r(replicas.two, 'changesOnSlackPerSecond'), 2)} | | |`,
    `| Slack calls per second | ${show(r(replicas.one, 'slackCallsPerSecond'), 2)} | ${show(r(replicas.two, 'slackCallsPerSecond'), 2)} | | |`,
    `| Slack 429s | ${show(r(replicas.one, 'rateLimited'), 0)} | ${show(r(replicas.two, 'rateLimited'), 0)} | 0 | ${verdict(r(replicas.two, 'rateLimited').max === 0)} |`,
    '',
    '## Not measured, and why',
    '',
    `- Tracking at 10,000 composes: the default is ${settings.composes}; \`--composes 10000\` runs it, but with the Slack pace fixed at`,
    '  real time almost none of the 10,000 threads get past their first post in a short run, so the Slack figures say little.',
    '- Slack throttles compressed with the rest: needs a setting for the bot\'s Slack pace (see above); then run with',
    `  \`--slack-scale ${settings.factor}\`.`,
    '',
  ];
  return lines.join('\n');
}

async function main() {
  const startedAt = new Date();
  console.log(`bench: ${JSON.stringify(settings)}`);
  const fakes = await Fakes.start(settings.slackScale);
  try {
    console.log('1. ack latency…');
    const ack = await ackLatency(fakes);
    console.log('2. tracking at scale…');
    const tracking: TrackingRun[] = [];
    for (let run = 0; run < settings.runs; run += 1) {
      tracking.push(await trackingRun(fakes));
      console.log(`   run ${run + 1}: ${JSON.stringify(tracking.at(-1))}`);
    }
    console.log('3. replicas…');
    const replicas = { one: [] as ReplicaRun[], two: [] as ReplicaRun[] };
    for (let run = 0; run < settings.runs; run += 1) {
      replicas.one.push(await replicaRun(fakes, 1));
      replicas.two.push(await replicaRun(fakes, 2));
      console.log(`   run ${run + 1}: one ${JSON.stringify(replicas.one.at(-1))} two ${JSON.stringify(replicas.two.at(-1))}`);
    }
    const text = report(ack, tracking, replicas, startedAt, (Date.now() - startedAt.getTime()) / 1000);
    mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), text);
    console.log(`\n${text}`);
  } finally {
    await fakes.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
