import type { AuditRecord } from '../store/store';

/*
 * The audit report: how far back to look, the log as JSON Lines, and a summary for people. Pure: the callers (the
 * Slack `audit` subcommand and the `audit` CLI command) read the store and deliver the result.
 *
 * What each kind's `detail` carries, and what the summary reads of it (marked →). The JSON Lines carry every
 * detail untouched.
 * - `requested` (the modal's submission): provider, distribution, architecture, shareTargets [{ kind, value }],
 *   rebuiltFrom when it is a rebuild. → provider (requests by cloud), shareTargets (who images were handed to);
 *   its actor counts as a requester.
 * - `refused` (the policy): entryPoint ('command', 'modal', 'rebuild button', 'new image button'), reason, and
 *   shareTargets (the refused values) when sharing was refused. → reason (refusals grouped by reason).
 * - `submitted`: the compose id and the share targets. → nothing: share targets are counted from `requested`
 *   only, so a request is never counted twice.
 * - `rejected`: the error's kind and the service's words. → the event itself: a rejected result.
 * - `finished`: outcome. → outcome 'success' | 'failure' | 'deleted' (at Image Builder, before it was built) (or
 *   'rejected'); `status` is read when outcome is absent.
 * - `reminded`, `expired`: the request id is on the event. `defaults-cleared`: removed (how many clouds' values).
 *   → counted by kind only.
 * - `approval-requested` (reasons, approvers' channel), `approved` (actor: the approver), `denied` (actor, reason),
 *   `approval-expired`: a request the policy held for approval. → counted by kind only.
 * - A kind this release does not know (a newer release wrote it): counted as "unknown (its name)", exported as
 *   written.
 * Results are counted per request (the last one recorded wins), so a request whose end was written twice counts once.
 * The log outlives releases, so a detail is read leniently: a missing or odd field is counted in
 * `unreadableDetails` and the event still counts by kind; nothing here throws on what a detail holds.
 */

/** Who an image is handed to, as `requested` records it (the providers' ShareTarget without its field id). */
export interface AuditShareTarget {
  kind: 'aws-account' | 'azure-subscription' | 'gcp-principal';
  value: string;
}

const BUILD_RESULTS = ['success', 'failure', 'deleted', 'rejected'] as const;
/** How a request ended, as `finished` records it. */
export type BuildResult = (typeof BUILD_RESULTS)[number];
const isBuildResult = (value: unknown): value is BuildResult => (BUILD_RESULTS as readonly unknown[]).includes(value);

/** The `detail` fields the summary reads, by kind, for producers to write with `satisfies`. */
export interface AuditDetails {
  requested: { provider: string; shareTargets: AuditShareTarget[] };
  refused: { reason: string; entryPoint?: string };
  finished: { outcome: BuildResult };
}

// ---------------------------------------------------------------------------------------------------------------
// How far back

export interface Lookback {
  milliseconds: number;
  /** For people: "7 days", "1 hour". */
  text: string;
  /** As the CLI takes it: "7d", "1h". */
  flag: string;
}

export type LookbackResult = { ok: true; lookback: Lookback } | { ok: false; message: string };

export const MAX_LOOKBACK_DAYS = 400;
export const DEFAULT_LOOKBACK = '7d';

const MINUTE = 60_000;
const UNITS: readonly { flag: string; words: readonly string[]; singular: string; milliseconds: number }[] = [
  { flag: 'm', words: ['m', 'min', 'mins', 'minute', 'minutes'], singular: 'minute', milliseconds: MINUTE },
  { flag: 'h', words: ['h', 'hr', 'hrs', 'hour', 'hours'], singular: 'hour', milliseconds: 60 * MINUTE },
  { flag: 'd', words: ['d', 'day', 'days'], singular: 'day', milliseconds: 24 * 60 * MINUTE },
  { flag: 'w', words: ['w', 'week', 'weeks'], singular: 'week', milliseconds: 7 * 24 * 60 * MINUTE },
];
const MAX_LOOKBACK_MS = MAX_LOOKBACK_DAYS * 24 * 60 * MINUTE;
const FORMS = 'a number of days (7), or a number with m, h, d or w (30m, 24h, 7d, 2w)';

/**
 * "7d", "24h", "30m", "2w", "7 days" or a bare number of days ("7"), whole numbers only, more than zero and at most
 * MAX_LOOKBACK_DAYS days. Messages quote at most 40 characters of what was typed.
 */
