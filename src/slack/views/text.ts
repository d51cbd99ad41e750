import type { types } from '@slack/bolt';
import { listInWords, wholeItemsWithin } from '../../shared/text';

/*
 * Small pieces every Block Kit builder uses, so each stays within Slack's limits the same way. Text from outside
 * (users, the service) is escaped and shortened here, before it is put next to markup, so that shortening never
 * cuts a mention, a link, an entity or a code fence in half.
 */

export const plainText = (text: string): types.PlainTextElement => ({
  type: 'plain_text',
  text: withoutFormatCharacters(text),
  emoji: true,
});

// What a cut must not split: a code block, an inline code span, a `<…>` token (mention, channel, date, link), an
// entity, else one code point (so never between the halves of a surrogate pair).
const MARKUP_PIECE = /```[\s\S]*?```|`[^`]*`|<[^<>]*>|&[#\w]+;|[\s\S]/gu;

/**
 * Text that already holds markup (the bot's own mrkdwn, or escaped text), at most `max` characters, ending in '…'
 * when shortened. The cut goes before a token, entity or code span that does not fit, never inside it.
 */
export function shortenMarkup(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = '';
  for (const [piece] of text.matchAll(MARKUP_PIECE)) {
    if (kept.length + piece.length > max - 1) break;
    kept += piece;
  }
  return `${kept}…`;
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Format characters (\p{Cf}): bidirectional overrides and isolates (U+202E shows `gpj.exe` as `exe.jpg`), invisible
 * joiners, tags. A zero-width joiner between two emoji is kept, so that 👩‍💻 stays one emoji rather than two.
 */
const FORMAT_CHARACTERS =
  /(?!(?<=\p{Extended_Pictographic}(?:\u{FE0F}|\p{Emoji_Modifier})?)\u200d(?=\p{Extended_Pictographic}))\p{Cf}/gu;

/** Outside text without the format characters that would make it show other than it reads. */
export const withoutFormatCharacters = (text: string): string => text.replace(FORMAT_CHARACTERS, '');

/**
 * Escapes text that came from outside for mrkdwn: `&`, `<` and `>` are the only characters Slack requires escaped,
 * and escaping them stops a value from turning into a mention (`<!channel>`) or a link. Format characters are
 * removed first; the zero-width spaces the helpers below put between backticks are added after, so they stay.
 */
export const escapeMrkdwn = (text: string): string =>
  withoutFormatCharacters(text).replace(/[&<>]/g, (c) => ENTITIES[c] ?? c);

const ZERO_WIDTH_SPACE = '\u200b';

/** Backticks that touch get a zero-width space between them, so no run of three can open or close a code block. */
const separateBackticks = (text: string): string => text.replace(/`(?=`)/g, '`' + ZERO_WIDTH_SPACE);

/**
 * Outside text escaped, and with runs of backticks broken up, at most `max` characters in all; ends in '…' when
 * shortened, never inside `&amp;`, a code span or between the halves of a surrogate pair.
 */
export function escapeWithin(text: string, max: number): string {
  const shortened = shortenMarkup(separateBackticks(escapeMrkdwn(text)), max);
  // A cut between an emoji's joiner and the emoji it joins would leave the joiner before '…'.
  return shortened.replace(/\u200d\u2026$/, '…');
}

// Line breaks and other controls would split a one-line value (and the bold or code around it) across lines.
const CONTROLS = /[\p{Cc}\p{Zl}\p{Zp}]+/gu;

/** Outside text for the middle of one line of mrkdwn: one line, escaped, at most `max` characters. */
export const inlineText = (text: string, max: number): string => escapeWithin(text.replace(CONTROLS, ' '), max);

/** Inline code that a value cannot break out of; at most `max` characters including the backticks. */
export const inlineCode = (text: string, max = 300): string =>
  '`' + escapeWithin(text.replace(CONTROLS, ' ').replace(/`/g, 'ˋ'), max - 2) + '`';

/**
 * Entries as inline code, "`a, b and c`", at most `max` characters: when not all fit, as many whole entries as do,
 * then how many more. Undefined when not even the first fits whole.
 */
export function inlineCodeList(items: readonly string[], max: number): string | undefined {
  return wholeItemsWithin(items, max, (shown, more) =>
    more === 0
      ? inlineCode(listInWords(shown), Infinity)
      : `${inlineCode(shown.join(', '), Infinity)} and ${more} more`,
  );
}

/**
 * A code block that a value cannot break out of: a zero-width space goes between backticks that touch, and between
 * the fences and a backtick at either end, so no run of three can close the block early. Never shortened: a cut
 * command is a different command, so callers check that it fits.
 */
export function codeBlock(text: string): string {
  let body = separateBackticks(escapeMrkdwn(text));
  if (body === '') body = ZERO_WIDTH_SPACE;
  if (body.startsWith('`')) body = ZERO_WIDTH_SPACE + body;
  if (body.endsWith('`')) body += ZERO_WIDTH_SPACE;
  return '```' + body + '```';
}

// Slack member ids (U…, W…); anything else cannot be put between `<@` and `>` without risking other markup.
const MEMBER_ID = /^\w{1,64}$/;

/** `<@U123>`, or '' when the id is missing or not a member id. */
export const mention = (userId: string): string => (MEMBER_ID.test(userId) ? `<@${userId}>` : '');

/** A date each reader sees in their own time zone, with a fallback for clients that cannot. */
export function slackDate(date: Date, fallback: string): string {
  const seconds = Math.floor(date.getTime() / 1000);
  return `<!date^${seconds}^{date_long_pretty} at {time}|${escapeMrkdwn(fallback).replace(/\|/g, '/')}>`;
}

/** A link to an http(s) URL that a value cannot break out of; undefined for anything else. */
export function link(url: string, label: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  const safe = url.replace(/&/g, '&amp;').replace(/[<>|\s"`]|\p{Cf}/gu, (c) => encodeURIComponent(c));
  return `<${safe}|${escapeMrkdwn(label).replace(/\|/g, '/')}>`;
}

/**
 * Whole lines joined while they fit within `max` characters: the first line that does not fit and all after it
 * are left out, and `more` (when it fits) says so. Lines hold markup, so they are never cut.
 */
export function joinLines(lines: readonly string[], max: number, more = '…'): string {
  let joined = '';
  for (const [i, line] of lines.entries()) {
    const next = i === 0 ? line : `${joined}\n${line}`;
    if (next.length > max) {
      const withMore = i === 0 ? more : `${joined}\n${more}`;
      return withMore.length <= max ? withMore : joined;
    }
    joined = next;
  }
  return joined;
}

/**
 * Whole lines packed, in order, into as few texts of at most `max` characters as they fit in (one section each).
 * Lines hold markup, so none is split; a single line longer than `max` is shortened before a token.
 */
export function packLines(lines: readonly string[], max: number): string[] {
  const packed: string[] = [];
  let current: string | undefined;
  for (const line of lines.map((l) => shortenMarkup(l, max))) {
    if (current !== undefined && current.length + 1 + line.length <= max) current += `\n${line}`;
    else {
      if (current !== undefined) packed.push(current);
      current = line;
    }
  }
  if (current !== undefined) packed.push(current);
  return packed;
}
