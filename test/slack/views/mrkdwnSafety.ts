/*
 * What it takes for text from outside to stay text in Slack's mrkdwn: every `<…>` is markup the bot meant (a mention
 * of someone it may mention, a date, a link), no `<` or `>` stands alone (but a quote's `>` at the start of a
 * line), every `&` starts an entity, and code fences come in pairs; and no format character (a right-to-left
 * override…) makes it show other than it reads, but the bot's own zero-width spaces and a joiner inside an emoji.
 * Used by the hostile-value tests; any message or view text can be passed.
 */

const TOKEN = /<([^<>]*)>/g;
const DATE_TOKEN = /^!date\^-?\d+\^\{date_long_pretty\} at \{time\}\|[^|]*$/;
const LINK_TOKEN = /^https?:\/\/[^\s|]+\|[^|]+$/;
const ENTITY_OR_AMPERSAND = /&(?!amp;|lt;|gt;)/;
const FOREIGN_FORMAT_CHARACTER =
  /(?!\u200b|(?<=\p{Extended_Pictographic}(?:\u{FE0F}|\p{Emoji_Modifier})?)\u200d(?=\p{Extended_Pictographic}))\p{Cf}/u;

/** Why `text` could ping someone or show markup it should not; empty when it is safe. */
export function markupProblems(text: string, mayMention: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [token, inner = ''] of text.matchAll(TOKEN)) {
    const mentioned = /^@(.*)$/.exec(inner)?.[1];
    const allowed =
      (mentioned !== undefined && mayMention.includes(mentioned)) || DATE_TOKEN.test(inner) || LINK_TOKEN.test(inner);
    if (!allowed) problems.push(`markup the bot did not mean: ${JSON.stringify(token.slice(0, 80))}`);
  }
  // A `>` that starts a line is a quote the bot made; outside text has its own `>` escaped.
  const rest = text.replace(TOKEN, '').replace(/^>/gm, '');
  if (/[<>]/.test(rest)) problems.push(`a stray < or > in ${JSON.stringify(rest.slice(0, 80))}`);
  if (ENTITY_OR_AMPERSAND.test(text)) problems.push('an & that does not start &amp; &lt; or &gt;');
  const fences = text.match(/```/g)?.length ?? 0;
  if (fences % 2 !== 0) problems.push(`${fences} code fences: one is not closed`);
  const format = FOREIGN_FORMAT_CHARACTER.exec(text)?.[0];
  if (format)
    problems.push(`a format character U+${format.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  return problems;
}

/** Throws unless every text is safe. */
export function assertSafeMarkup(texts: readonly string[], mayMention: readonly string[]): void {
  const problems = texts.flatMap((t) =>
    markupProblems(t, mayMention).map((p) => `${p}\n    in ${JSON.stringify(t.slice(0, 200))}`),
  );
  if (problems.length > 0) throw new Error(`Outside text became markup:\n  ${problems.join('\n  ')}`);
}