export function parseSince(input: string): LookbackResult {
  const value = input.trim();
  if (value === '') return { ok: false, message: `Say how far back to look: ${FORMS}.` };
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value);
  const unit = match && (match[2] === '' ? UNITS[2] : UNITS.find((u) => u.words.includes(match[2]!.toLowerCase())));
  if (!match || !unit) return { ok: false, message: `“${quote(value)}” is not a period; use ${FORMS}.` };

  const amount = Number(match[1]);
  if (amount === 0) return { ok: false, message: 'The period must be longer than zero.' };
  const milliseconds = amount * unit.milliseconds;
  // Digits beyond what a double holds exactly are far beyond the maximum anyway.
  if (!Number.isSafeInteger(amount) || milliseconds > MAX_LOOKBACK_MS) {
    return {
      ok: false,
      message: `The audit report looks back at most ${MAX_LOOKBACK_DAYS} days; “${quote(value)}” is more.`,
    };
  }
  return {
    ok: true,
    lookback: {
      milliseconds,
      text: `${amount} ${unit.singular}${amount === 1 ? '' : 's'}`,
      flag: `${amount}${unit.flag}`,
    },
  };
}

export const sinceDate = (now: Date, lookback: Lookback): Date => new Date(now.getTime() - lookback.milliseconds);

const quote = (text: string): string => {
  const points = [...text];
  return points.length <= 40 ? text : `${points.slice(0, 39).join('')}…`;
};

