import { performance } from 'node:perf_hooks';
import type { WebClientOptions } from '@slack/web-api';
import {
  fetch as undiciFetch,
  FormData as UndiciFormData,
  Headers as UndiciHeaders,
  Response as UndiciResponse,
  type Dispatcher,
} from 'undici';
import type { Metrics } from '../platform/metrics';
import { requestTarget } from '../shared/requestTarget';

/** What the Web API client hands its fetch: always a POST, its body a form-encoded string or (file uploads) a FormData. */
interface WebApiRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** A Web API answer, read whole. */
interface Answer {
  status: number;
  statusText: string;
  headers: UndiciHeaders;
  text: string;
}

/** Told of each Web API answer (its `error` code when ok is false) or a transport failure; /readyz listens. */
export interface SlackAnswerObserver {
  observe(outcome: { ok: true } | { ok: false; error?: string; unreachable?: boolean }): void;
}

/**
 * The fetch every Slack Web API client uses: through the outbound dispatcher (HTTPS_PROXY, NO_PROXY), counted for
 * /metrics, and watched for what Slack's answers say about the connection (/readyz).
 */
export function slackFetch(options: {
  /** The client's slackApiUrl, with its trailing slash. */
  apiUrl: string;
  dispatcher: Dispatcher;
  metrics: Pick<Metrics, 'slackCall'>;
  health: SlackAnswerObserver;
}): NonNullable<WebClientOptions['fetch']> {
  const fetchThroughDispatcher = async (url: string, init: WebApiRequestInit = {}) => {
    const method = url.startsWith(options.apiUrl) ? url.slice(options.apiUrl.length) : FILE_UPLOAD;
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    let answer: Answer;
    try {
      // Recognised by its tag, not `instanceof globalThis.FormData`: reading that global makes Node.js load its own
      // copy of undici, some 3 MB held for good by a bot that uploads nothing.
      const upload =
        Object.prototype.toString.call(init.body) === '[object FormData]' ? (init.body as FormData) : undefined;
      answer = upload
        ? await sendMultipart(options.dispatcher, url, upload, init)
        : await sendForm(options.dispatcher, url, init);
    } catch (error) {
      options.metrics.slackCall(method, 'unreachable', elapsed());
      options.health.observe({ ok: false, unreachable: true });
      throw error;
    }
    if (answer.status === 200 && VIEW_METHODS.has(method)) answer.text = withoutEchoedBlocks(answer.text);
    let outcome = `http_${answer.status}`;
    if (answer.status === 200 && method === FILE_UPLOAD) {
      outcome = 'ok';
    } else if (answer.status === 200) {
      const body = answerOf(answer.text);
      outcome = body?.ok ? 'ok' : (body?.error ?? 'unreadable');
      options.health.observe(body?.ok ? { ok: true } : { ok: false, ...(body?.error ? { error: body.error } : {}) });
    } else if (answer.status === 429) {
      outcome = 'ratelimited';
    } else if (answer.status >= 500) {
      options.health.observe({ ok: false, unreachable: true });
    }
    options.metrics.slackCall(method, outcome, elapsed());
    // Read once and handed on as a fresh response: Slack echoes whole modals back, so cloning and parsing every
    // answer a second time would cost the interactive path more than the rest of this wrapper.
    return new UndiciResponse(answer.text, {
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers,
    });
  };
  return fetchThroughDispatcher as unknown as NonNullable<WebClientOptions['fetch']>;
}

/**
 * A Web API call is the client's API URL and the method. The one other URL the client posts to is the upload URL
 * files.uploadV2 is handed, which ends in a file id: counted under one label (not a series per file), and its
 * plain-text answer is not a Web API answer.
 */
const FILE_UPLOAD = 'file_upload';

/** The Web API methods whose answer is the view they were sent, echoed whole. */
const VIEW_METHODS = new Set(['views.open', 'views.push', 'views.update', 'views.publish']);

/**
 * A views.* answer without the view's blocks, which Slack echoes back whole: the bot sent them, and reads only the
 * view's id and hash. Kept, the client would parse them and then copy and encode them again for a debug line it
 * builds whatever the log level; for a compose form (about 10 kB of blocks) that was the largest part of opening
 * it. Anything but a successful view answer is handed on as it came.
 */
export function withoutEchoedBlocks(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(body) || body.ok !== true || !isRecord(body.view) || !('blocks' in body.view)) return text;
  const { blocks: _echoed, ...view } = body.view;
  return JSON.stringify({ ...body, view });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every Web API call but a file upload: a form-encoded string, sent with undici's `request`. That is undici's plain
 * HTTP/1.1 path, without the WHATWG fetch machinery (Request objects, body streams, a controller per call), which
 * cost more CPU than the rest of a slash command's work and shares the event loop with the next command's ack.
 * Nothing of fetch is lost: the client asks for no redirects to be followed (`request` follows none: a 3xx is
 * handed back and the client fails on it, as on any answer but 200 and 429), and asks for no compression.
 *
 * Measured with `npm run bench -- --runs 3 --phases ack` (2,000 slash commands, 10 at a time), plain undici `fetch`
 * with the same dispatcher against this path: CPU per command 4.16 ms against 2.50 ms (bare Bolt in the same runs:
 * 2.72 and 2.56 ms), and the ack p99 ratio to bare Bolt 1.44 against 0.98, over the 1.15 the bot must keep.
 */
async function sendForm(dispatcher: Dispatcher, url: string, init: WebApiRequestInit): Promise<Answer> {
  const response = await dispatcher.request({
    ...requestTarget(url),
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    body: init.body as string | undefined,
    signal: init.signal,
  });
  const headers = new UndiciHeaders();
  for (const [name, value] of Object.entries(response.headers)) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else if (value !== undefined) headers.append(name, value);
  }
  return { status: response.statusCode, statusText: response.statusText, headers, text: await response.body.text() };
}

/**
 * A file upload: the client builds it as Node's global FormData, a class undici's own fetch does not recognise (it
 * would send "[object FormData]"), so the same fields go into undici's FormData, which fetch encodes as multipart.
 */
async function sendMultipart(
  dispatcher: Dispatcher,
  url: string,
  fields: FormData,
  init: WebApiRequestInit,
): Promise<Answer> {
  const form = new UndiciFormData();
  for (const [name, value] of fields) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, value.name);
  }
  const response = await undiciFetch(url, { ...init, body: form, dispatcher });
  return {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
    text: await response.text(),
  };
}

/**
 * `ok` and `error` of a Web API answer. Slack writes `"ok"` first, so a success is recognised from the start of the
 * text without parsing what follows; anything else (an error, which is short) is parsed whole.
 */
export function answerOf(text: string): { ok?: boolean; error?: string } | undefined {
  if (/^\s*\{\s*"ok"\s*:\s*true\s*[,}]/.test(text)) return { ok: true };
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}
