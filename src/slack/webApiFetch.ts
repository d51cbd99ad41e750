import { performance } from 'node:perf_hooks';
import type { WebClientOptions } from '@slack/web-api';
import { fetch as undiciFetch, FormData as UndiciFormData, Response as UndiciResponse, type Dispatcher } from 'undici';
import type { Metrics } from '../metrics';
import type { SlackConnectionHealth } from '../operations';

/**
 * The fetch every Slack Web API client uses: through the outbound dispatcher (HTTPS_PROXY, NO_PROXY), counted for
 * /metrics, and watched for what Slack's answers say about the connection (/readyz).
 */
export function slackFetch(options: {
  dispatcher: Dispatcher;
  metrics: Pick<Metrics, 'slackCall'>;
  health: Pick<SlackConnectionHealth, 'observe'>;
}): NonNullable<WebClientOptions['fetch']> {
  const fetchThroughDispatcher = async (url: string, init?: object) => {
    const method = new URL(url).pathname.split('/').pop() ?? 'unknown';
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    try {
      const res = await undiciFetch(url, { ...withUndiciBody(init), dispatcher: options.dispatcher });
      let outcome = `http_${res.status}`;
      if (res.status === 200) {
        // Read once and handed on as a fresh response: Slack echoes whole modals back, so cloning and parsing every
        // answer a second time would cost the interactive path more than the rest of this wrapper.
        const text = await res.text();
        const body = answerOf(text);
        outcome = body?.ok ? 'ok' : (body?.error ?? 'unreadable');
        options.health.observe(body?.ok ? { ok: true } : { ok: false, ...(body?.error ? { error: body.error } : {}) });
        options.metrics.slackCall(method, outcome, elapsed());
        return new UndiciResponse(text, { status: res.status, statusText: res.statusText, headers: res.headers });
      } else if (res.status === 429) {
        outcome = 'ratelimited';
      } else if (res.status >= 500) {
        options.health.observe({ ok: false, unreachable: true });
      }
      options.metrics.slackCall(method, outcome, elapsed());
      return res;
    } catch (error) {
      options.metrics.slackCall(method, 'unreachable', elapsed());
      options.health.observe({ ok: false, unreachable: true });
      throw error;
    }
  };
  return fetchThroughDispatcher as unknown as NonNullable<WebClientOptions['fetch']>;
}

/**
 * `ok` and `error` of a Web API answer. Slack writes `"ok"` first, so a success is recognised from the start of the
 * text without parsing what follows; anything else (an error, which is short) is parsed whole.
 */
export function answerOf(text: string): { ok?: boolean; error?: string } | undefined {
  if (/^\s*\{\s*"ok"\s*:\s*true\s*[,}]/.test(text)) return { ok: true };
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? (body as { ok?: boolean; error?: string }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Web API client builds file uploads as Node's global FormData, a class undici's own fetch does not recognise
 * (it would send "[object FormData]"); the same fields go into undici's FormData.
 */
function withUndiciBody(init: object | undefined): object | undefined {
  const body = (init as { body?: unknown } | undefined)?.body;
  if (!(body instanceof globalThis.FormData)) return init;
  const form = new UndiciFormData();
  for (const [name, value] of body) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, value.name);
  }
  return { ...init, body: form };
}
