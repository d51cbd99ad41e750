import {
  startFakeImageBuilder as startDemoFakeImageBuilder,
  type FakeImageBuilder,
  type FakeImageBuilderOptions,
} from '../../src/demo/fakes/imageBuilderService';
import {
  createImageBuilderClient,
  type ImageBuilderClient,
  type ImageBuilderClientOptions,
} from '../../src/imageBuilder';
import { silentLogger } from '../../src/platform/logger';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { activeSecretSentinel, sentinelObserver, type SecretSentinel } from '../support/secretSentinel';

/*
 * The fake Image Builder as the tests use it (src/demo/fakes/imageBuilderService.ts): with the suite's known
 * secrets as its credentials, and every request it receives read by the test file's secret sentinel.
 */

export * from '../../src/demo/fakes/imageBuilderService';

export function startFakeImageBuilder(
  options: FakeImageBuilderOptions & { secretSentinel?: SecretSentinel } = {},
): Promise<FakeImageBuilder> {
  const { secretSentinel, ...rest } = options;
  const observer = sentinelObserver(secretSentinel ?? activeSecretSentinel());
  return startDemoFakeImageBuilder({
    clientSecret: KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET,
    offlineToken: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN,
    ...(observer ? { observer } : {}),
    ...rest,
  });
}

/** The real Image Builder client, signed in to `service` with its service account; one attempt per call unless told. */
export function clientOf(
  service: FakeImageBuilder,
  options: Partial<Pick<ImageBuilderClientOptions, 'retry' | 'logger'>> = {},
): ImageBuilderClient {
  return createImageBuilderClient({
    baseUrl: service.baseUrl,
    tokenUrl: service.tokenUrl,
    auth: { kind: 'serviceAccount', ...service.credentials },
    logger: silentLogger(),
    retry: { maxAttempts: 1 },
    ...options,
  });
}
