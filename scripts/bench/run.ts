import { fork, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transformSync } from '@swc/core';
import { bundle } from '../bundle.cjs';
import { Client } from 'pg';
import { openStore } from '../../src/store/openStore';
import { signedPost, slashCommandBody } from '../../test/support/slackRequests';
import { REAL_COMPOSE_MINUTES } from './fakesProcess';
import { imageNodeOptions, imageProcessEnv } from './imageRuntime';
import { deploymentMemoryLimit, quantityBytes, spawnWithinMemory, type LimitedChild } from './memoryLimit';
import { startupPhase, startupSection, type StartupResult } from './startup';
import {
  ACK_P99_RATIO_TARGET,
  digitsAgainst,
  headlineSection,
  meetsAckTarget,
  readRecorded,
  recordedComment,
  recordedNow,
  type HeadlineFigures,
} from './headline';
import { submissionPhase, submissionSection, SCRIPT, type SubmissionRun } from './submission';
import type {
  FakesMessage,
  FakesProgress,
  FakesReady,
  FakesRequest,
  FakesSettings,
  FakesStats,
  SeededCompose,
} from './protocol';

/*
 * `npm run bench`: everything on loopback, the load generator (this process), the fakes and the bot(s) each in
 * processes of their own (the bot compiled, as production runs it); results printed and written to
 * docs/benchmarks.md. Tracking runs compress time by one factor for everything: the fake Image Builder's compose
 * clocks, the bot's poll interval, request budget and Slack pace (SLACK_PACE_SCALE), and the fake Slack's tiers.
 *
 * Options:
 *   --runs N              runs per figure (default 3); each figure is their median, with the spread
 *   --ack-runs N          runs of the ack phase (default 7): one takes some ten seconds, and its p99 ratio moves by
 *                         ±0.2 from run to run on a shared 2-core machine, more than the margin it is judged by
 *   --phases LIST         any of ack,tracking,freshness,replicas,startup,submission (default all six)
 *   --out FILE            where the report goes (default docs/benchmarks.md)
 *   --ack-requests N      commands per ack run (default 2000: its p99 is then the 20th slowest answer, not the few
 *                         that wait out one garbage collection), --ack-concurrency N (default 10)
 *   --composes N          composes in flight in a tracking run (default 1000)
 *   --factor F            time compression of tracking (default 100, at most 100: see `report`)
 *   --slack-scale S       how much faster than Slack's tiers the bot paces and the fake Slack allows (default F)
 *   --track-seconds N     the longest a tracking run may last, wall time (default: enough for 8 edits per compose
 *                         at the compressed Tier 3 rate, plus 30 s); a run ends as soon as every thread is final
 *   --replica-composes N  composes in a replica run (default 200), --replica-seconds N its longest (default 60)
 *   --startup-runs N      starts of the bot in the startup phase (default 10)
 *   --seed N              draws the composes' timelines (default 1; run k uses seed + k)
 *   --fresh-composes N    composes in flight in a freshness run (default 50), --fresh-factor F its compression
 *                         (default 20: little enough that the bot's own milliseconds barely count in scaled time)
 *   --memory-limit Q      the memory each bot runs within, as a Kubernetes quantity (default: the Deployment's
 *                         limit for the bot's container, deploy/base/deployment.yaml; see memoryLimit.ts)
 */

const ROOT = path.resolve(__dirname, '../..');
const TS = ['--require', './test/support/registerTs.cjs'];
const SIGNING_SECRET = 'bench-signing-secret';
const BOT_TOKEN = 'xoxb-bench';

/** The bot's real pace, which the factor compresses. */
const REAL_POLL_SECONDS = 15;
const REAL_MAX_RPS = 10;
/** The bot refuses IMAGE_BUILDER_MAX_RPS above this, so the factor can be at most MAX_RPS_SETTING / REAL_MAX_RPS. */
const MAX_RPS_SETTING = 1000;
/** Slack's Tier 3, which chat.update is in: about 50 calls a minute per workspace. */
const REAL_UPDATES_PER_MINUTE = 50;
/** Edits per compose the default --track-seconds leaves time for. */
const EDITS_ALLOWANCE = 8;
/** Edits per compose the factor was chosen for (a thread that edits only on visible changes). */
const EDITS_EXPECTED = 5;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function option(name: string, fallback: number): number {
  const given = argument(name);
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const factor = option('factor', 100);
if (factor * REAL_MAX_RPS > MAX_RPS_SETTING) {
  throw new Error(
    `--factor must be at most ${MAX_RPS_SETTING / REAL_MAX_RPS}: IMAGE_BUILDER_MAX_RPS = ${REAL_MAX_RPS} × factor, and the bot takes at most ${MAX_RPS_SETTING}`,
  );
}
const slackScale = option('slack-scale', factor);
if (slackScale < 1 || slackScale > 1000)
  throw new Error('--slack-scale must be between 1 and 1000 (what SLACK_PACE_SCALE takes)');
const composes = Math.round(option('composes', 1000));

/** The memory limit of the bot's container in deploy/base/deployment.yaml. */
const DEPLOYMENT_MEMORY_BYTES = deploymentMemoryLimit(ROOT);

const settings = {
  runs: Math.round(option('runs', 3)),
  ackRuns: Math.round(option('ack-runs', 7)),
  phases: (argument('phases') ?? 'ack,tracking,freshness,replicas,startup,submission').split(',').map((p) => p.trim()),
  out: path.resolve(argument('out') ?? path.join(ROOT, 'docs', 'benchmarks.md')),
  ackRequests: Math.round(option('ack-requests', 2000)),
  ackConcurrency: Math.round(option('ack-concurrency', 10)),
  composes,
  factor,
  slackScale,
  trackSeconds: option(
    'track-seconds',
    Math.ceil(30 + (composes * EDITS_ALLOWANCE) / ((REAL_UPDATES_PER_MINUTE / 60) * slackScale)),
  ),
  replicaComposes: Math.round(option('replica-composes', 200)),
  replicaSeconds: option('replica-seconds', 60),
  seed: Math.round(option('seed', 1)),
  freshComposes: Math.round(option('fresh-composes', 50)),
  freshFactor: option('fresh-factor', 20),
  startupRuns: Math.round(option('startup-runs', 10)),
  memoryLimitBytes: argument('memory-limit') ? quantityBytes(argument('memory-limit')!) : DEPLOYMENT_MEMORY_BYTES,
};
const PHASE_NAMES = ['ack', 'tracking', 'freshness', 'replicas', 'startup', 'submission'];
for (const phase of settings.phases) {
  if (!PHASE_NAMES.includes(phase)) throw new Error(`--phases: unknown phase ${phase} (${PHASE_NAMES.join(', ')})`);
}

/** How fast a tracking run goes: its compression of time, and of Slack's tiers. */
interface Pace {
  factor: number;
  slackScale: number;
}
const TRACKING_PACE: Pace = { factor: settings.factor, slackScale: settings.slackScale };

/** The PostgreSQL the tests use (test/tracking/postgresHelpers.ts); each replica run gets a schema of its own. */
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Statistics

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => percentile(values, 50);

/** The median of the runs' figures, and their spread. */
interface Figure {
  median: number;
  min: number;
  max: number;
}
const figure = (values: number[]): Figure => {
  const known = values.filter((v) => Number.isFinite(v));
  return known.length === 0
    ? { median: NaN, min: NaN, max: NaN }
    : { median: median(known), min: Math.min(...known), max: Math.max(...known) };
};
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
/** The median and, when the runs differ, their spread; the median with `medianDigits` where it is judged. */
const show = (f: Figure, digits = 1, medianDigits = digits) =>
  f.min === f.max
    ? fmt(f.median, medianDigits)
    : `${fmt(f.median, medianDigits)} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`;

// ---------------------------------------------------------------------------------------------------------------
// Processes

class Fakes {
  private readonly waiting: ((message: FakesMessage) => void)[] = [];
  ready!: FakesReady;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FakesMessage) => this.waiting.shift()?.(message));
  }

  /** The fakes process's id, for reading its CPU time. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(fakesSettings: FakesSettings): Promise<Fakes> {
    const child = fork(path.join(__dirname, 'fakesProcess.ts'), [JSON.stringify(fakesSettings)], {
      cwd: ROOT,
      execArgv: [...TS, '--max-old-space-size=4096'],
    });
    const fakes = new Fakes(child);
    fakes.ready = (await fakes.next()) as FakesReady;
    return fakes;
  }

  private next(): Promise<FakesMessage> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** One request at a time: answers are matched to requests by order. */
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

