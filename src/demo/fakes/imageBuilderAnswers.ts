/*
 * What the fake Image Builder answers: a status, a body and headers. Errors are shaped as the service sends them,
 * `{"errors":[{"title":"<status>","detail":"…"}]}`.
 */

export class ServiceAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export const answer = (status: number, body: unknown, headers?: Record<string, string>) =>
  new ServiceAnswer(status, body, headers);

/** The service's error body: `{"errors":[{"title":"403","detail":"…"}]}`. */
export const serviceErrors = (status: number, detail: string) => ({ errors: [{ title: String(status), detail }] });

export const errorAnswer = (status: number, detail: string) => answer(status, serviceErrors(status, detail));

export interface ListPage {
  limit: number;
  offset: number;
}

/** A list's `limit` (1–100, default 100) and `offset` (default 0), or the 400 the service's request validation sends. */
export function pageOf(query: Record<string, string>): ListPage | ServiceAnswer {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return errorAnswer(400, 'parameter "limit" in query has an error: number must be between 1 and 100');
  }
  if (!Number.isInteger(offset) || offset < 0)
    return errorAnswer(400, 'parameter "offset" in query has an error: number must be at least 0');
  return { limit, offset };
}

/**
 * `links` as the blueprint handlers write them (newLinksWithExtraParams): the query's keys sorted, as Go's
 * url.Values encodes them, and `last` at offset count - 1 rather than at the last page's start.
 */
export function listLinks(resource: string, count: number, limit: number, params: Record<string, string> = {}) {
  const link = (offset: number) => {
    const query = new URLSearchParams({ ...params, limit: String(limit), offset: String(offset) });
    query.sort();
    return `/api/image-builder/v1.0/${resource}?${query.toString()}`;
  };
  return { first: link(0), last: link(Math.max(count - 1, 0)) };
}
