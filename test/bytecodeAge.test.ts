import { execFileSync } from 'node:child_process';
import path from 'node:path';

/*
 * dropStartupBytecodeSooner, in a Node.js process of its own (it sets a V8 flag for the whole process): a function
 * called once keeps its bytecode through a few natural full collections on V8's default, and loses it with the
 * bot's setting. How much memory that saves an idle bot is measured by `npm run bench` (idle RSS), not here.
 */

const ROOT = path.resolve(__dirname, '..');

const SCRIPT = `
const v8 = require('node:v8');
const { PerformanceObserver, constants } = require('node:perf_hooks');
if (process.argv[1] === 'bot') require('./src/platform/bytecodeAge.ts').dropStartupBytecodeSooner();
const bytecode = () => v8.getHeapCodeStatistics().bytecode_and_metadata_size;
let majors = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors += 1;
});
observer.observe({ entryTypes: ['gc'] });
// Garbage enough for V8 to collect in full of its own accord; gc() would be a forced collection, which drops nothing.
let kept = [];
const untilMajors = (count, then) => {
  for (let i = 0; i < 40; i += 1) {
    kept.push(new Array(100000).fill(i));
    if (kept.length > 20) kept = [];
  }
  if (majors < count) return setImmediate(() => untilMajors(count, then));
  then();
};
// Settled first (the loader's own garbage collected), then a function of some 70 kB of bytecode is called once.
untilMajors(1, () => {
  const body = Array.from({ length: 3000 }, (_, i) => 'x = (x * ' + (i + 1) + ' + ' + i + ') % 1000003;').join('\\n');
  const unused = bytecode();
  const once = new Function('x', body + '\\nreturn x;');
  once(1);
  const compiled = bytecode() - unused;
  // Still reachable, as a module's set-up code is: only its bytecode may go.
  globalThis.calledOnce = once;
  const seen = majors;
  untilMajors(seen + 2, () => {
    observer.disconnect();
    // Called again: bytecode it kept runs as it is (V8 may still add some 10 kB of its metadata), bytecode it dropped
    // is compiled again. Measured on this call alone, as V8 may drop other code's bytecode meanwhile (it did, under
    // load, on its default).
    const before = bytecode();
    globalThis.calledOnce(1);
    process.stdout.write(JSON.stringify({ majors: majors - seen, compiled, recompiled: bytecode() - before }));
    process.exit(0);
  });
});
`;

function run(setting: 'default' | 'bot'): { majors: number; compiled: number; recompiled: number } {
  const out = execFileSync(process.execPath, ['--require', './test/support/registerTs.cjs', '-e', SCRIPT, setting], {
    cwd: ROOT,
    encoding: 'utf8',
    // A small old space, so that full collections come after a few MB of garbage.
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=64' },
  });
  return JSON.parse(out) as { majors: number; compiled: number; recompiled: number };
}

it('keeps the bytecode of a function called once on V8 default', () => {
  const { majors, compiled, recompiled } = run('default');
  expect(majors).toBeGreaterThanOrEqual(2);
  expect(compiled).toBeGreaterThan(50_000);
  expect(recompiled).toBeLessThan(compiled / 2);
});

it("drops it with the bot's setting once full collections have passed", () => {
  const { majors, compiled, recompiled } = run('bot');
  expect(majors).toBeGreaterThanOrEqual(2);
  expect(recompiled).toBeGreaterThan(compiled / 2);
});
