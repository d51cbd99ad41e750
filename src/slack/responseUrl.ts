import { request, type Dispatcher } from 'undici';
import type { SlackMessage } from './views/threadMessages';

/** Posts an ephemeral message through a command's response_url (valid 30 minutes, 5 uses). */
export type Responder = (responseUrl: string, message: SlackMessage | string) => Promise<void>;

/** Goes through the outbound dispatcher, so HTTPS_PROXY and NO_PROXY apply as to every other Slack call. */
export function createResponder(dispatcher: Dispatcher, timeoutMs = 10_000): Responder {
  return async (responseUrl, message) => {
    const body = typeof message === 'string' ? { text: message } : message;
    const res = await request(responseUrl, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...body }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`Slack answered ${res.statusCode} to the response_url`);
  };
}
