import { existsSync, readFileSync } from 'node:fs';

/*
 * The figures people compare from one bench run to the next, at the top of the report beside the previous run's.
 * The report carries its own figures as JSON in a comment at its end, and the next run reads them from the file it
 * is about to replace: a figure this run did not measure keeps the previous value, marked as such.
 */

export interface Headline {
  key: string;
  label: string;
  /** The target as the report states it, and whether a value meets it. */
  target?: { text: string; met: (value: number) => boolean };
  digits: number;
}

/** The ack p99 the bot must keep, as a multiple of the one-field bare Bolt app's. */
export const ACK_P99_RATIO_TARGET = 1.15;
export const meetsAckTarget = (ratio: number) => ratio <= ACK_P99_RATIO_TARGET;

export const HEADLINES: readonly Headline[] = [
  {
    key: 'ackP99Ratio',
    label: 'ack p99, bot / bare Bolt',
    digits: 2,
    target: { text: `≤ ${ACK_P99_RATIO_TARGET}`, met: meetsAckTarget },
  },
  { key: 'ackP99RatioSameForm', label: 'ack p99, bot / bare Bolt opening the same form', digits: 2 },
  { key: 'ackCpuMs', label: 'ack: CPU per command, bot (ms)', digits: 2 },
  {
    key: 'freshP50S',
    label: '50 in flight: status change → Slack p50 (s, scaled)',
    digits: 1,
    target: { text: '≤ 10', met: (v) => v <= 10 },
  },
  {
    key: 'freshP99S',
    label: '50 in flight: status change → Slack p99 (s, scaled)',
    digits: 1,
    target: { text: '≤ 30', met: (v) => v <= 30 },
  },
  {
    key: 'requestsPerBuild',
    label: 'Image Builder requests per 13-min build',
    digits: 1,
    target: { text: '≤ 40', met: (v) => v <= 40 },
  },
  { key: 'trackP50S', label: '1000 in flight: from when a status began, p50 (s, scaled)', digits: 0 },
  { key: 'trackP99S', label: '1000 in flight: from when a status began, p99 (s, scaled)', digits: 0 },
  { key: 'trackAllFinalS', label: '1000 in flight: every thread final (wall s)', digits: 1 },
  {
    key: 'trackPeakRssMb',
    label: '1000 in flight: peak RSS (MB)',
    digits: 1,
    target: { text: '< 200', met: (v) => v < 200 },
  },
  {
    key: 'submitP99Ms',
    label: '20 orders in one channel: answer → POST /compose p99 (ms)',
    digits: 0,
    target: { text: '≤ 1000', met: (v) => v <= 1000 },
  },
  { key: 'npmCiColdS', label: '`npm ci`, cold cache (s)', digits: 1 },
  { key: 'npmCiWarmS', label: '`npm ci`, warm cache (s)', digits: 1 },
  {
    key: 'startP50Ms',
    label: "on the bench's Node.js: start to /readyz 200, p50 (ms)",
    digits: 0,
    target: { text: '≤ 1000', met: (v) => v <= 1000 },
  },
  {
    key: 'idleRssMb',
    label: "on the bench's Node.js: idle RSS, median (MB)",
    digits: 1,
    target: { text: '≤ 80', met: (v) => v <= 80 },
  },
  {
    key: 'startImageP50Ms',
    label: "on the image's Node.js: start to /readyz 200, p50 (ms)",
    digits: 0,
    target: { text: '≤ 1000', met: (v) => v <= 1000 },
  },
  {
    key: 'idleRssImageMb',
    label: "on the image's Node.js: idle RSS, median (MB)",
    digits: 1,
    target: { text: '≤ 80', met: (v) => v <= 80 },
  },
  { key: 'bareIdleRssImageMb', label: "on the image's Node.js: idle RSS of a bare Bolt app, median (MB)", digits: 1 },
];

export type HeadlineFigures = Partial<Record<string, number>>;

export interface Recorded {
  /** When the run that measured them was written (ISO), per figure: a figure carried over keeps its own date. */
  at: Partial<Record<string, string>>;
  figures: HeadlineFigures;
}

const MARKER = 'bench-figures:';

/** The figures a report carries, or undefined when the file is missing or carries none (an older report). */
export function readRecorded(file: string): Recorded | undefined {
  if (!existsSync(file)) return undefined;
  const match = new RegExp(`<!-- ${MARKER} (\\{.*\\}) -->`).exec(readFileSync(file, 'utf8'));
  if (!match) return undefined;
  try {
    const parsed = JSON.parse(match[1]!) as Recorded;
    return typeof parsed.figures === 'object' && typeof parsed.at === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** This run's figures over the previous ones: what this run did not measure is carried over with its date. */
export function recordedNow(writtenAt: string, measured: HeadlineFigures, previous: Recorded | undefined): Recorded {
  const recorded: Recorded = { at: { ...previous?.at }, figures: { ...previous?.figures } };
  for (const [key, value] of Object.entries(measured)) {
    if (value === undefined || !Number.isFinite(value)) continue;
    recorded.figures[key] = value;
    recorded.at[key] = writtenAt;
  }
  return recorded;
}

/**
 * Enough digits (from `digits`, at most 4) that the value as shown is on the same side of its target as the value
 * itself: 1.1526 against "≤ 1.15" reads 1.153, not a failing 1.15.
 */
export function digitsAgainst(value: number, digits: number, met: (value: number) => boolean): number {
  let shown = digits;
  while (shown < 4 && met(Number(value.toFixed(shown))) !== met(value)) shown += 1;
  return shown;
}

/** The comment that carries the figures to the next run. */
export const recordedComment = (recorded: Recorded) => `<!-- ${MARKER} ${JSON.stringify(recorded)} -->`;

export function headlineSection(
  writtenAt: string,
  measured: HeadlineFigures,
  previous: Recorded | undefined,
  verdict: (pass: boolean) => string,
): string[] {
  const fmt = (value: number | undefined, digits: number) =>
    value === undefined || !Number.isFinite(value) ? 'not measured' : value.toFixed(digits);
  const day = (iso: string | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '');
  const rows = HEADLINES.map(({ key, label, target, digits }) => {
    const now = measured[key];
    const before = previous?.figures[key];
    const measuredNow = now !== undefined && Number.isFinite(now);
    const result = target && measuredNow ? verdict(target.met(now)) : '';
    const shown = target && measuredNow ? digitsAgainst(now, digits, target.met) : digits;
    const beforeText = before === undefined ? 'not measured' : `${fmt(before, digits)} (${day(previous?.at[key])})`;
    return `| ${label} | ${fmt(now, shown)} | ${beforeText} | ${target?.text ?? ''} | ${result} |`;
  });
  return [
    '## Headline figures',
    '',
    `This run (${day(writtenAt)}) beside the previous figures this file held, each with the date of the run that measured it;`,
    'the sections below explain how each is measured.',
    '',
    '| figure | this run | previous | target | result |',
    '|---|---|---|---|---|',
    ...rows,
  ];
}
