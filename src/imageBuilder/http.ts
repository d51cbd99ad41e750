import type { IncomingHttpHeaders } from 'node:http';
import pRetry from 'p-retry';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import { requestTarget } from '../shared/requestTarget';
import type { RequestBudget } from './budget';
import { ImageBuilderError } from './errors';

/*
 * One HTTP exchange with retries. Every attempt gets a timeout of its own and goes through the injected dispatcher (a
 * proxy agent in production, a MockAgent in tests). Idempotent calls are retried on 429/502/503/504 and network
 * failures with exponential backoff and full jitter, honouring Retry-After. A non-idempotent call (POST /compose) is
 * retried only when the failure proves the request never left: a second compose would cost the user quota and build
 * twice.
 *
 * p-retry runs the attempts; the rules of when and how long to wait are ours (pauseBefore), because neither p-retry
 * (jitter in [1, 2) times the delay, no Retry-After) nor undici's retry interceptor expresses them: the
 * interceptor's abort signal spans every attempt, so it cannot bound one attempt's connect (a proxy that never
 * answers CONNECT) and go on to the next, and it does not resend a GET whose body was cut off after the headers.
 *
 * Request headers and bodies carry credentials, so they never appear in a log line or an error.
 */

/** The part of a pino logger the client uses; pino's Logger fits. */
export interface ImageBuilderLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out: the call fails and the error carries `retryAfterMs`. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** `idempotent`: safe to resend. `unsent-only`: resend only when the request provably never reached the server. */
export type RetryPolicy = 'idempotent' | 'unsent-only';

export interface HttpCall {
  /** For logs and messages, with no ids or secrets: "GET /composes/{id}", "POST token". */
  operation: string;
  /** Who answers, for messages: "Image Builder", "the Red Hat SSO token endpoint". */
  target: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  retry: RetryPolicy;
  /** Extra fields for the log line, such as a compose id. */
  logFields?: Record<string, unknown>;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body as JSON, or `undefined` when it is not JSON (an HTML error page from a proxy, say). */
  json: unknown;
  /** From a Retry-After header, when there was one. */
  retryAfterMs?: number;
}

export interface HttpClient {
  send(call: HttpCall): Promise<HttpAnswer>;
}

export interface HttpClientOptions {
  dispatcher?: Dispatcher;
  requestTimeoutMs: number;
  retry: RetryOptions;
  logger: ImageBuilderLogger;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  /** Awaited before every attempt: the global request budget. */
  budget?: RequestBudget;
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { retry, logger } = options;

  const backoff = (attempt: number) =>
    Math.floor(options.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));

  async function once(call: HttpCall): Promise<HttpAnswer> {
    await options.budget?.take();
    const dispatcher = options.dispatcher ?? getGlobalDispatcher();
    const response = await dispatcher.request({
      ...requestTarget(call.url),
      method: call.method,
      headers: call.headers,
      body: call.body,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      // headers/body timeouts do not cover connecting (or a CONNECT through a proxy); this bounds the whole call.
      signal: AbortSignal.timeout(options.requestTimeoutMs),
    });
    const text = await response.body.text();
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], options.now());
    return {
      status: response.statusCode,
      headers: response.headers,
      text,
      json: parseJson(text),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }

  /** What to do after a failed attempt: how long to wait before the next one, or `undefined` to stop. */
  function pauseBefore(next: number, call: HttpCall, failed: Error): number | undefined {
    if (next > retry.maxAttempts) return undefined;
    if (failed instanceof RetryableAnswer) {
      const { retryAfterMs } = failed.answer;
      if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) return undefined;
      return retryAfterMs ?? backoff(next - 1);
    }
    if (!(failed instanceof NetworkAttemptError)) return undefined;
    const { failure } = failed;
    const mayRetry = failure.retryable && (call.retry === 'idempotent' || failure.provablyUnsent);
    return mayRetry ? backoff(next - 1) : undefined;
  }

  return {
    async send(call) {
      const failures: string[] = [];
      // One log line per failure sequence, at its end, rather than one per retry.
      const report = (outcome: 'recovered' | 'failed', fields: Record<string, unknown>) => {
        const line = {
          ...call.logFields,
          operation: call.operation,
          attempts: failures.length + 1,
          failures,
          ...fields,
        };
        if (outcome === 'recovered') logger.info(line, `${call.target} answered ${call.operation} after retrying`);
        else logger.warn(line, `${call.target} failed ${call.operation}`);
      };

      let answer: HttpAnswer;
      try {
        answer = await pRetry(
          async () => {
            const attempt = await once(call).catch((error: unknown) => {
              throw new NetworkAttemptError(classifyNetworkError(error, options.requestTimeoutMs), error);
            });
            const retryable = call.retry === 'idempotent' && RETRYABLE_STATUSES.has(attempt.status);
            if (retryable) throw new RetryableAnswer(attempt);
            return attempt;
          },
          {
            retries: retry.maxAttempts - 1,
            // The waits are ours (full jitter, Retry-After, the injected sleep), taken in shouldRetry.
            minTimeout: 0,
            shouldRetry: async ({ error, attemptNumber }) => {
              const pause = pauseBefore(attemptNumber + 1, call, error);
              if (pause === undefined) return false;
              failures.push(error.message);
              await options.sleep(pause);
              return true;
            },
          },
        );
      } catch (error) {
        if (error instanceof RetryableAnswer) {
          // Out of attempts, or asked to wait longer than we will: the caller reads the answer.
          report('failed', { status: error.answer.status, retryAfterMs: error.answer.retryAfterMs });
          return error.answer;
        }
        if (!(error instanceof NetworkAttemptError)) throw error;
        report('failed', { failure: error.failure.description });
        throw networkError(call, error.failure, error.cause);
      }
      if (failures.length > 0) report(answer.status < 400 ? 'recovered' : 'failed', { status: answer.status });
      return answer;
    },
  };
}

