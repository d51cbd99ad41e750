import type { RawValues } from './types';

/* Reading what a person typed into a field, the same for the Slack form and the CLI's flags. */

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/** The texts given for a field: repeated CLI flags arrive as arrays; anything but text is refused. */
function givenTexts(raw: RawValues, id: string): Read<string[]> {
  const given: unknown = Object.hasOwn(raw, id) ? raw[id] : undefined;
  const values = (Array.isArray(given) ? given : [given]).filter((v) => v !== undefined);
  if (!values.every((v): v is string => typeof v === 'string')) {
    return { ok: false, error: 'This value could not be read as text.' };
  }
  return { ok: true, value: values };
}

/** One value for a single-valued field; blank counts as absent. Repeating it (e.g. two CLI flags) is an error. */
export function readSingle(raw: RawValues, id: string): Read<string | undefined> {
  const texts = givenTexts(raw, id);
  if (!texts.ok) return texts;
  const present = texts.value.map((v) => v.trim()).filter((v) => v !== '');
  if (present.length > 1) return { ok: false, error: `Give one value here, not ${present.length}.` };
  return { ok: true, value: present[0] };
}

// Commas, any whitespace (including the no-break spaces chat apps paste) and line breaks all separate entries.
const LIST_SEPARATORS = /[\s,]+/u;

/** Entries of a list field: any mix of commas, spaces and line breaks between them; duplicates removed. */
export function readList(raw: RawValues, id: string): Read<string[]> {
  const texts = givenTexts(raw, id);
  if (!texts.ok) return texts;
  const entries = texts.value.flatMap((v) => v.split(LIST_SEPARATORS)).filter((v) => v !== '');
  return { ok: true, value: [...new Set(entries)] };
}
