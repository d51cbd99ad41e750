import {
  signedPost as demoSignedPost,
  type AppAnswer,
  type SignedPostOptions,
  type SlackRequestBody,
} from '../../src/demo/slackRequests';
import { activeSecretSentinel, sentinelObserver } from './secretSentinel';

/* Requests as Slack sends them (src/demo/slackRequests.ts), the app's answers read by the test file's sentinel. */

export * from '../../src/demo/slackRequests';

export function signedPost(
  appUrl: string,
  signingSecret: string,
  body: string | SlackRequestBody,
  options: SignedPostOptions = {},
): Promise<AppAnswer> {
  const observer = options.observer ?? sentinelObserver(activeSecretSentinel());
  return demoSignedPost(appUrl, signingSecret, body, { ...options, ...(observer ? { observer } : {}) });
}
