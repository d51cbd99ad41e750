import { Script } from 'node:vm';

/*
 * Lets V8 give an idle bot's heap back on Node.js 24.
 *
 * Since V8 13.1 (Node.js 24) the memory reducer, which shrinks the heap once the process goes quiet, reads the
 * allocation rate of the C++ heap (cppgc) as the highest possible when nothing at all was allocated there, and so keeps
 * postponing: an idle bot held some 10 MB more than on Node.js 22 until a 100 s watchdog, and again after every burst
 * of work (https://issues.chromium.org/issues/570738027, https://github.com/nodejs/node/issues/66564). Compiling a
 * script allocates one small object on that heap (Node.js keeps a `vm.Script` there), which makes the rate low instead
 * of "unknown". Once is not enough, as the reading decays, hence a nudge every NUDGE_INTERVAL_MS. No library does
 * this; remove it once the Node.js the image ships carries the V8 fix.
 */

const NUDGE_INTERVAL_MS = 30_000;

export interface MemoryReducerNudge {
  stop(): void;
}

export function nudgeMemoryReducer(options: { intervalMs?: number; allocate?: () => void } = {}): MemoryReducerNudge {
  const allocate = options.allocate ?? (() => new Script('0'));
  allocate();
  const timer = setInterval(allocate, options.intervalMs ?? NUDGE_INTERVAL_MS);
  // It must not be what keeps the process alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
