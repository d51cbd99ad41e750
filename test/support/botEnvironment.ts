import type { FakeImageBuilder } from '../fakes/imageBuilderService';
import type { FakeSlack } from '../fakes/slackApi';
import { KNOWN_HTTPS_PROXY, KNOWN_SECRETS } from './knownSecrets';

/**
 * The environment of a bot started as a process against the fakes on loopback, in HTTP mode, with free ports and the
 * suite's known secrets (so the secret sentinel watches them). Tests add or override what they are about.
 */
export function botEnvironment(fakes: {
  slack: Pick<FakeSlack, 'url'>;
  imageBuilder: Pick<FakeImageBuilder, 'baseUrl' | 'tokenUrl' | 'credentials'>;
  databaseUrl: string;
}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET,
    HTTPS_PROXY: KNOWN_HTTPS_PROXY,
    SLACK_API_URL: fakes.slack.url,
    PORT: '0',
    HEALTH_PORT: '0',
    DATABASE_URL: fakes.databaseUrl,
    IMAGE_BUILDER_URL: fakes.imageBuilder.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: fakes.imageBuilder.tokenUrl,
    IMAGE_BUILDER_OFFLINE_TOKEN: fakes.imageBuilder.credentials.offlineToken,
  };
}
