import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config';

/*
 * `.env` in the working directory, read at start as the quick start says (`cp .env.example .env`, fill it, start).
 * Node's own loader sets only the variables the process environment does not already have, so a variable given to
 * the process still wins over the file. Node skips lines it cannot parse without a word; a skipped line here would be
 * a variable silently unset, so every line is checked first and a bad one is a configuration error naming the file.
 */

export const ENV_FILE_NAME = '.env';

/** `NAME=value` (optionally `export NAME=value`), as Node's parser reads them. */
const ASSIGNMENT = /^\s*(?:export\s+)?[A-Za-z_][\w.-]*\s*=(.*)$/;
const QUOTES = ['"', "'", '`'];

/** The problems of an env file's text, each naming its line; none when Node's parser would read every line. */
export function envFileProblems(text: string): string[] {
  const problems: string[] = [];
  let open: { quote: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((line, index) => {
    const number = index + 1;
    if (open) {
      if (line.includes(open.quote)) open = undefined;
      return;
    }
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    const assignment = ASSIGNMENT.exec(line);
    if (!assignment) {
      problems.push(`line ${number} is not NAME=value`);
      return;
    }
    const value = assignment[1]!.trim();
    const quote = QUOTES.find((q) => value.startsWith(q));
    if (quote && !value.slice(1).includes(quote)) open = { quote, line: number };
  });
  if (open) problems.push(`the value quoted on line ${open.line} has no closing ${open.quote}`);
  return problems;
}

/**
 * Loads `.env` from `workingDirectory` into the process environment when there is one, leaving variables already
 * set alone. Returns the file read, or undefined when there is none; a file that cannot be read or parsed is a
 * ConfigError naming it.
 */
export function loadEnvFile(workingDirectory: string): string | undefined {
  const file = path.resolve(workingDirectory, ENV_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError([`${file}: could not read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  const problems = envFileProblems(text);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${file}: ${problem}`));
  process.loadEnvFile(file);
  return file;
}
