/*
 * Commands for Windows PowerShell, where WSL is set up. POSIX quoting means something else there: `'\''` is no
 * escape, and $ and ` expand inside double quotes. A single-quoted string is verbatim in PowerShell, a quote inside
 * it written twice; PowerShell also takes the typographic quotes ‘ ’ ‚ ‛ for single quotes, so those are doubled too.
 */

const SINGLE_QUOTES = /['\u2018\u2019\u201A\u201B]/g;

/** `it's` becomes `'it''s'`: always quoted, so that nothing in the value is read as PowerShell. */
export function powerShellQuote(value: string): string {
  return `'${value.replace(SINGLE_QUOTES, (quote) => quote + quote)}'`;
}
