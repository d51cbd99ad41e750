import { format } from 'date-fns/format';
import type { FinishedOutcome } from '../compose/outcome';
import { isFinalStatus } from '../compose/status';
import type { ComposeStatus, ComposesItem, Distribution } from '../imageBuilder';
import type { BlueprintItem } from '../imageBuilder/blueprintSchemas';

/*
 * Human text for the CLI. `--json` output is built from the same facts, unformatted. Every value from the service
 * or the database goes through `printable` before it reaches a terminal, so none can drive it.
 */

/**
 * Outside text for one line of a terminal: C0 and C1 controls (ESC, CSI, BEL, line breaks…) and the Unicode line
 * separators become '�', so a value can neither send escape sequences nor start a line of its own.
 */
export const printable = (text: string): string => text.replace(/[\p{Cc}\u2028\u2029]/gu, '�');

/** Text of several lines for a terminal: each line printable, the line breaks between them kept. */
export const printableLines = (text: string): string => text.split('\n').map(printable).join('\n');

/**
 * JSON text for a terminal: JSON.stringify escapes C0 controls but writes C1 controls (U+0080–U+009F, which some
 * terminals obey) and the line separators as they are; here they are escaped too, so the JSON means the same.
 */
export const terminalJson = (json: string): string =>
  json.replace(/[\u0080-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export function statusText(status: ComposeStatus['image_status']): string {
  const progress =
    status.progress && !isFinalStatus(status.status)
      ? ` (step ${status.progress.done} of ${status.progress.total})`
      : '';
  return `${printable(status.status)}${progress}`;
}

export function distributionsText(distributions: readonly Distribution[]): string {
  const width = Math.max(0, ...distributions.map((d) => d.name.length));
  return distributions.map((d) => `${printable(d.name).padEnd(width)}  ${printable(d.description)}`).join('\n');
}

export function outcomeText(composeId: string, outcome: FinishedOutcome): string {
  if (outcome.kind === 'failure') {
    return [
      `Compose ${printable(composeId)} failed: ${printable(outcome.reason)}`,
      ...outcome.details.map((d) => `  ${printable(d)}`),
    ].join('\n');
  }
  const { result } = outcome;
  const lines = [`Compose ${printable(composeId)} is ready: ${printable(result.headline)}`];
  for (const item of result.summary) lines.push(`  ${printable(item.label)}: ${printable(item.value)}`);
  if (result.consoleUrl) lines.push(`  Console: ${printable(result.consoleUrl)}`);
  if (result.downloadUrl) lines.push(`  Download: ${printable(result.downloadUrl)}`);
  if (result.builtMoreThanDaysAgo !== undefined) {
    // Its commands would only fail: the image they name is gone.
    lines.push(`  Deleted by Image Builder: built more than ${result.builtMoreThanDaysAgo} days ago`);
    return lines.join('\n');
  }
  if (result.expiresAt) {
    const days = result.lifetimeDays ? ` (${result.lifetimeDays} days after the build)` : '';
    lines.push(`  Available until ${format(result.expiresAt, 'd MMM yyyy HH:mm xxx')}${days}`);
  }
  for (const [title, commands] of [
    ['Launch it', result.launchCommands],
    [result.downloadUrl ? 'Keep a copy' : 'Keep a copy in your account', result.copyCommands],
  ] as const) {
    if (commands.length === 0) continue;
    lines.push('', `${title}:`);
    for (const command of commands) lines.push(`  # ${printable(command.label)}`, `  ${printable(command.command)}`);
  }
  if (result.notes?.length) lines.push('', ...result.notes.map((note) => printable(note)));
  return lines.join('\n');
}

/** Columns, each as wide as its widest cell; trailing spaces trimmed. */
function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function blueprintsText(blueprints: readonly BlueprintItem[]): string {
  if (blueprints.length === 0)
    return 'The organisation has no blueprints; they are saved in the Image Builder console.';
  const rows = blueprints.map((b) => [b.name, String(b.version), b.last_modified_at, b.id].map(printable));
  return table(['NAME', 'VERSION', 'CHANGED', 'ID'], rows);
}

export function composesText(items: readonly (ComposesItem & { status?: string })[]): string {
  if (items.length === 0) return 'No composes in the last 14 days.';
  const rows = items.map((item) => {
    const imageRequest = item.request.image_requests[0];
    return [
      item.id,
      item.created_at,
      imageRequest?.image_type ?? '?',
      item.request.distribution ?? '?',
      imageRequest?.architecture ?? '?',
      item.status ?? '',
      item.image_name ?? item.request.image_name ?? '',
    ].map(printable);
  });
  return table(['ID', 'CREATED', 'TYPE', 'DISTRIBUTION', 'ARCH', 'STATUS', 'NAME'], rows);
}
