import type { Logger } from 'pino';
import type { ImageBuilderClient } from './client';
import type { OfferedArchitecture } from '../providers';

/*
 * What GET /architectures/{distribution} says of each distribution, kept in memory: which architectures it builds
 * and which image types on each. Read synchronously (the modal opens within Slack's 3 seconds and never waits for
 * Image Builder); refreshed with the distribution list, a few requests at a time so the hourly round of ~30
 * distributions stays well inside the request budget.
 */

export interface ArchitectureCatalog {
  /** What the service last said of this distribution; undefined while it has not answered for it. */
  current(distribution: string): readonly OfferedArchitecture[] | undefined;
  /**
   * Asks for each of these distributions; forgets the ones not among them. A distribution the service does not
   * answer for keeps what was known of it.
   */
  refresh(distributions: readonly string[]): Promise<void>;
  /** Ends a refresh under way after the requests already sent. */
  stop(): void;
}

const DEFAULT_CONCURRENCY = 3;

export function createArchitectureCatalog(options: {
  imageBuilder: Pick<ImageBuilderClient, 'getArchitectures'>;
  logger: Logger;
  concurrency?: number;
}): ArchitectureCatalog {
  const { imageBuilder, logger } = options;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  let known = new Map<string, readonly OfferedArchitecture[]>();
  let stopped = false;

  async function refresh(distributions: readonly string[]) {
    const next = new Map<string, readonly OfferedArchitecture[]>();
    const failed: string[] = [];
    let lastError: unknown;
    const queue = [...distributions];
    const worker = async () => {
      for (let distribution = queue.shift(); distribution !== undefined && !stopped; distribution = queue.shift()) {
        try {
          const items = await imageBuilder.getArchitectures(distribution);
          // Only what choosing needs: the answer also lists every repository.
          next.set(
            distribution,
            items.map(({ arch, image_types }) => ({ arch, image_types })),
          );
        } catch (error) {
          failed.push(distribution);
          lastError = error;
          const previous = known.get(distribution);
          if (previous) next.set(distribution, previous);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (stopped) return;
    known = next;
    if (failed.length > 0) {
      logger.warn(
        { err: lastError, distributions: failed },
        'could not read what some distributions build; offering them as before',
      );
    }
    logger.info(
      { distributions: distributions.length, unanswered: failed.length },
      'distribution architectures refreshed',
    );
  }

  return {
    current: (distribution) => known.get(distribution),
    refresh,
    stop: () => {
      stopped = true;
    },
  };
}