/**
 * The bot and the bare app as production runs them: compiled JavaScript, not TypeScript compiled as it is required
 * (test/support/registerTs.cjs), whose compiler would add its own memory to the bot's peak RSS. The bot is bundled
 * as the image's dist/index.js is (scripts/bundle.cjs); the bare app gets that hook's transform. Written under
 * node_modules/.cache so that both still find what they leave in node_modules. Returns the folder that mirrors the
 * repository.
 */
async function compile(): Promise<string> {
  const out = path.join(ROOT, 'node_modules', '.cache', 'image-builder-bot-bench');
  rmSync(out, { recursive: true, force: true });
  const compileFile = (relative: string) => {
    const { code } = transformSync(readFileSync(path.join(ROOT, relative), 'utf8'), {
      filename: relative,
      module: { type: 'commonjs' },
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    });
    const target = path.join(out, relative.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, code);
  };
  await bundle({ outfile: path.join(out, 'src', 'index.js') });
  compileFile('scripts/bench/bareApp.ts');
  // The bot reads its version from the nearest package.json above it (src/platform/version.ts).
  copyFileSync(path.join(ROOT, 'package.json'), path.join(out, 'package.json'));
  return out;
}

let compiledRoot: Promise<string> | undefined;
/** The compiled file for a .ts file of the repository, compiled on first use. */
const compiled = async (relative: string) =>
  path.join(await (compiledRoot ??= compile()), relative.replace(/\.ts$/, '.js'));

interface Running {
  url: string;
  /** Where the bot serves /metrics (its `"healthPort":N`); the bare app serves none. */
  healthUrl?: string;
  child: ChildProcess;
  /** Whether the kernel killed it for going over settings.memoryLimitBytes (see memoryLimit.ts). */
  oomKilled(): boolean;
  stop(): Promise<void>;
}

let imageFlags: string[] | undefined;
let imageEnv: Record<string, string> | undefined;
/** Why the first bot spawned could not be held to settings.memoryLimitBytes on this machine, for the report. */
let unlimitedBecause: string | undefined;
/** Spawns a bot or the bare app within settings.memoryLimitBytes, noting why where it cannot be. */
function spawnWithinBotMemory(command: string, args: string[], options: SpawnOptions): LimitedChild {
  const limited = spawnWithinMemory(settings.memoryLimitBytes, command, args, options);
  unlimitedBecause ??= limited.unlimited;
  return limited;
}

