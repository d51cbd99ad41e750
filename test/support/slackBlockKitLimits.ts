import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * Slack's Block Kit limits as @slack/types and Slack's Python SDK validators state them, read from ../shared beside
 * the repository, so the fake Slack and the views' checker can be held to them. Where the file is absent the suites
 * that need it are skipped, and their title says why.
 */

export const SLACK_LIMITS_PATH = path.resolve(__dirname, '../../../shared/reference/real-world/slack-blockkit/limits.json');
const available = existsSync(SLACK_LIMITS_PATH);

/** `describe` when the limits file is there; else a skipped `describe` whose title says it is missing. */
export const describeWithSlackLimits = (title: string, body: () => void): void =>
  available ? describe(title, body) : describe.skip(`${title} (skipped: ${SLACK_LIMITS_PATH} is absent)`, body);

/** Each limit's name and its maximum, e.g. { sectionText: 3000, … }. */
export function slackBlockKitLimits(): Record<string, number> {
  const file = JSON.parse(readFileSync(SLACK_LIMITS_PATH, 'utf8')) as { limits: Record<string, { max: number }> };
  return Object.fromEntries(Object.entries(file.limits).map(([name, limit]) => [name, limit.max]));
}
