import type { JsonObject } from './blockKit';

/*
 * What the fake Slack answers: a Web API body (HTTP 200, `ok` true or false), or a full HTTP answer such as the 429
 * with Retry-After Slack sends a rate-limited call. A method refuses by throwing a SlackRefusal, so that a check deep
 * in a method ends it with Slack's error body.
 */

const HTTP_ANSWER = Symbol('fake-slack-http-answer');
export interface FakeHttpAnswer {
  [HTTP_ANSWER]: true;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A body the fake sends as HTTP 200, or a full HTTP answer from {@link httpAnswer} / {@link rateLimited}. */
export type FakeSlackReply = JsonObject | FakeHttpAnswer;

export const httpAnswer = (status: number, body: unknown, headers: Record<string, string> = {}): FakeHttpAnswer => ({
  [HTTP_ANSWER]: true,
  status,
  headers,
  body,
});

export const isHttpAnswer = (reply: FakeSlackReply): reply is FakeHttpAnswer => HTTP_ANSWER in reply;

/** The status and body a reply is sent with. */
export const replyStatusAndBody = (reply: FakeSlackReply): { status: number; body: unknown } =>
  isHttpAnswer(reply) ? { status: reply.status, body: reply.body } : { status: 200, body: reply };

/** HTTP 429 with Retry-After, as Slack rate-limits a method. */
export const rateLimited = (retryAfterSeconds = 1): FakeHttpAnswer =>
  httpAnswer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfterSeconds) });

export const slackError = (error: string, extra: JsonObject = {}): JsonObject => ({ ok: false, error, ...extra });

/** Thrown inside a method's handler to answer Slack's error body instead. */
export class SlackRefusal extends Error {
  constructor(readonly body: JsonObject) {
    super(typeof body.error === 'string' ? body.error : 'refused');
  }
}

export const refuse = (error: string, extra: JsonObject = {}) => new SlackRefusal(slackError(error, extra));

/** Slack's answer to arguments it cannot accept, with its `[json-pointer:…]` messages. */
export const invalid = (error: 'invalid_blocks' | 'invalid_arguments', problems: string[]) =>
  refuse(error, { errors: problems, response_metadata: { messages: problems.map((m) => `[ERROR] ${m}`) } });

/** One Web API method's default answer to its arguments; it throws a SlackRefusal to refuse them. */
export type WebApiMethod = (args: JsonObject) => JsonObject;

/** A string argument, or undefined when it is missing, empty or not a string. */
export const stringArg = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
