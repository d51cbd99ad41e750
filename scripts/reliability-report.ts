import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FaultRecord } from '../test/faults/faultSupport';
import { summarizeSecretScan } from '../test/support/secretScanReport';

/*
 * Reruns the reliability tests (kill -9, fault injection, duplicate deliveries, malformed and hostile input, two
 * replicas) and writes what was tried, and the figures, to docs/reliability.md.
 *
 *   node --require ./test/support/registerTs.cjs scripts/reliability-report.ts [--out docs/reliability.md]
 *
 * Figures come from jest's --json results, from the JSON lines the fault tests append to FAULT_REPORT_FILE, and
 * from the summary lines the kill -9 tests print. Exits non-zero when a test failed, after writing the report.
 */

const ROOT = path.resolve(__dirname, '..');

interface Area {
  name: string;
  file: string;
  tried: string;
}

const AREAS: Area[] = [
  {
    name: 'Crashes (kill -9)',
    file: 'test/crash/killNine.test.ts',
    tried:
      'The bot as a child process, killed with SIGKILL at random moments while builds run and restarted on the same ' +
      'SQLite file; every build must end with one parent, one status reply, one result and one compose.',
  },
  {
    name: 'Crashes (kill -9, two replicas)',
    file: 'test/crash/killNineReplicas.test.ts',
    tried:
      'Two bot processes on one PostgreSQL schema, builds ordered through either; one killed with SIGKILL at random ' +
      'moments (mid-step, as Slack takes its post, or any time), sometimes left down past its leases, and restarted while ' +
      'the other runs on. Every build must end with one parent, one status reply, one result and one compose; the only ' +
      "duplicate allowed is a post cut off between Slack's answer and the saved ts.",
  },
  {
    name: 'Image Builder flaky',
    file: 'test/faults/imageBuilderFlaky.test.ts',
    tried:
      'A loopback proxy answering ~30% of status polls with 503, HTML 502, connection resets, answers that never come ' +
      '(client timeout 0.4 s) and slowly trickled bodies; the token endpoint failing at start and again mid-run after ' +
      'every token was revoked. Every build must reach one result, with no unhandled rejection and far fewer warnings than faults.',
  },
  {
    name: 'Slack rate limits and 5xx',
    file: 'test/faults/slackRateLimits.test.ts',
    tried:
      'chat.postMessage and chat.update answered 429 (Retry-After: 1) and 503 for a while; every thread must end showing ' +
      'its final state, in order, and no edit may show an older state over a newer one.',
  },
  {
    name: 'Store faults',
    file: 'test/faults/storeFaults.test.ts',
    tried:
      'The SQLite connection turned read-only mid-step; the SQLite file "full" (max_page_count); PostgreSQL cut off ' +
      'behind a loopback TCP proxy and restored. /readyz must turn 503 naming the store, new orders be refused in the ' +
      'modal, and tracked builds finish once the store is back.',
  },
  {
    name: 'Duplicate deliveries',
    file: 'test/e2e/idempotency.test.ts',
    tried: 'The same view_submission, button press and Events API delivery arriving twice, at once or after an answer.',
  },
  {
    name: 'Malformed input',
    file: 'test/e2e/malformedInput.test.ts',
    tried:
      'Malformed requests to /slack/events, and malformed or unexpected answers from Image Builder during a build.',
  },
  {
    name: 'Hostile input',
    file: 'test/e2e/hostileInput.test.ts',
    tried: 'Generated command texts and modal values (fast-check) sent through the signed Slack endpoint.',
  },
  {
    name: 'Replicas',
    file: 'test/e2e/replicas.test.ts',
    tried:
      'Two replicas on one PostgreSQL database, and one of them dying mid-build; 20 forms of one person submitted at ' +
      'once with in_flight_per_user: 1, to one replica and split across two, must store exactly one request.',
  },
  {
    name: 'HTTP and response_url boundaries',
    file: 'test/e2e/boundaries.test.ts',
    tried:
      'Bodies over 1 MiB (declared and chunked), headers or bodies trickled past 10 s, connections past the cap; ' +
      "response_url values naming another loopback host, Slack's host as a user name, a path that extends the " +
      'prefix without its slash, and a loopback admin URL sent over Socket Mode: none may be read whole or posted to.',
  },
  {
    name: 'Other organisations',
    file: 'test/e2e/externalTeams.test.ts',
    tried:
      "Commands, form submissions and button presses signed for the workspace but carrying another team's user " +
      '(a Slack Connect channel): each refused with a message and nothing stored, unless the policy lists the team.',
  },
  {
    name: 'Who sees a build',
    file: 'test/e2e/statusCommand.test.ts',
    tried:
      "/image-builder status of someone else's build (private channel, public channel, another channel), of a compose " +
      'the bot did not order, and by someone the policy refuses: share targets, commands and download links only to ' +
      'those who may see the build.',
  },
  {
    name: 'Store under lock contention',
    file: 'test/e2e/storeContention.test.ts',
    tried:
      'A real SQLite file write-locked by another connection while a form is submitted: the form must be answered "could not be saved" inside Slack\'s 3 seconds.',
  },
  {
    name: "The service's real answers",
    file: 'test/e2e/realComposes.test.ts',
    tried:
      "The web console's and the service's own compose bodies: successes of vSphere, installer ISO and OCI, " +
      'image-mode composes, an empty status with an error, the real 404 and a compose deleted mid-build.',
  },
  {
    name: 'Secrets',
    file: 'test/security/secretSentinel.test.ts',
    tried:
      'The leak checker every test runs under (known values for every secret; logs, Slack calls, answers, child output ' +
      'and errors scanned raw and encoded) catches each kind of leak; the files above ran under it too.',
  },
];

