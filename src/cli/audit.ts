import fs from 'node:fs';
import { CommanderError, Option, type Command } from 'commander';
import {
  auditJsonLines,
  DEFAULT_LOOKBACK,
  MAX_LOOKBACK_DAYS,
  parseSince,
  sinceDate,
  summarizeAudit,
  type AuditSummary,
  type Lookback,
  type Tally,
} from '../audit/audit';
import type { Clock } from '../platform/clock';
import { ConfigError, DEFAULT_DATABASE_URL } from '../config/config';
import { DatabaseUrlError, parseDatabaseUrl, type DatabaseLocation } from '../config/databaseUrl';
import { openStore } from '../store/openStore';
import type { AuditLog, AuditRecord } from '../store/store';
import { printable, terminalJson } from './format';
import type { CliIo } from './program';

/*
 * `image-builder-bot audit [--since 7d] [--summary] [--json]`: the bot's audit log read from its database, as JSON Lines for
 * scripts or as a summary for people. Errors follow runCli: a bad --since is a commander usage error and a bad or
 * missing database a ConfigError (both exit 2); a database that cannot be read is a one-line failure (exit 1).
 */

export interface AuditCliDeps {
  io: CliIo;
  clock: Clock;
  /** DATABASE_URL as configured, or DEFAULT_DATABASE_URL when unset. */
  databaseUrl: string;
  /** Where a relative database path starts: the process's working directory. */
  workingDirectory: string;
}

/** How many reasons and share targets of each cloud the summary lists. */
const SUMMARY_TOP = 20;

export function auditCommand(program: Command, deps: AuditCliDeps): Command {
  const defaultLookback = parseSince(DEFAULT_LOOKBACK);
  if (!defaultLookback.ok) throw new Error(`DEFAULT_LOOKBACK does not parse: ${defaultLookback.message}`);
  return (
    program
      .command('audit')
      .description('print the audit log (who asked for what, what was refused, what came of it) as JSON Lines')
      .addOption(
        new Option(
          '--since <period>',
          `how far back: 30m, 24h, 7d, 2w or a number of days (at most ${MAX_LOOKBACK_DAYS} days)`,
        )
          .argParser(lookbackOption)
          .default(defaultLookback.lookback, DEFAULT_LOOKBACK),
      )
      .option('--summary', 'print a summary for people instead of the events')
      // The events are JSON already; --json is taken for scripts written against every command, and shapes the summary.
      .option('--json', 'print JSON: the events as JSON Lines (as without it), or the summary as one JSON object')
      .action(async (opts: { since: Lookback; summary?: boolean; json?: boolean }) => {
        const now = deps.clock.now();
        const since = sinceDate(now, opts.since);
        const store = await openAuditLog(deps);
        let events: AuditRecord[];
        try {
          events = await store.listAudit(since);
        } catch (error) {
          throw new Error(`could not read the audit log: ${oneLine(error)}`, { cause: error });
        } finally {
          await store.close();
        }
        if (opts.summary) {
          const summary = summarizeAudit(events, { since, now, top: SUMMARY_TOP });
          const text = opts.json
            ? terminalJson(JSON.stringify(summary, null, 2))
            : auditSummaryText(summary, opts.since);
          deps.io.stdout.write(`${text}\n`);
        } else {
          deps.io.stdout.write(terminalJson(auditJsonLines(events)));
        }
      })
  );
}

function lookbackOption(value: string): Lookback {
  const parsed = parseSince(value);
  if (!parsed.ok) throw new CommanderError(2, 'commander.invalidArgument', parsed.message);
  return parsed.lookback;
}

async function openAuditLog(deps: AuditCliDeps): Promise<Pick<AuditLog, 'listAudit'> & { close(): Promise<void> }> {
  let location: DatabaseLocation;
  try {
    location = parseDatabaseUrl(deps.databaseUrl, deps.workingDirectory);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new ConfigError([error.message]);
    throw error;
  }
  // Opening creates a missing SQLite file; an empty new one would hide a DATABASE_URL that names the wrong file.
  if (location.kind === 'sqlite' && !fs.existsSync(location.path)) {
    // Unset, DATABASE_URL names a file relative to wherever audit was run, likely not the folder the bot runs in.
    const unset = deps.databaseUrl === DEFAULT_DATABASE_URL;
    throw new ConfigError([
      unset
        ? `DATABASE_URL: there is no database at ${location.path}: unset, it is ${DEFAULT_DATABASE_URL} in the working directory; run audit where the bot runs, or set DATABASE_URL as the bot has it`
        : `DATABASE_URL: there is no database at ${location.path}`,
    ]);
  }
  try {
    return await openStore(deps.databaseUrl, { workingDirectory: deps.workingDirectory, now: () => deps.clock.now() });
  } catch (error) {
    throw new Error(`could not open the database: ${oneLine(error)}`, { cause: error });
  }
}

const oneLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');

/** The summary for a terminal. Values from the log have their control characters replaced, so they cannot drive it. */
export function auditSummaryText(summary: AuditSummary, lookback: Lookback): string {
  const { results } = summary;
  const kinds = Object.entries(summary.byKind).map(([kind, count]) => `${printable(kind)} ${count}`);
  const lines = [
    `Audit log of the last ${lookback.text}: ${utc(summary.since)} to ${utc(summary.now)}`,
    `Events: ${summary.total}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`,
  ];
  if (summary.total === 0) return lines.join('\n');
  lines.push(
    `People who asked for builds: ${summary.distinctRequesters}`,
    `Builds: ${results.success} succeeded, ${results.failure} failed, ${results.deleted > 0 ? `${results.deleted} deleted at Image Builder, ` : ''}${results.rejected} rejected by Image Builder`,
    `Requests by cloud: ${summary.requestsByProvider.total === 0 ? 'none' : inline(summary.requestsByProvider)}`,
    ...table('Refusals by reason', summary.refusals, 'reasons'),
    ...table('Shared with AWS accounts', summary.shareTargets.awsAccounts, 'accounts'),
    ...table('Shared with Azure subscriptions', summary.shareTargets.azureSubscriptions, 'subscriptions'),
    ...table('Shared with GCP principals', summary.shareTargets.gcpPrincipals, 'principals'),
  );
  if (summary.unreadableDetails > 0) {
    lines.push(
      `${summary.unreadableDetails} events have details this summary could not read; the JSON Lines have them as recorded.`,
    );
  }
  return lines.join('\n');
}

function table(title: string, tally: Tally, things: string): string[] {
  if (tally.total === 0) return [`${title}: none`];
  const width = Math.max(...tally.top.map((c) => String(c.count).length));
  const rows = tally.top.map((c) => `  ${String(c.count).padStart(width)}  ${printable(c.value)}`);
  const hidden = tally.distinct - tally.top.length;
  return [`${title}:`, ...rows, ...(hidden > 0 ? [`  …and ${hidden} other ${things}`] : [])];
}

const inline = (tally: Tally): string => {
  const hidden = tally.distinct - tally.top.length;
  return (
    tally.top.map((c) => `${printable(c.value)} ${c.count}`).join(', ') + (hidden > 0 ? `, and ${hidden} more` : '')
  );
};

const utc = (date: Date): string => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
