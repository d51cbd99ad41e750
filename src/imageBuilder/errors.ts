/*
 * The one error type that leaves the Image Builder client. Callers branch on `kind` (the Slack layer turns each
 * kind into one sentence for the user); `detail` carries the service's own words when it gave any.
 *
 * Nothing here may carry a credential: messages and details are built from status codes, operation names and
 * the service's error bodies only — never from request headers or form bodies.
 */

export type ImageBuilderErrorKind =
  /** 400: the service refused the request; `detail` says why. */
  | 'validation'
  /** 401 after one token refresh and retry, or the token endpoint refused the credentials. */
  | 'unauthorized'
  /** 403: build quota exhausted or distribution not allowed for this account; `detail` is the service's text. */
  | 'forbidden'
  | 'not-found'
  /** 415: we sent a body the service would not read; a bug on our side. */
  | 'unsupported-media-type'
  /** 407 from the proxy, whether as a response or as the answer to CONNECT. */
  | 'proxy-auth-required'
  | 'rate-limited'
  /** 5xx, network failure or timeout. */
  | 'unavailable'
  /** The answer was not JSON or did not have the expected shape (an HTML page from a proxy, for instance). */
  | 'invalid-response'
  /** Our own schema refused the request; nothing was sent. */
  | 'invalid-request';

export interface ImageBuilderErrorInit {
  kind: ImageBuilderErrorKind;
  message: string;
  status?: number;
  detail?: string;
  retryable?: boolean;
  /** Only for a POST /compose that may have reached the service: do not resend it blindly. */
  mayHaveBeenSubmitted?: boolean;
  /** When the service asked us to wait (Retry-After) longer than we were willing to. */
  retryAfterMs?: number;
  cause?: unknown;
}

const RETRYABLE_KINDS: ReadonlySet<ImageBuilderErrorKind> = new Set(['rate-limited', 'unavailable']);

export class ImageBuilderError extends Error {
  override readonly name = 'ImageBuilderError';
  readonly kind: ImageBuilderErrorKind;
  readonly status?: number;
  readonly detail?: string;
  /** Whether trying the same call again later may succeed. */
  readonly retryable: boolean;
  readonly mayHaveBeenSubmitted?: boolean;
  readonly retryAfterMs?: number;

  constructor(init: ImageBuilderErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    if (init.status !== undefined) this.status = init.status;
    if (init.detail !== undefined) this.detail = init.detail;
    this.retryable = init.retryable ?? (RETRYABLE_KINDS.has(init.kind) && !init.mayHaveBeenSubmitted);
    if (init.mayHaveBeenSubmitted !== undefined) this.mayHaveBeenSubmitted = init.mayHaveBeenSubmitted;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }

  /** What a log line or `--json` output shows: the facts, never the stack or the cause's internals. */
  toJSON() {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      status: this.status,
      detail: this.detail,
      retryable: this.retryable,
      mayHaveBeenSubmitted: this.mayHaveBeenSubmitted,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

export const isImageBuilderError = (value: unknown): value is ImageBuilderError => value instanceof ImageBuilderError;

/**
 * The service's error body, `{"errors":[{"title":"403","detail":"Quota exceeded for user"}]}`, as one line.
 * Image Builder puts the status code in `title`, which says nothing the status does not; such titles are dropped so
 * a quota message reads exactly as the service wrote it.
 */
export function describeServiceErrors(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const lines = errors.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { title, detail } = item as { title?: unknown; detail?: unknown };
    const parts = [title, detail]
      .filter((part): part is string => typeof part === 'string' && part.trim() !== '')
      .map((part) => part.trim())
      .filter((part) => !/^\d{3}$/.test(part));
    const unique = [...new Set(parts)];
    return unique.length > 0 ? [unique.join(': ')] : [];
  });
  return lines.length > 0 ? [...new Set(lines)].join('; ') : undefined;
}

const KIND_BY_STATUS: Readonly<Record<number, ImageBuilderErrorKind>> = {
  400: 'validation',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  407: 'proxy-auth-required',
  415: 'unsupported-media-type',
  422: 'validation',
  429: 'rate-limited',
};

function kindForStatus(status: number): ImageBuilderErrorKind {
  return KIND_BY_STATUS[status] ?? (status >= 500 ? 'unavailable' : 'invalid-response');
}

const SENTENCE_BY_KIND: Readonly<Record<ImageBuilderErrorKind, string>> = {
  validation: 'Image Builder rejected the request',
  unauthorized: 'Image Builder did not accept our credentials',
  forbidden: 'Image Builder refused the request for this account',
  'not-found': 'Image Builder does not know what was asked for',
  'unsupported-media-type': 'Image Builder refused the body we sent as not JSON',
  'proxy-auth-required': 'The HTTP proxy refused our proxy credentials',
  'rate-limited': 'Image Builder asked us to slow down',
  unavailable: 'Image Builder is unavailable',
  'invalid-response': 'Image Builder sent an answer we could not read',
  'invalid-request': 'The request was refused before sending',
};

/**
 * Builds the error for a non-2xx answer; `operation` is like "GET /composes/{id}". `subject` names what was asked
 * for ("blueprint 3f… version 2"), so that a 404 says what does not exist rather than that something does not.
 */
export function errorFromStatus(
  operation: string,
  status: number,
  body: unknown,
  extra: { retryAfterMs?: number; mayHaveBeenSubmitted?: boolean; subject?: string } = {},
): ImageBuilderError {
  const { subject, ...init } = extra;
  const kind = kindForStatus(status);
  const detail = describeServiceErrors(body);
  const suffix = detail ? `: ${detail}` : '';
  const warning = extra.mayHaveBeenSubmitted
    ? '; it may have been submitted, so check the list of composes before trying again'
    : '';
  const sentence =
    kind === 'not-found' && subject
      ? `Image Builder has no ${subject} (it may have been deleted)`
      : SENTENCE_BY_KIND[kind];
  return new ImageBuilderError({
    kind,
    status,
    detail,
    message: `${sentence} (${operation} answered ${status})${suffix}${warning}`,
    ...init,
  });
}

export function invalidResponse(operation: string, status: number, problem: string): ImageBuilderError {
  return new ImageBuilderError({
    kind: 'invalid-response',
    status,
    message: `${SENTENCE_BY_KIND['invalid-response']} (${operation} answered ${status}): ${problem}`,
  });
}

export function invalidRequest(operation: string, problem: string): ImageBuilderError {
  return new ImageBuilderError({
    kind: 'invalid-request',
    detail: problem,
    message: `${SENTENCE_BY_KIND['invalid-request']} (${operation}): ${problem}`,
  });
}
