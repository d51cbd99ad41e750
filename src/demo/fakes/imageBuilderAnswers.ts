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
