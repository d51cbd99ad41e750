/*
 * Shell commands we print for people to paste. Every value that came from outside (the service or a user) goes
 * through shellQuote, so quotes, $(…), backticks, ; and line breaks stay inert text.
 */

// Words made only of these characters mean the same unquoted in sh, bash and zsh, so they stay bare and the command
// reads naturally. A leading '=' is excluded because zsh expands `=word` to the path of a command.
const PLAIN_WORD = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/;

/** POSIX single-quoting: `it's` becomes `'it'\''s'`; plain words are left as they are. */
export function shellQuote(value: string): string {
  if (PLAIN_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A bare word (ours or already safe) or a `--flag value` pair whose value came from outside. */
export type CommandArgument = string | readonly [flag: string, value: string];

/**
 * Joins a program and its arguments into one command line. A value that starts with '-' is attached to its flag
 * (`--image-id=-x`) so the CLI cannot read it as another option.
 */
export function shellCommand(program: string, args: readonly CommandArgument[]): string {
  const words = [program];
  for (const arg of args) {
    if (typeof arg === 'string') {
      words.push(shellQuote(arg));
      continue;
    }
    const [flag, value] = arg;
    if (value.startsWith('-')) words.push(shellQuote(`${flag}=${value}`));
    else words.push(flag, shellQuote(value));
  }
  return words.join(' ');
}