/** `image-builder-audit-20250222T1200Z-20250301T1200Z.jsonl`: UTC, to the minute, safe in any file system. */
export function auditFileName(since: Date, now: Date): string {
  const stamp = (date: Date) => date.toISOString().slice(0, 16).replace(/[-:]/g, '') + 'Z';
  return `image-builder-audit-${stamp(since)}-${stamp(now)}.jsonl`;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Lines

/** One line of the export. */
export interface AuditLine {
  at: string | null;
  kind: string;
  actor: string | null;
  request: string | null;
  channel: string | null;
  detail: unknown;
}

/**
 * One JSON object per event, each line ending in "\n" ('' for no events). JSON.stringify leaves U+2028, U+2029,
 * DEL and the C1 controls raw; they are escaped too, because some line readers (Python's splitlines) split at
 * U+2028, U+2029 and NEL, and a terminal showing the file would obey the controls.
 */
export function auditJsonLines(events: readonly AuditRecord[]): string {
  return events.map((event) => `${jsonLine(event)}\n`).join('');
}

function jsonLine(event: AuditRecord): string {
  const line: AuditLine = {
    at: Number.isNaN(event.at.getTime()) ? null : event.at.toISOString(),
    // The export is the log: a kind this release does not know is written as it was recorded.
    kind: event.recordedKind ?? event.kind,
    actor: event.actorId,
    request: event.requestId,
    channel: event.channelId,
    detail: event.detail,
  };
  let json: string;
  try {
    json = JSON.stringify(line);
  } catch {
    // A detail JSON cannot hold (a cycle, a BigInt) must not cost the rest of the export.
    json = JSON.stringify({ ...line, detail: { unreadable: 'this detail could not be written as JSON' } });
  }
  return json.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Summary

export interface Counted {
  value: string;
  count: number;
}

/** The most frequent values (most first, then alphabetically), how many distinct values there were, and in all. */
export interface Tally {
  top: Counted[];
  distinct: number;
  total: number;
}

export interface AuditSummary {
  since: Date;
  now: Date;
  /** Events at or after `since`. */
  total: number;
  /** Events by kind, in the order kinds first appeared. */
  byKind: Record<string, number>;
  /** `requested` events by provider id. */
  requestsByProvider: Tally;
  /** `refused` events by reason. */
  refusals: Tally;
  /** How many requests handed an image to each target. */
  shareTargets: { awsAccounts: Tally; azureSubscriptions: Tally; gcpPrincipals: Tally };
  /**
   * How requests ended: the build succeeded or failed, its compose was deleted at Image Builder, or Image Builder
   * rejected the submission. One per request.
   */
  results: Record<BuildResult, number>;
  /** Different people with a `requested` event. */
  distinctRequesters: number;
  /** Events whose detail lacked, or held something odd in, a field the report reads. */
  unreadableDetails: number;
}

/** Stands for a value a detail did not hold, so those events still show up in their group. */
export const NOT_RECORDED = '(not recorded)';

export interface SummaryOptions {
  since: Date;
  now: Date;
  /** How many values each tally keeps (default 10). */
  top?: number;
}

export function summarizeAudit(events: readonly AuditRecord[], options: SummaryOptions): AuditSummary {
  const top = options.top ?? 10;
  const byKind: Record<string, number> = {};
  const providers = new Counter();
  const reasons = new Counter();
  const targets = { awsAccounts: new Counter(), azureSubscriptions: new Counter(), gcpPrincipals: new Counter() };
  const outcomes = new Map<string | number, BuildResult>();
  const requesters = new Set<string>();
  let total = 0;
  let unreadableDetails = 0;

  for (const event of events) {
    if (!(event.at.getTime() >= options.since.getTime())) continue;
    total += 1;
    const kind = event.kind === 'unknown' ? unknownKind(event.recordedKind) : event.kind;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const detail = isRecord(event.detail) ? event.detail : {};
    // An event without a request id still has a result of its own.
    const request = event.requestId ?? total;
    let readable = true;

    switch (event.kind) {
      case 'requested': {
        const provider = text(detail.provider);
        providers.add(provider ?? NOT_RECORDED);
        if (event.actorId) requesters.add(event.actorId);
        const shared = shareTargets(detail.shareTargets);
        for (const target of shared.targets) targets[TARGET_TALLIES[target.kind]].add(target.value);
        readable = provider !== undefined && shared.readable;
        break;
      }
      case 'refused': {
        const reason = text(detail.reason);
        reasons.add(reason ?? NOT_RECORDED);
        readable = reason !== undefined;
        break;
      }
      case 'rejected':
        outcomes.set(request, 'rejected');
        break;
      case 'finished': {
        const outcome = detail.outcome ?? detail.status;
        if (isBuildResult(outcome)) outcomes.set(request, outcome);
        else readable = false;
        break;
      }
      default:
        // Counted by kind only: the summary reads nothing more of these.
        break;
    }
    if (!readable) unreadableDetails += 1;
  }

  const results = { success: 0, failure: 0, deleted: 0, rejected: 0 };
  for (const outcome of outcomes.values()) results[outcome] += 1;
  return {
    since: options.since,
    now: options.now,
    total,
    byKind,
    requestsByProvider: providers.tally(top),
    refusals: reasons.tally(top),
    shareTargets: {
      awsAccounts: targets.awsAccounts.tally(top),
      azureSubscriptions: targets.azureSubscriptions.tally(top),
      gcpPrincipals: targets.gcpPrincipals.tally(top),
    },
    results,
    distinctRequesters: requesters.size,
    unreadableDetails,
  };
}

/** How the summary names a kind written by a newer release: shown, but as one this release does not know. */
export const unknownKind = (recorded: string | undefined): string => (recorded ? `unknown (${recorded})` : 'unknown');

const TARGET_TALLIES = {
  'aws-account': 'awsAccounts',
  'azure-subscription': 'azureSubscriptions',
  'gcp-principal': 'gcpPrincipals',
} as const satisfies Record<AuditShareTarget['kind'], keyof AuditSummary['shareTargets']>;

/** The share targets of a `requested` detail that can be read; `readable` is false when anything else was there. */
function shareTargets(value: unknown): { targets: AuditShareTarget[]; readable: boolean } {
  // A request for a cloud that shares with nobody (guest-image) may leave the list out.
  if (value === undefined) return { targets: [], readable: true };
  if (!Array.isArray(value)) return { targets: [], readable: false };
  const targets: AuditShareTarget[] = [];
  for (const item of value as unknown[]) {
    const kind = isRecord(item) ? item.kind : undefined;
    const target = isRecord(item) ? text(item.value) : undefined;
    if (typeof kind === 'string' && Object.hasOwn(TARGET_TALLIES, kind) && target !== undefined) {
      targets.push({ kind: kind as AuditShareTarget['kind'], value: target });
    }
  }
  return { targets, readable: targets.length === value.length };
}

class Counter {
  private readonly counts = new Map<string, number>();
  private total = 0;

  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.total += 1;
  }

  tally(top: number): Tally {
    const sorted = [...this.counts]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return { top: sorted.slice(0, Math.max(0, top)), distinct: sorted.length, total: this.total };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A non-blank string, trimmed. */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
