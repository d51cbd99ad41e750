import type { Dispatcher } from 'undici';
import type { CoreConfig } from '../config/config';
import { createImageBuilderClient, type ImageBuilderClient, type ImageBuilderClientOptions } from './client';
import type { ImageBuilderLogger } from './http';

/** The Image Builder client as the configuration describes it; the bot and the CLI both build it here. */
export function imageBuilderFromConfig(
  config: CoreConfig,
  deps: {
    dispatcher: Dispatcher;
    logger: ImageBuilderLogger;
    onCall?: ImageBuilderClientOptions['onCall'];
    retry?: ImageBuilderClientOptions['retry'];
    budget?: ImageBuilderClientOptions['budget'];
  },
): ImageBuilderClient {
  return createImageBuilderClient({
    baseUrl: config.imageBuilder.baseUrl,
    tokenUrl: config.imageBuilder.tokenUrl,
    auth: config.imageBuilder.auth,
    dispatcher: deps.dispatcher,
    logger: deps.logger,
    timeouts: { requestMs: config.imageBuilder.requestTimeoutMs },
    maxRequestsPerSecond: config.imageBuilder.maxRequestsPerSecond,
    ...(deps.onCall ? { onCall: deps.onCall } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.budget ? { budget: deps.budget } : {}),
  });
}
