import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { requestTarget } from '../shared/requestTarget';
import type { SlackMessage } from './views/threadMessages';

/**
 * Posts an ephemeral message through a command's response_url (valid 30 minutes, 5 uses). The one name for it:
 * `respond`, built by createResponder; `respondOrLog` for an answer whose failure must not end the caller.
 */
export type Responder = (responseUrl: string, message: SlackMessage | string) => Promise<void>;

/** The response_url may have expired or been used up: a failure is logged, never thrown. */
export async function respondOrLog(
  respond: Responder,
  logger: Pick<Logger, 'warn'>,
  responseUrl: string,
  message: SlackMessage | string,
): Promise<void> {
  try {
    await respond(responseUrl, message);
  } catch (error) {
    logger.warn({ err: error }, 'could not answer through the response_url');
  }
}

/**
 * Whether `responseUrl` is under one of `prefixes` (SLACK_RESPONSE_URL_PREFIXES): the same origin, and a path that
 * begins with the prefix's. Both are read as URLs, so `https://hooks.slack.com@elsewhere/` or a `..` cannot pass
 * for Slack's.
 */
export function isAllowedResponseUrl(responseUrl: string, prefixes: readonly string[]): boolean {
  if (!URL.canParse(responseUrl)) return false;
  const url = new URL(responseUrl);
  if (url.username || url.password) return false;
  return prefixes.some((prefix) => {
    const allowed = new URL(prefix);
    return url.origin === allowed.origin && url.pathname.startsWith(allowed.pathname);
  });
}

export interface ResponderOptions {
  /** Goes through the outbound dispatcher, so HTTPS_PROXY and NO_PROXY apply as to every other Slack call. */
  dispatcher: Dispatcher;
  /**
   * Where a response_url may point. It comes from the payload: without this a payload could have the bot post to
   * any address it can reach (an admin port on loopback, a cloud metadata service).
   */
  allowedPrefixes: readonly string[];
  logger: Logger;
  timeoutMs?: number;
}

/** A response_url outside the allowed prefixes is not posted to; the refusal is logged with its host only. */
export function createResponder(options: ResponderOptions): Responder {
  const { dispatcher, allowedPrefixes, logger, timeoutMs = 10_000 } = options;
  return async (responseUrl, message) => {
    if (!isAllowedResponseUrl(responseUrl, allowedPrefixes)) {
      // The path is a capability (whoever holds it may post as the bot); the host is enough to tell what happened.
      const host = URL.canParse(responseUrl) ? new URL(responseUrl).host : 'an unreadable URL';
      logger.warn({ host, allowedPrefixes }, 'refused to post to a response_url outside SLACK_RESPONSE_URL_PREFIXES');
      return;
    }
    const body = typeof message === 'string' ? { text: message } : message;
    const res = await dispatcher.request({
      ...requestTarget(responseUrl),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...body }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`Slack answered ${res.statusCode} to the response_url`);
  };
}
