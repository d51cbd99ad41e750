import { execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { imageNode, imageNodeOptions, imageProcessEnv } from './imageRuntime';
import type { LimitedChild } from './memoryLimit';
import type { FakesReady } from './protocol';

/*
 * The bench's `startup` phase: what an operator waits for when installing and starting the bot.
 *   1. `npm ci` in a fresh clone of the repository's HEAD, once with an empty npm cache (cold: everything downloaded)
 *      and once with the normal cache (warm). One run each: each takes tens of seconds, and the network decides most.
 *   2. The bot as the image starts it (`node dist/index.js`, built once here with `npm run build`, the Dockerfile's
 *      NODE_OPTIONS and GLIBC_TUNABLES, within the Deployment's memory limit where the bench can apply it, as those
 *      flags size the heap from it) with a new SQLite file and the fakes, from spawning it to the first /readyz that answers 200: on
 *      this bench's Node.js, and on the image's release where that is another one (it is what production runs, and
 *      V8 sizes memory differently from one release to the next).
 *   3. Its resident memory after it has been ready and idle for IDLE_MS (VmRSS), and its peak so far (VmHWM), on the
 *      first IDLE_STARTS starts of each release.
 *   4. The same idle memory of the bare Bolt app (bareApp.ts), started the same way: what any Bolt app in HTTP mode
 *      holds on that release before it does anything of its own, the floor under the bot's figure.
 */

/**
 * How long the bot is left idle after it is ready before its memory is read: well past V8's memory reducer, which
 * shrinks the heap grown while modules load some 8–15 s after the activity stops (read at 10 s, RSS was sometimes
 * ~20 MB higher, depending on when the reducer ran).
 */
const IDLE_MS = 25_000;
/** How many starts on each release are left idle for their memory; the others only time the start. */
const IDLE_STARTS = 3;
/** How often /readyz is asked while the bot starts. */
const POLL_MS = 10;
/** A start slower than this is a failure, not a figure. */
const START_TIMEOUT_MS = 30_000;

export interface StartupFakes {
  ready: FakesReady;
  stop(): Promise<void>;
}

export interface StartupOptions {
  root: string;
  runs: number;
  startFakes(): Promise<StartupFakes>;
  /** The bot's environment against the fakes, with `extra` on top (run.ts's botEnv). */
  botEnv(fakes: FakesReady, extra: Record<string, string>): Record<string, string>;
  /** Spawns the bot as run.ts spawns every bot: within the Deployment's memory limit where it can. */
  spawn(command: string, args: string[], options: SpawnOptions): LimitedChild;
  /** The compiled bare Bolt app, and its arguments against the fakes. */
  bareApp: { script: string; args(fakes: FakesReady): string[] };
}

/** Seconds, or why it could not be measured. */
type Timed = { seconds: number } | { error: string };

/** A Node.js release the bot is started on. */
interface Runtime {
  label: string;
  node: string;
  version: string;
}

/** Per start on one release: spawn to the first /readyz 200; and memory after IDLE_MS of idling, per idle start. */
export interface RuntimeStarts extends Runtime {
  readyMs: number[];
  idleRssMb: number[];
  peakRssMb: number[];
  /** The bare Bolt app's memory after IDLE_MS of idling, per start. */
  bareIdleRssMb: number[];
}

export interface StartupResult {
  install: { cold: Timed; warm: Timed };
  buildSeconds: number;
  /** The Dockerfile's NODE_OPTIONS, which every start is given. */
  nodeOptions: string[];
  /** The Dockerfile's environment below the bot's own settings (GLIBC_TUNABLES), which every start is given too. */
  processEnv: Record<string, string>;
  /** This bench's Node.js first (the figures compared run to run), then the image's where it is another release. */
  starts: RuntimeStarts[];
  imageNodeError?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** npm as `npm run bench` runs it (npm_execpath), on this Node, so every step uses the same versions. */
function npm(args: string[], cwd: string): void {
  const cli = process.env.npm_execpath;
  const [command, commandArgs] = cli ? [process.execPath, [cli, ...args]] : ['npm', args];
  execFileSync(command, commandArgs, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` },
  });
}

function timed(step: () => void): Timed {
  const started = performance.now();
  try {
    step();
    return { seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').at(-1);
    return { error: stderr || (error instanceof Error ? error.message : String(error)) };
  }
}

/** `npm ci` in a fresh clone of HEAD; `cache` is the npm cache folder to use, or undefined for the normal one. */
function timeInstall(root: string, work: string, name: string, cache: string | undefined): Timed {
  const clone = path.join(work, name);
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, clone], { stdio: 'ignore' });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  execFileSync('git', ['checkout', '--quiet', head], { cwd: clone, stdio: 'ignore' });
  const result = timed(() => npm(['ci', '--no-audit', '--no-fund', ...(cache ? ['--cache', cache] : [])], clone));
  rmSync(clone, { recursive: true, force: true });
  return result;
}

/** A port nobody listens on now, so that /readyz can be asked from the moment the bot is spawned. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function memoryMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

async function answersReady(url: string): Promise<boolean> {
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await answer.body?.cancel();
    return answer.status === 200;
  } catch {
    return false;
  }
}

async function stopBot(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(12_000)]);
  child.kill('SIGKILL');
}

/** The last 5000 characters a process has written to its standard error so far, as they come. */
function tail(child: ChildProcess): () => string {
  let written = '';
  child.stderr!.on('data', (chunk: Buffer) => (written = (written + chunk.toString()).slice(-5000)));
  return () => written;
}

const oomReason = (oomKilled: () => boolean) =>
  oomKilled() ? ': the kernel killed it for going over its memory limit' : '';

/** Waits until `ready()` holds; fails with `failure()` once the process has ended or START_TIMEOUT_MS have passed. */
async function untilReady(
  child: ChildProcess,
  ready: () => boolean | Promise<boolean>,
  failure: () => string,
): Promise<void> {
  const started = performance.now();
  while (!(await ready())) {
    // A process killed by a signal (the kernel's OOM kill among them) has a signalCode and no exitCode.
    const ended = child.exitCode !== null || child.signalCode !== null;
    if (ended || performance.now() - started > START_TIMEOUT_MS) throw new Error(failure());
    await sleep(POLL_MS);
  }
}

/** One start in a folder of its own (the bot reads a .env where it starts): ready time, then idle memory. */
async function startOnce(
  options: StartupOptions,
  runtime: Runtime & Pick<StartupResult, 'nodeOptions' | 'processEnv'>,
  fakes: FakesReady,
  work: string,
  idle: boolean,
): Promise<{ readyMs: number; idleRssMb?: number; peakRssMb?: number }> {
  const healthPort = await freePort();
  const env = options.botEnv(fakes, {
    ...runtime.processEnv,
    DATABASE_URL: `sqlite:${path.join(work, 'bot.sqlite')}`,
    HEALTH_PORT: String(healthPort),
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
  });
  const started = performance.now();
  const { child, oomKilled } = options.spawn(
    runtime.node,
    [...runtime.nodeOptions, path.join(options.root, 'dist', 'index.js')],
    {
      cwd: work,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr = tail(child);
  try {
    await untilReady(
      child,
      () => answersReady(`http://127.0.0.1:${healthPort}/readyz`),
      () => `the bot did not get ready on Node.js ${runtime.version}${oomReason(oomKilled)}; it wrote:\n${stderr()}`,
    );
    const readyMs = performance.now() - started;
    if (!idle) return { readyMs };
    await sleep(IDLE_MS);
    return { readyMs, idleRssMb: memoryMb(child.pid, 'VmRSS'), peakRssMb: memoryMb(child.pid, 'VmHWM') };
  } finally {
    await stopBot(child);
  }
}

/** The bare Bolt app started as the bot is (release, flags, environment, memory limit): its memory after IDLE_MS. */
async function bareIdleRssMb(
  options: StartupOptions,
  runtime: Runtime & Pick<StartupResult, 'nodeOptions' | 'processEnv'>,
  fakes: FakesReady,
): Promise<number> {
  const { child, oomKilled } = options.spawn(
    runtime.node,
    [...runtime.nodeOptions, options.bareApp.script, ...options.bareApp.args(fakes)],
    { cwd: options.root, env: { ...runtime.processEnv, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr = tail(child);
  try {
    // It has no /readyz: it is ready once it logs the port it listens on.
    await untilReady(
      child,
      () => /"port":\d+/.test(stderr()),
      () =>
        `the bare Bolt app did not start on Node.js ${runtime.version}${oomReason(oomKilled)}; it wrote:\n${stderr()}`,
    );
    await sleep(IDLE_MS);
    return memoryMb(child.pid, 'VmRSS');
  } finally {
    await stopBot(child);
  }
}

/** The Node.js releases to start the bot on: this bench's, and the image's where it is another release. */
function runtimes(root: string): { runtimes: Runtime[]; imageNodeError?: string } {
  const own: Runtime = { label: "the bench's", node: process.execPath, version: process.version };
  const image = imageNode(root);
  if ('error' in image) return { runtimes: [own], imageNodeError: image.error };
  if (image.version === own.version) return { runtimes: [{ ...own, label: "the bench's and the image's" }] };
  return { runtimes: [own, { label: "the image's", ...image }] };
}

export async function startupPhase(options: StartupOptions): Promise<StartupResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ibb-bench-startup-'));
  try {
    const install = {
      cold: timeInstall(options.root, work, 'cold', path.join(work, 'empty-npm-cache')),
      warm: timeInstall(options.root, work, 'warm', undefined),
    };
    const buildStarted = performance.now();
    npm(['run', 'build'], options.root);
    const buildSeconds = (performance.now() - buildStarted) / 1000;
    const { runtimes: toStart, imageNodeError } = runtimes(options.root);
    const result: StartupResult = {
      install,
      buildSeconds,
      nodeOptions: imageNodeOptions(options.root),
      processEnv: imageProcessEnv(options.root),
      starts: [],
      ...(imageNodeError ? { imageNodeError } : {}),
    };
    const fakes = await options.startFakes();
    try {
      for (const runtime of toStart) {
        const starts: RuntimeStarts = { ...runtime, readyMs: [], idleRssMb: [], peakRssMb: [], bareIdleRssMb: [] };
        const started = { ...runtime, nodeOptions: result.nodeOptions, processEnv: result.processEnv };
        // Alternating would mix the page cache of two binaries; each release gets its starts in a row instead.
        for (let run = 0; run < options.runs; run += 1) {
          const folder = mkdtempSync(path.join(work, 'run-'));
          const measured = await startOnce(options, started, fakes.ready, folder, run < IDLE_STARTS);
          starts.readyMs.push(measured.readyMs);
          if (measured.idleRssMb !== undefined) starts.idleRssMb.push(measured.idleRssMb);
          if (measured.peakRssMb !== undefined) starts.peakRssMb.push(measured.peakRssMb);
          console.log(`   start ${run + 1} on Node.js ${runtime.version}: ${JSON.stringify(measured)}`);
        }
        for (let run = 0; run < IDLE_STARTS; run += 1) {
          starts.bareIdleRssMb.push(await bareIdleRssMb(options, started, fakes.ready));
          console.log(
            `   bare Bolt app ${run + 1} on Node.js ${runtime.version}: ${starts.bareIdleRssMb.at(-1)} MB idle`,
          );
        }
        result.starts.push(starts);
      }
    } finally {
      await fakes.stop();
    }
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What the report needs from run.ts, so that there is one percentile and one verdict. */
export interface ReportHelpers {
  percentile(values: number[], p: number): number;
  verdict(pass: boolean): string;
}

export function startupSection(result: StartupResult, { percentile, verdict }: ReportHelpers): string[] {
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
  const install = (t: Timed) => ('seconds' in t ? fmt(t.seconds, 1) : `failed: ${t.error}`);
  const each = (figure: (starts: RuntimeStarts) => string) => result.starts.map(figure).join(' | ');
  const rowOf = (
    label: string,
    figure: (starts: RuntimeStarts) => string,
    target = '',
    met?: (s: RuntimeStarts) => boolean,
  ) =>
    `| ${label} | ${each(figure)} | ${target} | ${met ? result.starts.map((s) => verdict(met(s))).join(' / ') : ''} |`;
  const p50 = (s: RuntimeStarts) => percentile(s.readyMs, 50);
  const idle = (s: RuntimeStarts) => percentile(s.idleRssMb, 50);
  // npm ci runs once, on this bench's Node: the other releases' cells stay empty.
  const otherReleases = ' |'.repeat(Math.max(0, result.starts.length - 1));
  const tunables = Object.entries(result.processEnv)
    .map(([name, value]) => ` and ${name} (\`${value}\`)`)
    .join('');
  const runtimesText = result.starts.map((s) => `${s.label} Node.js ${s.version}`).join(' and ');
  return [
    '## Install and start',
    '',
    "`npm ci` in a fresh clone of the repository's HEAD, one run each: cold (`--cache` an empty folder, everything",
    'downloaded from the registry) and warm (the normal npm cache). Then the bot as the image starts it: `node dist/index.js`',
    `(built once by \`npm run build\`, ${fmt(result.buildSeconds, 1)} s; no build step at start) with the Dockerfile's NODE_OPTIONS`,
    `(\`${result.nodeOptions.join(' ')}\`)${tunables} within the memory limit of Settings, a new SQLite file each run and the fakes, on ${runtimesText};`,
    `${result.starts[0]?.readyMs.length ?? 0} starts on each, from spawning the process to the first \`/readyz\` answering 200`,
    `(asked every ${POLL_MS} ms); the first ${IDLE_STARTS} on each are then left idle, and their memory read after ${IDLE_MS / 1000} s`,
    '(/proc/PID/status). The bare Bolt app (scripts/bench/bareApp.ts: HTTP mode, one command that opens a one-field',
    `modal) is started ${IDLE_STARTS} times on each the same way, and its memory read after the same idle time: what any`,
    "Bolt app holds on that release before it does anything of its own, the floor under the bot's figure. On Node.js 24",
    'that floor is high: V8 there waits 100 s to shrink an idle heap, which the bot works around and the bare app does',
    'not (src/platform/memoryReducer.ts).',
    ...(result.imageNodeError
      ? ['', `The image's Node.js could not be installed, so only this one was measured: ${result.imageNodeError}`]
      : []),
    '',
    `| figure | ${result.starts.map((s) => `Node.js ${s.version}`).join(' | ')} | target | result |`,
    `|---|${result.starts.map(() => '---|').join('')}---|---|`,
    `| \`npm ci\`, cold cache (s) | ${install(result.install.cold)} |${otherReleases} | |`,
    `| \`npm ci\`, warm cache (s) | ${install(result.install.warm)} |${otherReleases} | |`,
    rowOf(
      'spawn to /readyz 200, p50 (ms)',
      (s) => fmt(p50(s)),
      '≤ 1000',
      (s) => p50(s) <= 1000,
    ),
    rowOf('spawn to /readyz 200, p90 (ms)', (s) => fmt(percentile(s.readyMs, 90))),
    rowOf('spawn to /readyz 200, max (ms)', (s) => fmt(Math.max(...s.readyMs))),
    rowOf(
      'idle RSS, median (MB)',
      (s) => fmt(idle(s), 1),
      '≤ 80',
      (s) => idle(s) <= 80,
    ),
    rowOf('idle RSS, max (MB)', (s) => fmt(Math.max(...s.idleRssMb), 1)),
    rowOf('idle RSS of the bare Bolt app, median (MB)', (s) => fmt(percentile(s.bareIdleRssMb, 50), 1)),
    rowOf('peak RSS (VmHWM), median (MB)', (s) => fmt(percentile(s.peakRssMb, 50), 1)),
  ];
}
