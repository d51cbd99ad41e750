import { randomBytes } from 'node:crypto';

/*
 * Trigger ids shaped like Slack's ("13345224609.738474920.8088930838d88f008e0") that carry the moment they were
 * issued, so the fake Web API can refuse them as Slack does once they are more than 3 seconds old or used twice.
 * Request builders issue them; the fake reads them back.
 */

let sequence = 0;

export function newTriggerId(issuedAtMs: number = Date.now()): string {
  sequence += 1;
  return `${Math.floor(issuedAtMs)}.${sequence}.${randomBytes(10).toString('hex')}`;
}

/** When the trigger was issued, or undefined for an id that did not come from {@link newTriggerId}. */
export function triggerIssuedAt(triggerId: string): number | undefined {
  const match = /^(\d{13})\.\d+\.[0-9a-f]{20}$/.exec(triggerId);
  return match ? Number(match[1]) : undefined;
}