/** Spawns Node on a .ts file of the repository, compiled, and waits for the `"port":N` its log announces. */
async function spawnServer(script: string, args: string[], env: Record<string, string>): Promise<Running> {
  // As the image starts the bot (the Dockerfile's NODE_OPTIONS and GLIBC_TUNABLES), so the bench measures what ships.
  const nodeArgs = [...(imageFlags ??= imageNodeOptions(ROOT)), await compiled(script), ...args];
  const limited = spawnWithinBotMemory(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { ...(imageEnv ??= imageProcessEnv(ROOT)), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { child } = limited;
  let logs = '';
  // Keep only the tail: the bot logs every compose, and the tail is what explains a failure.
  const keep = (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  let port: string | undefined;
  while (!(port = /"port":(\d+)/.exec(logs)?.[1])) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`${script} did not start; it wrote:\n${logs}`);
    await sleep(50);
  }
  const healthPort = /"healthPort":(\d+)/.exec(logs)?.[1];
  return {
    url: `http://127.0.0.1:${port}`,
    ...(healthPort ? { healthUrl: `http://127.0.0.1:${healthPort}` } : {}),
    child,
    oomKilled: limited.oomKilled,
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
    SLACK_RESPONSE_URL_PREFIXES: `${new URL(fakes.slackUrl).origin}/response-url/`,
    PORT: '0',
    HEALTH_PORT: '0',
    IMAGE_BUILDER_URL: fakes.imageBuilderUrl,
    IMAGE_BUILDER_TOKEN_URL: fakes.tokenUrl,
    IMAGE_BUILDER_OFFLINE_TOKEN: fakes.offlineToken,
    POLICY_FILE: 'open',
    ...extra,
  };
}

/** The bot's settings for a tracking or replica run: its poll interval, request budget and Slack pace, compressed. */
function compressedEnv(fakes: FakesReady, databaseUrl: string, pace: Pace = TRACKING_PACE): Record<string, string> {
  return botEnv(fakes, {
    DATABASE_URL: databaseUrl,
    POLL_INTERVAL_SECONDS: String(REAL_POLL_SECONDS / pace.factor),
    IMAGE_BUILDER_MAX_RPS: String(REAL_MAX_RPS * pace.factor),
    SLACK_PACE_SCALE: String(pace.slackScale),
    LOG_LEVEL: 'info',
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Ack latency

/** Fires `count` signed `/image-builder aws` commands, `concurrency` at a time; per-request milliseconds. */
async function fireCommands(
  appUrl: string,
  fakes: FakesReady,
  count: number,
  concurrency: number,
): Promise<{ latencies: number[]; failures: number }> {
  const origin = new URL(fakes.slackUrl).origin;
  const latencies: number[] = [];
  let failures = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      const i = issued++;
      const body = slashCommandBody({
        text: 'aws',
        user_id: `UBENCH${i % 50}`,
        channel_id: 'CBENCH',
        response_url: `${origin}/response-url/bench-${i}`,
      });
      const started = performance.now();
      const answer = await signedPost(appUrl, SIGNING_SECRET, body);
      latencies.push(performance.now() - started);
      if (answer.status !== 200) failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures };
}

/** CPU time (user + system) the process has used so far, in ms, from /proc; undefined where there is no /proc. */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    // Fields 14 and 15 (utime, stime), in clock ticks of 10 ms; counted after the parenthesised command name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

const difference = (before: number | undefined, after: number | undefined) =>
  before !== undefined && after !== undefined ? after - before : NaN;

/** Commands each app answers before anything is measured: enough for V8 to have compiled the whole path. */
const ACK_WARMUP = 500;
/** Blocks a run's commands are sent in, alternately to each app. */
const ACK_BLOCKS = 10;

/** The apps the ack phase compares: the bot, a bare Bolt app opening a one-field modal, and one opening the bot's form. */
const ACK_APPS = ['bot', 'bare', 'sameForm'] as const;
type AckApp = (typeof ACK_APPS)[number];

interface AckFigures {
  p50: Figure;
  p99: Figure;
  cpuMs: Figure;
  /** CPU per command of what else runs on the same cores during the app's blocks: the fakes, and this process. */
  fakesCpuMs: Figure;
  loadCpuMs: Figure;
}

interface AckResult {
  bot: AckFigures;
  bare: AckFigures;
  /** The bare app opening the bot's own AWS form: what Bolt and the form cost without the bot's work around them. */
  sameForm: AckFigures;
  ratioP99: Figure;
  ratioP99SameForm: Figure;
  failures: number;
}

async function ackLatency(): Promise<AckResult> {
  const fakes = await Fakes.start({ factor: 1, slackScale: 1, seed: settings.seed });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-ack-'));
  const bareArgs = [SIGNING_SECRET, BOT_TOKEN, fakes.ready.slackUrl];
  const apps: Partial<Record<AckApp, Running>> = {};
  type PerApp = Record<AckApp, number>;
  const runs: { latencies: Record<AckApp, number[]>; cpu: PerApp; fakesCpu: PerApp; loadCpu: PerApp }[] = [];
  let failures = 0;
  try {
    apps.bot = await spawnServer(
      'src/index.ts',
      [],
      botEnv(fakes.ready, { DATABASE_URL: path.join(dir, 'bot.sqlite'), LOG_LEVEL: 'info' }),
    );
    apps.bare = await spawnServer('scripts/bench/bareApp.ts', bareArgs, {});
    // Warm up each (JIT, connection pools, the bot's distribution catalog) before anything is measured: with fewer,
    // the first run measured code V8 had not optimised yet, at twice the CPU per command of the others.
    await fireCommands(apps.bot.url, fakes.ready, ACK_WARMUP, settings.ackConcurrency);
    const form = (await fakes.ask<'lastOpenedView'>({ kind: 'lastOpenedView' })).view;
    if (form === undefined) throw new Error('the bot opened no form during the warm-up');
    writeFileSync(path.join(dir, 'form.json'), form);
    apps.sameForm = await spawnServer('scripts/bench/bareApp.ts', [...bareArgs, path.join(dir, 'form.json')], {});
    await fireCommands(apps.bare.url, fakes.ready, ACK_WARMUP, settings.ackConcurrency);
    await fireCommands(apps.sameForm.url, fakes.ready, ACK_WARMUP, settings.ackConcurrency);
    for (let run = 0; run < settings.ackRuns; run += 1) {
      // A run is blocks of commands, to each app in turn, so all meet the same moments of a shared 2-core machine
      // (whose speed wanders from second to second) and none always goes first.
      const result = {
        latencies: { bot: [] as number[], bare: [] as number[], sameForm: [] as number[] },
        cpu: { bot: 0, bare: 0, sameForm: 0 },
        fakesCpu: { bot: 0, bare: 0, sameForm: 0 },
        loadCpu: { bot: 0, bare: 0, sameForm: 0 },
      };
      const perBlock = Math.ceil(settings.ackRequests / ACK_BLOCKS);
      for (let block = 0; block < ACK_BLOCKS; block += 1) {
        // The same-form app first: what it leaves running (its heavier modals, the fake Slack's work on them) then
        // falls on the bot and the one-field app alike, and those two swap places from block to block as before.
        const order: AckApp[] = (run + block) % 2 === 0 ? ['sameForm', 'bot', 'bare'] : ['sameForm', 'bare', 'bot'];
        for (const which of order) {
          const app = apps[which]!;
          const cpuBefore = cpuMs(app.child.pid);
          const fakesBefore = cpuMs(fakes.pid);
          const loadBefore = process.cpuUsage();
          const measured = await fireCommands(app.url, fakes.ready, perBlock, settings.ackConcurrency);
          // The modals of the last commands are still being opened: let them finish, inside this app's CPU count and
          // before the next app's block begins.
          await sleep(100);
          const cpuAfter = cpuMs(app.child.pid);
          const fakesAfter = cpuMs(fakes.pid);
          const load = process.cpuUsage(loadBefore);
          result.latencies[which].push(...measured.latencies);
          result.cpu[which] += difference(cpuBefore, cpuAfter);
          result.fakesCpu[which] += difference(fakesBefore, fakesAfter);
          result.loadCpu[which] += (load.user + load.system) / 1000;
          failures += measured.failures;
        }
      }
      for (const which of ACK_APPS) {
        const commands = result.latencies[which].length;
        result.cpu[which] /= commands;
        result.fakesCpu[which] /= commands;
        result.loadCpu[which] /= commands;
      }
      runs.push(result);
    }
  } finally {
    await Promise.all(Object.values(apps).map((app) => app.stop()));
    await fakes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const figures = (which: AckApp): AckFigures => ({
    p50: figure(runs.map((r) => percentile(r.latencies[which], 50))),
    p99: figure(runs.map((r) => percentile(r.latencies[which], 99))),
    cpuMs: figure(runs.map((r) => r.cpu[which])),
    fakesCpuMs: figure(runs.map((r) => r.fakesCpu[which])),
    loadCpuMs: figure(runs.map((r) => r.loadCpu[which])),
  });
  const ratioP99 = (to: AckApp) =>
    figure(runs.map((r) => percentile(r.latencies.bot, 99) / percentile(r.latencies[to], 99)));
  return {
    bot: figures('bot'),
    bare: figures('bare'),
    sameForm: figures('sameForm'),
    ratioP99: ratioP99('bare'),
    ratioP99SameForm: ratioP99('sameForm'),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Tracking at scale

/** Rows the bot would have written after submitting each compose: state tracking, due for a poll now, no thread yet. */
async function seedStore(databaseUrl: string, seeded: SeededCompose[]): Promise<void> {
  const store = await openStore(databaseUrl, { workingDirectory: ROOT });
  const now = new Date();
  try {
    for (const [index, { composeId, channel, request }] of seeded.entries()) {
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
      await store.update(id, {
        state: 'tracking',
        composeId,
        submittedAt: now,
        composeCreatedAt: now,
        nextPollAt: now,
        status: 'pending',
      });
    }
  } finally {
    await store.close();
  }
}

async function residentBytes(healthUrl: string | undefined): Promise<number | undefined> {
  if (healthUrl === undefined) return undefined;
  try {
    const text = await (await fetch(`${healthUrl}/metrics`)).text();
    const value = /^process_resident_memory_bytes (\S+)/m.exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  } catch {
    return undefined;
  }
}

/** The process's peak resident memory (VmHWM) as Linux counts it: exact, however short the peak was. */
function peakResidentBytes(pid: number | undefined): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

interface Watched {
  /** When the bot(s) had started, and when the run ended (ms since the epoch). */
  startedAt: number;
  endedAt: number;
  peakRssBytes: number;
  rssFrom: 'VmHWM' | '/metrics';
}

/**
 * Waits until every compose's final state is on Slack and Slack has been quiet for 100 s of scaled time (whatever
 * the bot still sends after the final state counts too), or until `capSeconds`; reports progress every 10 s.
 */
async function watch(fakes: Fakes, bots: Running[], capSeconds: number, pace = TRACKING_PACE): Promise<Watched> {
  const startedAt = Date.now();
  const quietMs = Math.max(1000, 100_000 / pace.slackScale);
  const fromProc = peakResidentBytes(process.pid) !== undefined;
  let sampledPeak = 0;
  let lastReport = startedAt;
  for (;;) {
    await sleep(1000);
    const { progress } = await fakes.ask<'progress'>({ kind: 'progress' });
    const ended = bots.find((bot) => bot.child.exitCode !== null || bot.child.signalCode !== null);
    if (ended) throw new Error(`a bot ended during the run: ${endedBecause(ended)}`);
    if (!fromProc) {
      for (const bot of bots) sampledPeak = Math.max(sampledPeak, (await residentBytes(bot.healthUrl)) ?? 0);
    }
    const now = Date.now();
    if (now - lastReport >= 10_000) {
      lastReport = now;
      console.log(`   ${describeProgress(progress, (now - startedAt) / 1000)}`);
    }
    const allFinal = progress.finalOnSlack === progress.composes;
    if ((allFinal && now - (progress.lastChatCallAt ?? 0) >= quietMs) || now - startedAt >= capSeconds * 1000) break;
  }
  const peaks = bots.map((bot) => peakResidentBytes(bot.child.pid) ?? 0);
  return {
    startedAt,
    endedAt: Date.now(),
    peakRssBytes: fromProc ? Math.max(...peaks) : sampledPeak,
    rssFrom: fromProc ? 'VmHWM' : '/metrics',
  };
}

const mebibytes = (bytes: number) => `${fmt(bytes / 1024 ** 2, 0)} MiB`;

function endedBecause(bot: Running): string {
  if (bot.oomKilled())
    return `the kernel killed it for going over its memory limit (${mebibytes(settings.memoryLimitBytes)})`;
  return `it exited with ${bot.child.exitCode ?? bot.child.signalCode}`;
}

/** Under which memory limit the bots ran, for the report's settings. */
function memoryLine(): string {
  const { memoryLimitBytes } = settings;
  const limit = `${mebibytes(memoryLimitBytes)}${memoryLimitBytes === DEPLOYMENT_MEMORY_BYTES ? ", the Deployment's limit for the bot's container" : ` (--memory-limit; the Deployment's is ${mebibytes(DEPLOYMENT_MEMORY_BYTES)})`}`;
  return unlimitedBecause === undefined
    ? `- memory: every bot and the bare app ran in a memory cgroup of its own limited to ${limit}`
    : `- memory: **no limit** instead of ${limit}: ${unlimitedBecause}. The image sizes V8's heap as a share of the memory it may use, so here the heap could grow far past what it gets in a Pod`;
}

function describeProgress(p: FakesProgress, seconds: number): string {
  return (
    `${seconds.toFixed(0)} s: ${p.finalOnSlack}/${p.composes} final on Slack, ${p.finishedAtService} finished at the service, ` +
    `${p.imageBuilderRequests} Image Builder requests, ${p.slackCalls} Slack calls, ${p.slackRateLimited} 429s`
  );
}

interface TrackingRun {
  seconds: number;
  peakRssMb: number;
  rssFrom: string;
  /** Mean over the time the bot was polling (first to last request), wall clock. */
  imageBuilderRps: number;
  imageBuilderBusiestSecond: number;
  finishedAtService: number;
  complete: number;
  /** Wall seconds from the bot's start until every thread showed its final state; NaN when some never did. */
  allFinalSeconds: number;
  /** Over complete composes. */
  callsMedian: number;
  changesMedian: number;
  excessMedian: number;
  excessP99: number;
  excessMax: number;
  overBudget: number;
  /** Wall ms. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  sinceStartP50Ms: number;
  sinceStartP99Ms: number;
  servedChanges: number;
  skippedChanges: number;
  unseenChanges: number;
  updatesPerRealMinute: number;
  rateLimited: number;
  /** GET /composes/{id} per compose: median and p99. */
  pollsMedian: number;
  pollsP99: number;
  /** Every Image Builder request of the run (token, lists for created_at included) per compose. */
  requestsPerCompose: number;
}

const perSecond = (count: number, first: number | undefined, last: number | undefined) =>
  first === undefined || last === undefined || last <= first ? NaN : count / ((last - first) / 1000);

function summarize(stats: FakesStats, watched: Watched, pace = TRACKING_PACE): TrackingRun {
  const complete = stats.perCompose.filter((c) => c.complete);
  const excess = complete.map((c) => c.slackCalls - c.changes);
  const fromServed = stats.perCompose.flatMap((c) => c.latenciesFromServed);
  const fromStart = stats.perCompose.flatMap((c) => c.latenciesFromStart);
  const sum = (pick: (c: FakesStats['perCompose'][number]) => number) =>
    stats.perCompose.reduce((total, c) => total + pick(c), 0);
  return {
    seconds: (watched.endedAt - watched.startedAt) / 1000,
    peakRssMb: watched.peakRssBytes / 1024 / 1024,
    rssFrom: watched.rssFrom,
    imageBuilderRps: perSecond(stats.imageBuilderRequests, stats.imageBuilderFirstAt, stats.imageBuilderLastAt),
    imageBuilderBusiestSecond: stats.imageBuilderBusiestSecond,
    finishedAtService: stats.perCompose.filter((c) => c.finishedAtService).length,
    complete: complete.length,
    allFinalSeconds: stats.allFinalOnSlackAt === undefined ? NaN : (stats.allFinalOnSlackAt - watched.startedAt) / 1000,
    callsMedian: median(complete.map((c) => c.slackCalls)),
    changesMedian: median(complete.map((c) => c.changes)),
    excessMedian: median(excess),
    excessP99: percentile(excess, 99),
    excessMax: excess.length === 0 ? NaN : Math.max(...excess),
    overBudget: excess.filter((e) => e > 2).length,
    latencyP50Ms: percentile(fromServed, 50),
    latencyP99Ms: percentile(fromServed, 99),
    sinceStartP50Ms: percentile(fromStart, 50),
    sinceStartP99Ms: percentile(fromStart, 99),
    servedChanges: sum((c) => c.changes - 1),
    skippedChanges: sum((c) => c.skipped),
    unseenChanges: sum((c) => c.unseen),
    updatesPerRealMinute:
      (perSecond(stats.chatUpdates, stats.chatUpdateFirstAt, stats.chatUpdateLastAt) * 60) / pace.slackScale,
    rateLimited: stats.slackRateLimited,
    pollsMedian: median(stats.perCompose.map((c) => c.polls)),
    pollsP99: percentile(
      stats.perCompose.map((c) => c.polls),
      99,
    ),
    requestsPerCompose: stats.perCompose.length === 0 ? NaN : stats.imageBuilderRequests / stats.perCompose.length,
  };
}

async function trackingRun(
  run: number,
  count = settings.composes,
  pace = TRACKING_PACE,
  capSeconds = settings.trackSeconds,
): Promise<TrackingRun> {
  const fakes = await Fakes.start({ ...pace, seed: settings.seed + run });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-track-'));
  try {
    const { composes: seeded } = await fakes.ask<'seeded'>({ kind: 'seed', count });
    const databasePath = path.join(dir, 'bot.sqlite');
    await seedStore(databasePath, seeded);
    const bot = await spawnServer('src/index.ts', [], compressedEnv(fakes.ready, databasePath, pace));
    let watched: Watched;
    try {
      watched = await watch(fakes, [bot], capSeconds, pace);
    } finally {
      await bot.stop();
    }
    const { stats } = await fakes.ask<'stats'>({ kind: 'stats' });
    if (stats.slowest) console.log(`   the slowest thread (ms after its first poll): ${JSON.stringify(stats.slowest)}`);
    return summarize(stats, watched, pace);
  } finally {
    await fakes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Replicas

interface ReplicaRun {
  /** Parent posts beyond one per compose, and thread replies beyond the status reply and the result. */
  duplicates: number;
  complete: number;
  allFinalSeconds: number;
  imageBuilderRps: number;
  rateLimited: number;
}

async function replicaRun(run: number, replicas: number): Promise<ReplicaRun> {
  const fakes = await Fakes.start({
    factor: settings.factor,
    slackScale: settings.slackScale,
    seed: settings.seed + run,
  });
  const schema = `ibb_bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  try {
    const { composes: seeded } = await fakes.ask<'seeded'>({ kind: 'seed', count: settings.replicaComposes });
    const databaseUrl = `${POSTGRES_URL}?schema=${schema}`;
    await seedStore(databaseUrl, seeded);
    const bots = await Promise.all(
      Array.from({ length: replicas }, () => spawnServer('src/index.ts', [], compressedEnv(fakes.ready, databaseUrl))),
    );
    let watched: Watched;
    try {
      watched = await watch(fakes, bots, settings.replicaSeconds);
    } finally {
      await Promise.all(bots.map((bot) => bot.stop()));
    }
    const stats = (await fakes.ask<'stats'>({ kind: 'stats' })).stats;
    return {
      duplicates: stats.perCompose.reduce(
        (sum, c) => sum + Math.max(0, c.parentPosts - 1) + Math.max(0, c.threadPosts - 2),
        0,
      ),
      complete: stats.perCompose.filter((c) => c.complete).length,
      allFinalSeconds:
        stats.allFinalOnSlackAt === undefined ? NaN : (stats.allFinalOnSlackAt - watched.startedAt) / 1000,
      imageBuilderRps: perSecond(stats.imageBuilderRequests, stats.imageBuilderFirstAt, stats.imageBuilderLastAt),
      rateLimited: stats.slackRateLimited,
    };
  } finally {
    await fakes.stop();
    const admin = new Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function machine(): string {
  const cpus = os.cpus();
  return [
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores (os.availableParallelism: ${os.availableParallelism()})`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- Node.js: ${process.version}`,
  ].join('\n');
}

const verdict = (pass: boolean) => (pass ? 'pass' : '**fail**');

/** Wall milliseconds as scaled time (what a user of the real service would wait), then the wall time itself. */
const scaled = (wallMs: Figure, factor = settings.factor) =>
  `${show(scaledSeconds(wallMs, factor))} s (${show(wallMs, 0)} ms wall)`;
const scaledSeconds = (wallMs: Figure, factor: number): Figure => ({
  median: (wallMs.median * factor) / 1000,
  min: (wallMs.min * factor) / 1000,
  max: (wallMs.max * factor) / 1000,
});

/**
 * 2b. Freshness where people watch: a realistic number of builds in flight (the budget far from binding), at a
 * compression small enough that the bot's own milliseconds barely count; the targets are the issue's.
 */
function freshnessSection(runs: TrackingRun[]): string[] {
  const t = <K extends keyof TrackingRun>(key: K) => figure(runs.map((r) => r[key] as number));
  const factor = settings.freshFactor;
  const p50 = scaledSeconds(t('sinceStartP50Ms'), factor);
  const p99 = scaledSeconds(t('sinceStartP99Ms'), factor);
  const p50Target = 0.6 * REAL_POLL_SECONDS + 1;
  const p99Target = 2 * REAL_POLL_SECONDS;
  const polls = t('pollsMedian');
  const requests = t('requestsPerCompose');
  return [
    '## 2b. Freshness and polling cost',
    '',
    `${settings.freshComposes} composes in flight, seeded and moving as in section 2, time compressed by ${factor} (Slack's tiers too);`,
    `POLL_INTERVAL_SECONDS ${REAL_POLL_SECONDS} at real pace. Latency is from the moment a status began at the service to the first`,
    'Slack call showing it (or a later state), scaled to real time. The web console polls every 8 s: about 100 requests for',
    'a 13-minute build.',
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    `| status change to Slack, p50 (s, scaled) | ${show(p50)} | ≤ 0.6 × ${REAL_POLL_SECONDS} + 1 = ${fmt(p50Target)} | ${verdict(p50.median <= p50Target)} |`,
    `| status change to Slack, p99 (s, scaled) | ${show(p99)} | ≤ 2 × ${REAL_POLL_SECONDS} = ${p99Target} | ${verdict(p99.median <= p99Target)} |`,
    `| GET /composes/{id} per build, median (p99) | ${show(polls, 0)} (${show(t('pollsP99'), 0)}) | | |`,
    `| Image Builder requests per build (all of them, with the POST /compose a real build adds) | ${show({ median: requests.median + 1, min: requests.min + 1, max: requests.max + 1 })} | ≤ 40 | ${verdict(requests.median + 1 <= 40)} |`,
    `| composes whose final state reached Slack | ${show(t('complete'), 0)} of ${settings.freshComposes} | all | ${verdict(t('complete').median === settings.freshComposes)} |`,
    `| status changes that never reached Slack | ${show(t('unseenChanges'), 0)} | 0 | ${verdict(t('unseenChanges').max === 0)} |`,
    '',
    '- The pace: every poll interval while nothing changes, and once a build has entered a status, half of what that status',
    '  typically lasts (less half an interval) before it is asked again (src/tracking/tracker.ts pollDelay); the poller',
    '  looks for due builds 15 times per interval.',
    '- Requests per build: GET /composes/{id}, the token, and the list read once for its created_at, divided by the builds;',
    '  the builds are seeded as submitted, so one POST /compose each is added.',
  ];
}

const ackRunsNote = () =>
  settings.phases.includes('ack') && settings.ackRuns !== settings.runs
    ? ` (the ack phase's, of ${settings.ackRuns})`
    : '';

function settingsLines(): string[] {
  return [
    `- \`${['npm run bench --', ...process.argv.slice(2)].join(' ')}\``,
    `- runs ${settings.runs}; phases ${settings.phases.join(', ')}; seed ${settings.seed}`,
    `- ack: ${settings.ackRuns} runs of ${settings.ackRequests} requests, ${settings.ackConcurrency} at a time`,
    `- tracking: ${settings.composes} composes, factor ${settings.factor}, Slack scale ${settings.slackScale}, at most ${settings.trackSeconds} s a run`,
    `- replicas: ${settings.replicaComposes} composes, at most ${settings.replicaSeconds} s a run`,
    `- startup: ${settings.startupRuns} starts`,
    memoryLine(),
  ];
}

function arithmetic(): string[] {
  const f = settings.factor;
  const n = settings.composes;
  const edits = n * EDITS_EXPECTED;
  const realSlackMinutes = edits / REAL_UPDATES_PER_MINUTE;
  const realSweepSeconds = n / REAL_MAX_RPS;
  return [
    '### Why this factor',
    '',
    `- Slack: chat.update is Tier 3, about ${REAL_UPDATES_PER_MINUTE} a minute per workspace. A thread that is edited only on visible`,
    `  changes needs about ${EDITS_EXPECTED} edits, so ${n} composes need ${edits} edits = ${fmt(realSlackMinutes, 0)} min of real Slack time`,
    `  (1,000 composes: 5,000 edits = 100 min; 10,000: 50,000 edits = 1,000 min, about 17 h). Fitting 1,000 composes in 2 min of`,
    '  wall time takes a factor of at least 100 / 2 = 50.',
    `- Image Builder: the budget is ${REAL_MAX_RPS} requests/s at real pace and IMAGE_BUILDER_MAX_RPS takes at most ${MAX_RPS_SETTING}, so the`,
    `  factor can be at most ${MAX_RPS_SETTING / REAL_MAX_RPS}. At the budget, polling all ${n} composes once takes ${fmt(realSweepSeconds, 0)} s of real time`,
    `  (${fmt(realSweepSeconds / f, 1)} s wall here): ${
      realSweepSeconds > REAL_POLL_SECONDS
        ? `more than the ${REAL_POLL_SECONDS} s interval, so the budget sets the pace`
        : `less than the ${REAL_POLL_SECONDS} s interval, so the interval sets the pace`
    }.`,
    `- A compose lasts about ${REAL_COMPOSE_MINUTES} min at the service (each step drawn from 0.5–1.5 times its mean), ${fmt((REAL_COMPOSE_MINUTES * 60) / f, 1)} s wall here.`,
    `- So factor ${f}: ${n} composes × ${EDITS_EXPECTED} edits take ${fmt((realSlackMinutes * 60) / settings.slackScale, 0)} s of wall time at`,
    `  the compressed Tier 3 rate (${fmt((REAL_UPDATES_PER_MINUTE / 60) * settings.slackScale, 1)} edits/s), after a compose life of ${fmt((REAL_COMPOSE_MINUTES * 60) / f, 1)} s.`,
    `  100 is the most the Image Builder budget allows, and twice what the Slack arithmetic needs for 1,000 composes. A run`,
    `  may last ${settings.trackSeconds} s (${EDITS_ALLOWANCE} edits per compose at that rate, plus 30 s) and ends as soon as every thread is final.`,
  ];
}

function trackingSection(tracking: TrackingRun[]): string[] {
  const t = <K extends keyof TrackingRun>(key: K) => figure(tracking.map((r) => r[key] as number));
  const budget = REAL_MAX_RPS * settings.factor;
  const rps = t('imageBuilderRps');
  const completeAny = t('complete').max > 0;
  const sameScale = settings.slackScale === settings.factor;
  return [
    '## 2. Tracking at scale',
    '',
    `${settings.composes} composes in flight: rows seeded in the bot's SQLite store as \`tracking\` (no thread posted yet), the same`,
    'compose ids known to the fake Image Builder. Each compose moves pending → building (4 progress steps) → uploading →',
    `registering → success on a clock of its own that starts at its first poll: about ${REAL_COMPOSE_MINUTES} min at real pace (pending 1, building`,
    '4 × 2, uploading 2, registering 2, each drawn from 0.5–1.5 times that), so how often the bot polls decides what it sees.',
    '',
    `Time is compressed by a factor of **${settings.factor}** for everything: the fake's compose clocks, POLL_INTERVAL_SECONDS =`,
    `${REAL_POLL_SECONDS}/${settings.factor}, IMAGE_BUILDER_MAX_RPS = ${REAL_MAX_RPS} × ${settings.factor} = ${budget}, and the Slack throttles: the bot's`,
    `SLACK_PACE_SCALE = ${settings.slackScale}, and the fake Slack enforces the tiers ${settings.slackScale} times faster (chat.postMessage 1/s per channel,`,
    `chat.update 50/min per workspace, so ${settings.slackScale}/s and ${fmt((REAL_UPDATES_PER_MINUTE * settings.slackScale) / 60, 1)}/s) and answers 429 beyond them.`,
    ...(sameScale
      ? []
      : [
          '',
          `**The Slack scale (${settings.slackScale}) differs from the factor (${settings.factor}):** Slack figures are not at the same pace as the rest.`,
        ]),
    `Each thread has a channel of its own, so every call maps to its compose. Runs: ${fmt(t('seconds').median, 0)} s of wall time each (median).`,
    '',
    ...arithmetic(),
    '',
    '### Results',
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    `| peak RSS of the bot (MB) | ${show(t('peakRssMb'))} | < 200 | ${verdict(t('peakRssMb').median < 200)} |`,
    `| Image Builder requests/s, wall (mean while polling) | ${show(rps)} | ≤ ${budget} (budget × ${settings.factor}) | ${verdict(rps.median <= budget * 1.02)} |`,
    `| the same at real pace (÷ ${settings.factor}) | ${show({ median: rps.median / settings.factor, min: rps.min / settings.factor, max: rps.max / settings.factor }, 2)} | ≤ ${REAL_MAX_RPS} | |`,
    `| Image Builder requests in the busiest wall second | ${show(t('imageBuilderBusiestSecond'), 0)} | ≤ ${2 * budget} (budget + a second's burst) | ${verdict(t('imageBuilderBusiestSecond').median <= 2 * budget)} |`,
    `| composes finished at the service | ${show(t('finishedAtService'), 0)} of ${settings.composes} | all | ${verdict(t('finishedAtService').median === settings.composes)} |`,
    `| composes whose final state reached Slack | ${show(t('complete'), 0)} of ${settings.composes} | all | ${verdict(t('complete').median === settings.composes)} |`,
    `| time until every thread was final (wall s) | ${show(t('allFinalSeconds'))} | | |`,
    `| Slack calls per compose (median) vs visible changes (median) | ${show(t('callsMedian'))} vs ${show(t('changesMedian'))} | | |`,
    `| calls − changes per compose: median | ${show(t('excessMedian'))} | ≤ 2 | ${completeAny ? verdict(t('excessMedian').median <= 2) : 'not measured'} |`,
    `| calls − changes per compose: p99 | ${show(t('excessP99'))} | ≤ 2 | ${completeAny ? verdict(t('excessP99').median <= 2) : 'not measured'} |`,
    `| calls − changes per compose: max | ${show(t('excessMax'))} | ≤ 2 | ${completeAny ? verdict(t('excessMax').median <= 2) : 'not measured'} |`,
    `| composes with calls > changes + 2 | ${show(t('overBudget'), 0)} of ${show(t('complete'), 0)} | 0 | ${completeAny ? verdict(t('overBudget').max === 0) : 'not measured'} |`,
    `| change-to-Slack latency p50, scaled | ${scaled(t('latencyP50Ms'))} | | |`,
    `| change-to-Slack latency p99, scaled | ${scaled(t('latencyP99Ms'))} | | |`,
    `| the same from when the status began at the service, p50 | ${scaled(t('sinceStartP50Ms'))} | | |`,
    `| the same from when the status began at the service, p99 | ${scaled(t('sinceStartP99Ms'))} | | |`,
    `| status changes served | ${show(t('servedChanges'), 0)} | | |`,
    `| of which reached Slack only as a later state | ${show(t('skippedChanges'), 0)} | | |`,
    `| of which never reached Slack by the end | ${show(t('unseenChanges'), 0)} | 0 | ${verdict(t('unseenChanges').max === 0)} |`,
    `| chat.update calls per minute at real pace | ${show(t('updatesPerRealMinute'))} | ≤ ${REAL_UPDATES_PER_MINUTE} | ${verdict(t('updatesPerRealMinute').median <= REAL_UPDATES_PER_MINUTE)} |`,
    `| Slack 429s | ${show(t('rateLimited'), 0)} | 0 | ${verdict(t('rateLimited').max === 0)} |`,
    `| GET /composes/{id} per compose, median (p99) | ${show(t('pollsMedian'), 0)} (${show(t('pollsP99'), 0)}) | | |`,
    `| every Image Builder request per compose | ${show(t('requestsPerCompose'))} | | |`,
    '',
    '- **Visible changes** of a compose: the statuses the fake Image Builder served it, in order, equal neighbours counted once,',
    '  each build step served counting as one (the status reply shows it: "step 2 of 4"), plus one for "Submitting", shown',
    '  before a compose exists; pending → building 1–4 → uploading → registering → success, all seen, makes 9.',
    '  **Slack calls**: chat.postMessage and chat.update in its thread (parent, replies, edits), whatever Slack answered.',
    '  Both over the composes whose final state reached Slack.',
    '- **Change-to-Slack latency**: for each served status, from the poll at which the fake first answered it to the first',
    '  successful call in its thread showing it or a later state (a call shows the furthest status its text names: Pending,',
    '  Building, Uploading, Registering, Ready/Failed). Scaled = wall × factor, the delay a user of the real service would see.',
    '  "From when the status began" adds how late the bot polled after the status changed at the service.',
    `- Peak RSS is the bot process's ${tracking[0]?.rssFrom === 'VmHWM' ? 'VmHWM (/proc/PID/status: the exact peak)' : 'process_resident_memory_bytes from /metrics, sampled every second'}.`,
    `- 10,000 composes: \`npm run bench -- --phases tracking --composes 10000\`; by the Slack arithmetic alone a run takes about`,
    `  ${fmt((10_000 * EDITS_EXPECTED) / ((REAL_UPDATES_PER_MINUTE / 60) * settings.slackScale) / 60, 0)} min of wall time at this factor, more if the bot polls slower than its budget.`,
    `- The bot's own work is not compressed: each wall millisecond it spends on a step counts ${settings.factor} times in scaled`,
    '  figures, so scaled latencies include its processing time magnified, and requests per second below the budget mean the',
    '  bot (on this machine, sharing its cores with the fakes) could not poll faster, not that it chose not to.',
    "- Not compressed on the bot's side: Retry-After on a 429 (whole seconds at Slack: 1 s wall is 100 s scaled) and",
    '  lease lengths. The age tiers of its poll pace are counted in poll intervals, so they compress with it.',
  ];
}

type Sections = Parameters<typeof report>[0];

/** The ack phase's section of the report. */
function ackSection(ack: AckResult): string[] {
  const machineCpu = (app: AckApp) => ack[app].cpuMs.median + ack[app].fakesCpuMs.median + ack[app].loadCpuMs.median;
  /** A row of CPU per command, with the bot's ratio to each bare app. */
  const row = (label: string, median: (app: AckApp) => number, shown: (app: AckApp) => string) =>
    `| ${label} | ${shown('bot')} | ${shown('bare')} | ${fmt(median('bot') / median('bare'), 2)} | | | ${shown('sameForm')} | ${fmt(median('bot') / median('sameForm'), 2)} |`;
  const cpuRow = (label: string, key: 'cpuMs' | 'fakesCpuMs' | 'loadCpuMs') =>
    row(
      label,
      (app) => ack[app][key].median,
      (app) => show(ack[app][key], 2),
    );
  return [
    '## 1. Ack latency',
    '',
    `${settings.ackRequests} signed \`/image-builder aws\` commands per run at a concurrency of ${settings.ackConcurrency}, against the bot`,
    '(HTTP mode, SQLite) and against two bare Bolt apps (scripts/bench/bareApp.ts) that only ack and open a modal: a one-field',
    "one, and the bot's own AWS form as the bot opened it during its warm-up, so that both send, and the fake Slack checks and",
    `echoes, the same bytes. All answer to the same fake Slack. A run sends them in ${ACK_BLOCKS} blocks to each app in turn (the`,
    'same-form app first, then the other two in alternating order), so all meet the same moments of the machine. Latency is',
    'from sending the request to its HTTP answer (the ack).',
    '',
    '| | bot | bare Bolt | ratio (bot / bare) | target | result | bare Bolt, same form | ratio (bot / same form) |',
    '|---|---|---|---|---|---|---|---|',
    `| p50 (ms) | ${show(ack.bot.p50)} | ${show(ack.bare.p50)} | ${fmt(ack.bot.p50.median / ack.bare.p50.median, 2)} | | | ${show(ack.sameForm.p50)} | ${fmt(ack.bot.p50.median / ack.sameForm.p50.median, 2)} |`,
    `| p99 (ms) | ${show(ack.bot.p99)} | ${show(ack.bare.p99)} | ${show(ack.ratioP99, 2, digitsAgainst(ack.ratioP99.median, 2, meetsAckTarget))} | ≤ ${ACK_P99_RATIO_TARGET} | ${verdict(meetsAckTarget(ack.ratioP99.median))} | ${show(ack.sameForm.p99)} | ${show(ack.ratioP99SameForm, 2)} |`,
    cpuRow('CPU per command (ms)', 'cpuMs'),
    cpuRow('fakes, CPU per command (ms)', 'fakesCpuMs'),
    cpuRow('load generator, CPU per command (ms)', 'loadCpuMs'),
    row('all three (ms)', machineCpu, (app) => fmt(machineCpu(app), 2)),
    '',
    `Every app answers after ${ACK_WARMUP} commands of warm-up. CPU per command is the app process's user + system time over a run`,
    '(/proc/PID/stat) divided by its commands: the ack and everything after it (opening the modal). Latency also depends on',
    "what else runs on the same two cores meanwhile, counted the same way during each app's blocks: the fakes (the fake Slack",
    'checks, stores and echoes each modal) and the load generator (the bench itself). At a fixed concurrency the cores are',
    "always busy, so latency follows the sum of the three, and the one-field app's modal costs the fakes a fraction of what",
    "the bot's form does. The same-form app makes the fakes do what the bot does, and is stock Bolt opening that form: against",
    "it, the bot's figures are what its own work and its Slack transport (src/slack/webApiFetch.ts, src/platform/formEncoding.ts)",
    'add or save.',
    '',
    `Non-200 answers: ${ack.failures}.`,
  ];
}

/** The figures of the headline table, from the sections this run measured. */
function headlineFigures(sections: Sections): HeadlineFigures {
  const m = (values: number[] | undefined) => (values === undefined ? undefined : median(values));
  const runs = <R>(list: R[] | undefined, pick: (run: R) => number) => list && m(list.map(pick));
  const { ack, tracking, freshness, startup, submission } = sections;
  // The tracking figures are labelled for the default run; another size or pace is not the same figure.
  const defaultTracking = settings.composes === 1000 && settings.factor === 100 ? tracking : undefined;
  const install = (t: StartupResult['install']['cold'] | undefined) => (t && 'seconds' in t ? t.seconds : undefined);
  // This bench's Node.js first; the image's is the last one started (the same one when the releases are equal).
  const [ownNode, imageNode] = [startup?.starts[0], startup?.starts.at(-1)];
  return {
    ackP99Ratio: ack?.ratioP99.median,
    ackP99RatioSameForm: ack?.ratioP99SameForm.median,
    ackCpuMs: ack?.bot.cpuMs.median,
    freshP50S: runs(freshness, (r) => (r.sinceStartP50Ms * settings.freshFactor) / 1000),
    freshP99S: runs(freshness, (r) => (r.sinceStartP99Ms * settings.freshFactor) / 1000),
    requestsPerBuild: runs(freshness, (r) => r.requestsPerCompose + 1),
    trackP50S: runs(defaultTracking, (r) => (r.sinceStartP50Ms * settings.factor) / 1000),
    trackP99S: runs(defaultTracking, (r) => (r.sinceStartP99Ms * settings.factor) / 1000),
    trackAllFinalS: runs(defaultTracking, (r) => r.allFinalSeconds),
    trackPeakRssMb: runs(defaultTracking, (r) => r.peakRssMb),
    submitP99Ms: runs(submission, (r) => percentile(r.answerToPostMs, 99)),
    npmCiColdS: install(startup?.install.cold),
    npmCiWarmS: install(startup?.install.warm),
    startP50Ms: ownNode && percentile(ownNode.readyMs, 50),
    idleRssMb: ownNode && percentile(ownNode.idleRssMb, 50),
    startImageP50Ms: imageNode && percentile(imageNode.readyMs, 50),
    idleRssImageMb: imageNode && percentile(imageNode.idleRssMb, 50),
    bareIdleRssImageMb: imageNode && percentile(imageNode.bareIdleRssMb, 50),
  };
}

function report(
  sections: {
    ack?: AckResult;
    tracking?: TrackingRun[];
    freshness?: TrackingRun[];
    replicas?: { one: ReplicaRun[]; two: ReplicaRun[] };
    startup?: StartupResult;
    submission?: SubmissionRun[];
  },
  startedAt: Date,
  seconds: number,
): string {
  const r = <K extends keyof ReplicaRun>(runs: ReplicaRun[], key: K) => figure(runs.map((run) => run[key]));
  const { ack, tracking, replicas } = sections;
  const writtenAt = startedAt.toISOString();
  const measured = headlineFigures(sections);
  const previous = readRecorded(settings.out);
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (scripts/bench/run.ts) on ${startedAt.toISOString()}, in ${seconds.toFixed(0)} s. Everything on loopback;`,
    'the load generator, the fakes (src/demo/fakes: Slack and Image Builder) and the bot are separate processes.',
    `Each figure is the median of ${settings.runs} runs${ackRunsNote()}, with the spread (min–max) in brackets when the runs differ.`,
    '',
    '## Machine',
    '',
    machine(),
    '',
    '## Settings',
    '',
    ...settingsLines(),
    '',
    ...headlineSection(writtenAt, measured, previous, verdict),
    '',
  ];
  if (ack) lines.push(...ackSection(ack), '');
  if (tracking) lines.push(...trackingSection(tracking), '');
  if (sections.freshness) lines.push(...freshnessSection(sections.freshness), '');
  if (replicas) {
    lines.push(
      '## 3. Replicas',
      '',
      `${settings.replicaComposes} composes seeded as above in a fresh PostgreSQL schema (127.0.0.1:5432) per run, then two bots on it,`,
      `side by side with one bot on the same setup (same factor ${settings.factor}, same Slack scale ${settings.slackScale}); a run ends when every`,
      `thread is final, or after ${settings.replicaSeconds} s. Duplicates: parent posts beyond one per compose plus thread replies beyond two`,
      '(status and result), counted at the fake Slack.',
      '',
      '| figure | one replica | two replicas | target | result |',
      '|---|---|---|---|---|',
      `| duplicates | ${show(r(replicas.one, 'duplicates'), 0)} | ${show(r(replicas.two, 'duplicates'), 0)} | 0 | ${verdict(r(replicas.two, 'duplicates').max === 0)} |`,
      `| composes whose final state reached Slack | ${show(r(replicas.one, 'complete'), 0)} | ${show(r(replicas.two, 'complete'), 0)} | ${settings.replicaComposes} | |`,
      `| time until every thread was final (wall s) | ${show(r(replicas.one, 'allFinalSeconds'))} | ${show(r(replicas.two, 'allFinalSeconds'))} | | |`,
      `| Image Builder requests/s, wall | ${show(r(replicas.one, 'imageBuilderRps'))} | ${show(r(replicas.two, 'imageBuilderRps'))} | | |`,
      `| Slack 429s | ${show(r(replicas.one, 'rateLimited'), 0)} | ${show(r(replicas.two, 'rateLimited'), 0)} | 0 | ${verdict(r(replicas.two, 'rateLimited').max === 0)} |`,
      '',
    );
  }
  if (sections.startup) lines.push(...startupSection(sections.startup, { percentile, verdict }), '');
  if (sections.submission) {
    const showRuns = (values: number[], digits?: number) => show(figure(values), digits);
    lines.push(...submissionSection(sections.submission, { percentile, verdict, show: showRuns, median }), '');
  }
  const skipped = PHASE_NAMES.filter((p) => !settings.phases.includes(p));
  if (skipped.length > 0) lines.push('## Not measured', '', `Phases not run this time: ${skipped.join(', ')}.`, '');
  lines.push(recordedComment(recordedNow(writtenAt, measured, previous)), '');
  return lines.join('\n');
}

async function main() {
  const startedAt = new Date();
  console.log(`bench: ${JSON.stringify(settings)}`);
  const sections: Sections = {};
  if (settings.phases.includes('ack')) {
    console.log('1. ack latency…');
    sections.ack = await ackLatency();
  }
  if (settings.phases.includes('tracking')) {
    console.log(
      `2. tracking at scale: ${settings.composes} composes, factor ${settings.factor}, at most ${settings.trackSeconds} s a run…`,
    );
    sections.tracking = [];
    for (let run = 0; run < settings.runs; run += 1) {
      sections.tracking.push(await trackingRun(run));
      console.log(`   run ${run + 1}: ${JSON.stringify(sections.tracking.at(-1))}`);
    }
  }
  if (settings.phases.includes('freshness')) {
    const pace = { factor: settings.freshFactor, slackScale: settings.freshFactor };
    console.log(`2b. freshness: ${settings.freshComposes} composes, factor ${pace.factor}…`);
    sections.freshness = [];
    // Long enough for a whole compose at this pace, its edits and the quiet period after them.
    const capSeconds = Math.ceil((REAL_COMPOSE_MINUTES * 60 * 2) / pace.factor + 30);
    for (let run = 0; run < settings.runs; run += 1) {
      sections.freshness.push(await trackingRun(run, settings.freshComposes, pace, capSeconds));
      console.log(`   run ${run + 1}: ${JSON.stringify(sections.freshness.at(-1))}`);
    }
  }
  if (settings.phases.includes('replicas')) {
    console.log('3. replicas…');
    const replicas = { one: [] as ReplicaRun[], two: [] as ReplicaRun[] };
    for (let run = 0; run < settings.runs; run += 1) {
      replicas.one.push(await replicaRun(run, 1));
      replicas.two.push(await replicaRun(run, 2));
      console.log(
        `   run ${run + 1}: one ${JSON.stringify(replicas.one.at(-1))} two ${JSON.stringify(replicas.two.at(-1))}`,
      );
    }
    sections.replicas = replicas;
  }
  if (settings.phases.includes('startup')) {
    console.log(`4. install and start: npm ci cold and warm, ${settings.startupRuns} starts…`);
    const startFakes = () => Fakes.start({ factor: 1, slackScale: 1, seed: settings.seed });
    sections.startup = await startupPhase({
      root: ROOT,
      runs: settings.startupRuns,
      startFakes,
      botEnv,
      spawn: spawnWithinBotMemory,
      bareApp: {
        script: await compiled('scripts/bench/bareApp.ts'),
        args: (fakes) => [SIGNING_SECRET, BOT_TOKEN, fakes.slackUrl],
      },
    });
  }
  if (settings.phases.includes('submission')) {
    console.log('5. submission in a busy channel…');
    sections.submission = await submissionPhase({
      runs: settings.runs,
      signingSecret: SIGNING_SECRET,
      startFakes: () =>
        Fakes.start({ factor: 1, slackScale: 1, seed: settings.seed, submissions: { script: SCRIPT } }).then(
          (fakes) => ({ ready: fakes.ready, ask: (request) => fakes.ask(request), stop: () => fakes.stop() }),
        ),
      startBot: (fakes, extra) => spawnServer('src/index.ts', [], botEnv(fakes, extra)),
    });
  }
  const text = report(sections, startedAt, (Date.now() - startedAt.getTime()) / 1000);
  mkdirSync(path.dirname(settings.out), { recursive: true });
  writeFileSync(settings.out, text);
  console.log(`\n${text}\nwritten to ${path.relative(process.cwd(), settings.out) || settings.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
