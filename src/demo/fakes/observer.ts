import type { IncomingHttpHeaders } from 'node:http';

/*
 * Whoever else reads the fakes' traffic: in the tests, the secret sentinel, which fails a test that lets a known
 * secret out anywhere but the carriers meant for it. The demo has none.
 */

export interface ReceivedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  body: string;
}

export interface FakeTrafficObserver {
  /** A fake's own origin, so that links to it are not mistaken for leaks. */
  fakeOrigin(origin: string): void;
  imageBuilderRequest(kind: 'api' | 'token', request: ReceivedRequest): void;
  slackApiCall(method: string, request: ReceivedRequest): void;
  responseUrlPost(id: string, request: ReceivedRequest): void;
  /** What the app answered a request sent to it as Slack would send it. */
  answerToSlack(answer: { status: number; headers: IncomingHttpHeaders; text: string }, where: string): void;
}
