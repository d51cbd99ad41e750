/*
 * Text helpers for messages to people, shared by the providers, the policy and the Slack views: quoting what
 * someone typed, listing in words, shortening. They know nothing of Slack markup (slack/views/text.ts escapes).
 */

// Controls, line breaks, lone surrogates and bidirectional overrides: they would make text display as something else.
const CONTROL_CHARACTER = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;
const CONTROL_CHARACTERS = new RegExp(CONTROL_CHARACTER.source, 'gu');
const QUOTED_MAX = 40;

/** Whether `text` holds a character that would make it display as something else (see CONTROL_CHARACTER). */
export const hasControlCharacter = (text: string): boolean => CONTROL_CHARACTER.test(text);

/** A value someone typed, fit to repeat back in an error message: quoted, short, with no invisible controls. */
export function quoted(value: string): string {
  const points = Array.from(value.replace(CONTROL_CHARACTERS, '\uFFFD'));
  const shown = points.length > QUOTED_MAX ? `${points.slice(0, QUOTED_MAX - 1).join('')}…` : points.join('');
  return `“${shown}”`;
}

/** "a", "a and b", "a, b and c". */
export function listInWords(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

/**
 * Text for as many of `items` (from the first) as fit whole within `max` characters: `render` is given the items
 * shown and how many are left out, and every item when all fit. Undefined when not even the first item fits.
 */
export function wholeItemsWithin(
  items: readonly string[],
  max: number,
  render: (shown: readonly string[], more: number) => string,
): string | undefined {
  for (let shown = items.length; shown > 0; shown--) {
    const text = render(items.slice(0, shown), items.length - shown);
    if (text.length <= max) return text;
  }
  return undefined;
}

/** At most `max` UTF-16 units, cut between code points, ending in '…' when shortened. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = '';
  for (const point of text) {
    if (kept.length + point.length > max - 1) break;
    kept += point;
  }
  return `${kept}…`;
}
