import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * Slack's Block Kit limits as @slack/types and Slack's Python SDK validators state them, read from ../shared beside
 * the repository, so the fake Slack and the views' checker can be held to them. Where the file is absent the suites
 * that need it are skipped, and their title says why.
 */

export const SLACK_LIMITS_PATH = path.resolve(
  __dirname,
  '../../../shared/reference/real-world/slack-blockkit/limits.json',
);
const available = existsSync(SLACK_LIMITS_PATH);

/** `describe` when the limits file is there; else a skipped `describe` whose title says it is missing. */
export const describeWithSlackLimits = (title: string, body: () => void): void =>
  available ? describe(title, body) : describe.skip(`${title} (skipped: ${SLACK_LIMITS_PATH} is absent)`, body);

/** Each limit's name and its maximum, e.g. { sectionText: 3000, … }. */
export function slackBlockKitLimits(): Record<string, number> {
  const file = JSON.parse(readFileSync(SLACK_LIMITS_PATH, 'utf8')) as { limits: Record<string, { max: number }> };
  return Object.fromEntries(Object.entries(file.limits).map(([name, limit]) => [name, limit.max]));
}

/** @slack/types' older option value limit; Slack and its Python SDK take 150, and so do the bot's checkers. */
const SUPERSEDED = ['optionValueStrict'];

/**
 * Where `ours` disagrees with the stated limits: a different maximum, or a limit it does not have. `renamed` maps a
 * stated name to ours where they differ. Empty when they agree.
 */
export function limitDisagreements(
  ours: Readonly<Record<string, number>>,
  renamed: Readonly<Record<string, string>> = {},
): string[] {
  return Object.entries(slackBlockKitLimits())
    .filter(([name]) => !SUPERSEDED.includes(name))
    .flatMap(([name, max]) => {
      const ourName = renamed[name] ?? name;
      const our = ours[ourName];
      if (our === undefined) return [`${name}: no limit ${ourName}`];
      return our === max ? [] : [`${name}: ${ourName} is ${our}, Slack's is ${max}`];
    });
}
