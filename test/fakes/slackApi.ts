import {
  startFakeSlack as startDemoFakeSlack,
  type FakeSlack,
  type FakeSlackOptions,
} from '../../src/demo/fakes/slackApi';
import { activeSecretSentinel, sentinelObserver, type SecretSentinel } from '../support/secretSentinel';

/* The fake Slack Web API as the tests use it (src/demo/fakes/slackApi.ts): every call read by the secret sentinel. */

export * from '../../src/demo/fakes/slackApi';

export function startFakeSlack(
  options: FakeSlackOptions & { secretSentinel?: SecretSentinel } = {},
): Promise<FakeSlack> {
  const { secretSentinel, ...rest } = options;
  const observer = sentinelObserver(secretSentinel ?? activeSecretSentinel());
  return startDemoFakeSlack({ ...(observer ? { observer } : {}), ...rest });
}