interface JestAssertion {
  fullName: string;
  status: 'passed' | 'failed' | 'pending' | 'skipped' | 'todo' | 'disabled' | 'focused';
  duration?: number | null;
  failureMessages: string[];
}

interface JestFileResult {
  name: string;
  status: string;
  message: string;
  startTime: number;
  endTime: number;
  assertionResults: JestAssertion[];
}

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  success: boolean;
  testResults: JestFileResult[];
}

function runJest(
  files: string[],
  jsonFile: string,
  faultFile: string,
  secretScanFile: string,
): { report: JestReport; output: string; ms: number } {
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/jest/bin/jest.js'), '--json', `--outputFile=${jsonFile}`, '--forceExit', ...files],
    {
      cwd: ROOT,
      env: { ...process.env, FAULT_REPORT_FILE: faultFile, SECRET_SCAN_REPORT_FILE: secretScanFile },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  if (!existsSync(jsonFile)) throw new Error(`jest wrote no results (exit ${run.status}):\n${output.slice(-4000)}`);
  return { report: JSON.parse(readFileSync(jsonFile, 'utf8')) as JestReport, output, ms: Date.now() - started };
}

function readFaultRecords(file: string): FaultRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FaultRecord);
}

/** Generated inputs per run of the hostile-input properties: RUNS times the number of properties using it. */
function hostileInputsPerRun(): number {
  const source = readFileSync(path.join(ROOT, 'test/e2e/hostileInput.test.ts'), 'utf8');
  const runs = Number(/const RUNS = (\d+)/.exec(source)?.[1] ?? 0);
  return runs * (source.match(/numRuns: RUNS/g)?.length ?? 0);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function main() {
  const outArg = process.argv.indexOf('--out');
  const outFile = path.resolve(ROOT, outArg > 0 ? process.argv[outArg + 1]! : 'docs/reliability.md');
  const work = mkdtempSync(path.join(os.tmpdir(), 'ibb-reliability-'));
  const faultFile = path.join(work, 'faults.jsonl');
  const jsonFile = path.join(work, 'jest.json');
  const secretScanFile = path.join(work, 'secret-scan.jsonl');
  try {
    const { report, output, ms } = runJest(
      AREAS.map((a) => a.file),
      jsonFile,
      faultFile,
      secretScanFile,
    );
    const secrets = summarizeSecretScan(secretScanFile);
    const records = readFaultRecords(faultFile);
    const byFile = new Map(report.testResults.map((r) => [path.relative(ROOT, r.name), r]));

    const killLine = /kill -9 test: seed (\d+), (\d+) builds, (\d+) kills in/.exec(output);
    const killsSurvived =
      killLine && byFile.get('test/crash/killNine.test.ts')?.status === 'passed' ? Number(killLine[3]) : 0;
    const replicaKillLine = /kill -9 replicas test: seed (\d+), (\d+) builds, (\d+) kills in/.exec(output);
    const replicaKillsPassed =
      Boolean(replicaKillLine) && byFile.get('test/crash/killNineReplicas.test.ts')?.status === 'passed';
    const replicaKillsSurvived = replicaKillsPassed ? Number(replicaKillLine![3]) : 0;
    const replicaPostedTwice =
      /kill -9 replicas test: seed \d+, \d+ builds,.*\n.*\n.*posts cut off, so posted twice: (\d+) of (\d+)/.exec(
        output,
      );
    const faultsInjected = sum(records.map((r) => sum(Object.values(r.faults))));
    const faultsByKind = new Map<string, number>();
    for (const r of records)
      for (const [kind, n] of Object.entries(r.faults)) faultsByKind.set(kind, (faultsByKind.get(kind) ?? 0) + n);
    const malformed = byFile.get('test/e2e/malformedInput.test.ts')?.assertionResults.length ?? 0;
    const hostileRan = byFile.get('test/e2e/hostileInput.test.ts')?.status === 'passed' ? hostileInputsPerRun() : 0;
    const findings = records.filter((r) => r.finding).map((r) => `${r.area} — ${r.test}: ${r.finding}`);
    const failedTests = report.testResults.flatMap((f) =>
      f.assertionResults
        .filter((a) => a.status === 'failed')
        .map((a) => `${path.relative(ROOT, f.name)} — ${a.fullName}`),
    );
    const brokenFiles = report.testResults.filter(
      (f) => f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed'),
    );

    const lines: string[] = [
      '# Reliability',
      '',
      `Written by \`scripts/reliability-report.ts\`, which reruns the tests below; do not edit by hand.`,
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
        `${os.platform()} ${os.release()}, Node ${process.version}`,
      `- Duration: ${seconds(ms)} (jest, all files below, in parallel)`,
      `- Result: ${report.numPassedTests} of ${report.numTotalTests} tests passed, ${report.numFailedTests} failed` +
        (report.numPendingTests ? `, ${report.numPendingTests} skipped` : ''),
      '',
      '## Figures',
      '',
      '| What | Count |',
      '| --- | ---: |',
      `| Faults injected (fault tests) | ${faultsInjected} |`,
      `| Kills survived (kill -9, SQLite) | ${killsSurvived} |`,
      `| Builds driven through those kills | ${killsSurvived ? Number(killLine![2]) : 0} |`,
      `| Kills survived (kill -9 of one of two replicas, PostgreSQL) | ${replicaKillsSurvived} |`,
      `| Builds driven through those kills | ${replicaKillsSurvived ? Number(replicaKillLine![2]) : 0} |`,
      `| Inputs tried (hostile generated + malformed cases) | ${hostileRan + malformed} |`,
      `| Log lines / Slack calls / other outputs scanned for known secrets, in the files above | ` +
        `${secrets.scanned['log line']} / ${secrets.scanned['Slack call']} / ` +
        `${secrets.total - secrets.scanned['log line'] - secrets.scanned['Slack call']} |`,
      `| Secrets leaked (every test of \`npm test\` runs under the same check) | ${secrets.leaks} |`,
      `| Builds driven through faults | ${sum(records.map((r) => r.builds))} |`,
      `| Failures found (known bugs held by it.failing, plus failing tests) | ${findings.length + failedTests.length} |`,
      '',
      'Faults by kind:',
      '',
      '| Kind | Count |',
      '| --- | ---: |',
      ...[...faultsByKind].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `| ${kind} | ${n} |`),
      '',
      '## What was tried',
      '',
      '| Area | File | Tried | Tests | Result | Time |',
      '| --- | --- | --- | ---: | --- | ---: |',
      ...AREAS.map((area) => {
        const result = byFile.get(area.file);
        if (!result) return `| ${area.name} | \`${area.file}\` | ${cell(area.tried)} | 0 | not run | |`;
        const passed = result.assertionResults.filter((a) => a.status === 'passed').length;
        return (
          `| ${area.name} | \`${area.file}\` | ${cell(area.tried)} | ${passed}/${result.assertionResults.length} | ` +
          `${result.status} | ${seconds(result.endTime - result.startTime)} |`
        );
      }),
      '',
      '## Fault runs',
      '',
      '| Area | Run | Faults | Builds | Seed | Notes |',
      '| --- | --- | --- | ---: | ---: | --- |',
      ...records.map(
        (r) =>
          `| ${r.area} | ${cell(r.test)} | ${Object.entries(r.faults)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', ')} | ${r.builds} | ${r.seed ?? ''} | ${cell(r.notes ?? '')} |`,
      ),
      ...(killLine
        ? [
            '',
            `kill -9: seed ${killLine[1]}, ${killLine[2]} builds, ${killLine[3]} kills (rerun with KILL_NINE_SEED=${killLine[1]}).`,
          ]
        : []),
      ...(replicaKillLine
        ? [
            '',
            `kill -9 of one of two replicas: seed ${replicaKillLine[1]}, ${replicaKillLine[2]} builds, ${replicaKillLine[3]} kills` +
              (replicaPostedTwice
                ? `, ${replicaPostedTwice[1]} of ${replicaPostedTwice[2]} posts cut off by a kill and so posted twice`
                : '') +
              ` (rerun with KILL_NINE_REPLICAS_SEED=${replicaKillLine[1]}).`,
          ]
        : []),
      '',
      '## Failures found',
      '',
      ...(findings.length + failedTests.length + brokenFiles.length === 0
        ? ['None in this run.']
        : [
            ...findings.map((f) => `- Known bug (held by an \`it.failing\` test or reported by a test): ${f}`),
            ...failedTests.map((f) => `- Failed in this run: ${f}`),
            ...brokenFiles.map(
              (f) => `- File failed to run: \`${path.relative(ROOT, f.name)}\`: ${cell(f.message.slice(0, 300))}`,
            ),
          ]),
      '',
      'Replay a fault run with `FAULT_SEED=<seed>`, a kill -9 run with `KILL_NINE_SEED=<seed>` (two replicas: `KILL_NINE_REPLICAS_SEED=<seed>`).',
      '',
    ];
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, lines.join('\n'));
    console.log(
      `wrote ${path.relative(ROOT, outFile)}: ${report.numPassedTests}/${report.numTotalTests} passed in ${seconds(ms)}`,
    );
    process.exitCode = report.success ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
