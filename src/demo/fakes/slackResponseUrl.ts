import { messageBlockProblems, type JsonObject } from './blockKit';
import { httpAnswer, invalid, slackError, type FakeSlackReply } from './slackReplies';

/*
 * The response_urls the fake Slack hands out for slash commands and actions, with Slack's limits: five posts
 * each, for 30 minutes; a post past them, or to a url Slack never issued, is answered 404 with Slack's error.
 */

const RESPONSE_URL_USES = 5;
const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

export interface ResponseUrls {
  /** Starts the url's 30 minutes, the first time it is issued. */
  issue(id: string): void;
  /** Slack's answer to a post of `args` to the url: counted as one of its uses when accepted. */
  answer(id: string, args: JsonObject): FakeSlackReply;
}

export function createResponseUrls(now: () => number): ResponseUrls {
  const issued = new Map<string, { createdAt: number; uses: number }>();
  return {
    issue(id) {
      if (!issued.has(id)) issued.set(id, { createdAt: now(), uses: 0 });
    },
    answer(id, args) {
      const state = issued.get(id);
      if (!state) return httpAnswer(404, slackError('invalid_url'));
      if (now() - state.createdAt > RESPONSE_URL_LIFETIME_MS) return httpAnswer(404, slackError('expired_url'));
      if (state.uses >= RESPONSE_URL_USES) return httpAnswer(404, slackError('used_url'));
      const found = args.blocks === undefined ? [] : messageBlockProblems(args.blocks);
      if (found.length > 0) return httpAnswer(400, invalid('invalid_blocks', found).body);
      state.uses += 1;
      return { ok: true };
    },
  };
}
