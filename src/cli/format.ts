import { format } from 'date-fns';
import type { ComposeOutcome } from '../composeOutcome';
import type { ComposeStatus, ComposesItem, Distribution } from '../imageBuilder';

/* Human text for the CLI. `--json` output is built from the same facts, unformatted. */

export function statusText(status: ComposeStatus['image_status']): string {
  const progress =
    status.progress && !['success', 'failure'].includes(status.status)
      ? ` (step ${status.progress.done} of ${status.progress.total})`
      : '';
  return `${status.status}${progress}`;
}

export function distributionsText(distributions: readonly Distribution[]): string {
  const width = Math.max(0, ...distributions.map((d) => d.name.length));
  return distributions.map((d) => `${d.name.padEnd(width)}  ${d.description}`).join('\n');
}

export function outcomeText(composeId: string, outcome: ComposeOutcome): string {
  if (outcome.kind === 'failure') {
    return [`Compose ${composeId} failed: ${outcome.reason}`, ...outcome.details.map((d) => `  ${d}`)].join('\n');
  }
  const { result } = outcome;
  const lines = [`Compose ${composeId} is ready: ${result.headline}`];
  for (const item of result.summary) lines.push(`  ${item.label}: ${item.value}`);
  if (result.consoleUrl) lines.push(`  Console: ${result.consoleUrl}`);
  if (result.downloadUrl) lines.push(`  Download: ${result.downloadUrl}`);
  if (result.expiresAt) {
    const days = result.lifetimeDays ? ` (${result.lifetimeDays} days after the build)` : '';
    lines.push(`  Available until ${format(result.expiresAt, "d MMM yyyy HH:mm xxx")}${days}`);
  }
  for (const [title, commands] of [
    ['Launch it', result.launchCommands],
    ['Keep a copy in your account', result.copyCommands],
  ] as const) {
    if (commands.length === 0) continue;
    lines.push('', `${title}:`);
    for (const command of commands) lines.push(`  # ${command.label}`, `  ${command.command}`);
  }
  return lines.join('\n');
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
    ];
  });
  const header = ['ID', 'CREATED', 'TYPE', 'DISTRIBUTION', 'ARCH', 'STATUS', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
