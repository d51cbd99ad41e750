import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FakesReady } from './protocol';

/*
 * The bench's `startup` phase: what an operator waits for when installing and starting the bot.
 *   1. `npm ci` in a fresh clone of the repository's HEAD, once with an empty npm cache (cold: everything downloaded)
 *      and once with the normal cache (warm). One run each: each takes tens of seconds, and the network decides most.
 *   2. The bot as the image starts it (`node dist/index.js`, built once here with `npm run build`, the heap cap of the
 *      Dockerfile) with a new SQLite file and the fakes, from spawning it to the first /readyz that answers 200.
 *   3. Its resident memory after it has been ready and idle for IDLE_MS (VmRSS), and its peak so far (VmHWM).
 */

/**
 * How long the bot is left idle after it is ready before its memory is read: past V8's memory reducer, which shrinks
 * the heap grown while modules load about 8 s after the activity stops (before it, RSS reads ~20 MB higher).
 */
const IDLE_MS = 10_000;
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
}

/** Seconds, or why it could not be measured. */
type Timed = { seconds: number } | { error: string };

export interface StartupResult {
  install: { cold: Timed; warm: Timed };
  buildSeconds: number;
  /** Per run: spawn to the first /readyz 200, and memory after IDLE_MS of idling. */
  readyMs: number[];
  idleRssMb: number[];
  peakRssMb: number[];
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

/** One start in a folder of its own (the bot reads a .env where it starts): ready time, then idle memory. */
async function startOnce(options: StartupOptions, fakes: FakesReady, work: string) {
  const healthPort = await freePort();
  const env = options.botEnv(fakes, {
    DATABASE_URL: `sqlite:${path.join(work, 'bot.sqlite')}`,
    HEALTH_PORT: String(healthPort),
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
  });
  const started = performance.now();
  // The heap cap the image starts the bot with (Dockerfile NODE_OPTIONS).
  const child = spawn(process.execPath, ['--max-old-space-size=256', path.join(options.root, 'dist', 'index.js')], {
    cwd: work,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-5000)));
  try {
    while (!(await answersReady(`http://127.0.0.1:${healthPort}/readyz`))) {
      if (child.exitCode !== null || performance.now() - started > START_TIMEOUT_MS)
        throw new Error(`the bot did not get ready; it wrote:\n${errors}`);
      await sleep(POLL_MS);
    }
    const readyMs = performance.now() - started;
    await sleep(IDLE_MS);
    return { readyMs, idleRssMb: memoryMb(child.pid, 'VmRSS'), peakRssMb: memoryMb(child.pid, 'VmHWM') };
  } finally {
    await stopBot(child);
  }
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
    const result: StartupResult = {
      install,
      buildSeconds: (performance.now() - buildStarted) / 1000,
      readyMs: [],
      idleRssMb: [],
      peakRssMb: [],
    };
    const fakes = await options.startFakes();
    try {
      for (let run = 0; run < options.runs; run += 1) {
        const runFolder = mkdtempSync(path.join(work, 'run-'));
        const measured = await startOnce(options, fakes.ready, runFolder);
        result.readyMs.push(measured.readyMs);
        result.idleRssMb.push(measured.idleRssMb);
        result.peakRssMb.push(measured.peakRssMb);
        console.log(`   start ${run + 1}: ${JSON.stringify(measured)}`);
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
  const at = (values: number[], p: number) => percentile(values, p);
  const p50 = at(result.readyMs, 50);
  const idle = at(result.idleRssMb, 50);
  return [
    '## Install and start',
    '',
    "`npm ci` in a fresh clone of the repository's HEAD, one run each: cold (`--cache` an empty folder, everything",
    'downloaded from the registry) and warm (the normal npm cache). Then the bot as the image starts it: `node dist/index.js`',
    `(built once by \`npm run build\`, ${fmt(result.buildSeconds, 1)} s; no build step at start) with --max-old-space-size=256, a new SQLite`,
    `file each run and the fakes; ${result.readyMs.length} starts, each from spawning the process to the first \`/readyz\` answering 200`,
    `(asked every ${POLL_MS} ms), then its memory after ${IDLE_MS / 1000} s of idling (/proc/PID/status).`,
    '',
    '| figure | value | target | result |',
    '|---|---|---|---|',
    `| \`npm ci\`, cold cache (s) | ${install(result.install.cold)} | | |`,
    `| \`npm ci\`, warm cache (s) | ${install(result.install.warm)} | | |`,
    `| spawn to /readyz 200, p50 (ms) | ${fmt(p50)} | ≤ 1000 | ${verdict(p50 <= 1000)} |`,
    `| spawn to /readyz 200, p90 (ms) | ${fmt(at(result.readyMs, 90))} | | |`,
    `| spawn to /readyz 200, max (ms) | ${fmt(Math.max(...result.readyMs))} | | |`,
    `| idle RSS, median (MB) | ${fmt(idle, 1)} | ≤ 80 | ${verdict(idle <= 80)} |`,
    `| idle RSS, max (MB) | ${fmt(Math.max(...result.idleRssMb), 1)} | | |`,
    `| peak RSS (VmHWM), median (MB) | ${fmt(at(result.peakRssMb, 50), 1)} | | |`,
  ];
}
