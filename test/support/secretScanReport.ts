import { existsSync, readFileSync } from 'node:fs';
import { SCAN_CHANNELS, type ScanTotals } from './secretSentinel';

/*
 * What the secret sentinel looked at, for scripts: with SECRET_SCAN_REPORT_FILE set, every test file appends one JSON
 * line (see ./secretSentinelEnvironment.ts); `summarizeSecretScan(file)` adds them up.
 *
 *   SECRET_SCAN_REPORT_FILE=/tmp/scan.jsonl npx jest
 *   node --require ./test/support/registerTs.cjs -e \
 *     "console.log(require('./test/support/secretScanReport.ts').summarizeSecretScan('/tmp/scan.jsonl'))"
 */

export const SECRET_SCAN_REPORT_VARIABLE = 'SECRET_SCAN_REPORT_FILE';

/** One test file's line. */
export interface SecretScanRecord {
  /** The test file, relative to the repository. */
  file: string;
  /** Items looked at, by kind: log lines, Slack calls (requests the fake Slack received), answers to Slack, … */
  scanned: ScanTotals;
  /** Secrets found (each failed the test, or the file, it appeared in). */
  leaks: number;
}

export interface SecretScanSummary {
  files: number;
  scanned: ScanTotals;
  /** Every item of every kind. */
  total: number;
  leaks: number;
  /** Files in which a secret was found. */
  leakingFiles: string[];
}

export function readSecretScanRecords(file: string): SecretScanRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SecretScanRecord);
}

export function summarizeSecretScan(file: string): SecretScanSummary {
  const records = readSecretScanRecords(file);
  const scanned = Object.fromEntries(SCAN_CHANNELS.map((channel) => [channel, 0])) as ScanTotals;
  for (const record of records) for (const channel of SCAN_CHANNELS) scanned[channel] += record.scanned[channel] ?? 0;
  return {
    files: records.length,
    scanned,
    total: Object.values(scanned).reduce((a, b) => a + b, 0),
    leaks: records.reduce((sum, record) => sum + record.leaks, 0),
    leakingFiles: records.filter((record) => record.leaks > 0).map((record) => record.file),
  };
}