/** An answer that may be asked again (429, 502-504 to an idempotent call), thrown so that p-retry tries again. */
class RetryableAnswer extends Error {
  constructor(readonly answer: HttpAnswer) {
    super(`status ${answer.status}`);
  }
}

/** A network failure of one attempt, classified. */
class NetworkAttemptError extends Error {
  constructor(
    readonly failure: NetworkFailure,
    override readonly cause: unknown,
  ) {
    super(failure.description);
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---------------------------------------------------------------------------------------------------------------
// Network failures

type FailureReason = 'never-connected' | 'proxy-refused' | 'proxy-auth' | 'tls' | 'timeout' | 'connection-lost';

export interface NetworkFailure {
  reason: FailureReason;
  /** True only when nothing of the request can have reached the server. */
  provablyUnsent: boolean;
  /** Whether trying again could help at all. */
  retryable: boolean;
  description: string;
}

/*
 * Errors raised before a connection to the server exists. A connect timeout is among them: the socket (or the
 * proxy tunnel) never opened, so no byte of the request was written.
 */
const NEVER_CONNECTED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
// undici's ProxyAgent reports a refused CONNECT only through this message.
const PROXY_CONNECT_REFUSED = /Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/;
const PROXY_AUTH_REQUIRED = /Proxy Authentication Required \(407\)/;
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|_SIGNED_|UNABLE_TO_VERIFY/;

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export function classifyNetworkError(error: unknown, timeoutMs: number): NetworkFailure {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : '';
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  // Happy-eyeballs connects report every address tried; all of them must have failed to connect.
  const inner = error instanceof AggregateError ? error.errors.map(codeOf) : [];
  const neverConnected =
    (code !== undefined && NEVER_CONNECTED_CODES.has(code) && !(error instanceof AggregateError)) ||
    (inner.length > 0 && inner.every((c) => c !== undefined && NEVER_CONNECTED_CODES.has(c)));

  if (neverConnected) {
    const shown = code ?? inner[0];
    return {
      reason: 'never-connected',
      provablyUnsent: true,
      retryable: true,
      description: `could not connect (${shown})`,
    };
  }
  const proxyStatus = PROXY_CONNECT_REFUSED.exec(message)?.[1];
  if (proxyStatus === '407' || PROXY_AUTH_REQUIRED.test(message)) {
    return {
      reason: 'proxy-auth',
      provablyUnsent: true,
      retryable: false,
      description: 'the proxy asked for credentials (407)',
    };
  }
  if (proxyStatus !== undefined) {
    return {
      reason: 'proxy-refused',
      provablyUnsent: true,
      retryable: true,
      description: `the proxy refused to open a tunnel (${proxyStatus})`,
    };
  }
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError') {
    return {
      reason: 'timeout',
      provablyUnsent: false,
      retryable: true,
      description: `no answer within ${formatMs(timeoutMs)}`,
    };
  }
  if ((code !== undefined && TLS_CODE.test(code)) || name === 'SecureProxyConnectionError') {
    return { reason: 'tls', provablyUnsent: true, retryable: false, description: `TLS failed (${code ?? name})` };
  }
  return {
    reason: 'connection-lost',
    provablyUnsent: false,
    retryable: true,
    description: `the connection failed (${code ?? (name || 'unknown error')})`,
  };
}

const formatMs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

function networkError(call: HttpCall, failure: NetworkFailure, cause: unknown): ImageBuilderError {
  if (failure.reason === 'proxy-auth') {
    return new ImageBuilderError({
      kind: 'proxy-auth-required',
      status: 407,
      message: `The HTTP proxy refused our proxy credentials (407) for ${call.operation}.`,
      cause,
    });
  }
  if (call.retry === 'unsent-only' && !failure.provablyUnsent) {
    return new ImageBuilderError({
      kind: 'unavailable',
      mayHaveBeenSubmitted: true,
      message:
        `${call.target} did not answer ${call.operation} (${failure.description}); it may have been submitted, ` +
        'so check the list of composes before trying again.',
      cause,
    });
  }
  return new ImageBuilderError({
    kind: 'unavailable',
    retryable: failure.retryable,
    message: `Could not reach ${call.target} for ${call.operation}: ${failure.description}.`,
    cause,
  });
}
