import type { Logger } from 'pino';
import { createArchitectureCatalog } from './architectureCatalog';
import type { ImageBuilderClient } from './client';
import { newestFirst, type ArchitecturesOf, type DistributionChoice } from '../providers';

/*
 * The distributions this account may build, and what each builds, kept in memory and refreshed in the background.
 * The modal must open within Slack's 3-second trigger window, so it never waits for Image Builder: it shows what is
 * known now.
 */

/** Offered until Image Builder has answered once; each is in the service's Distributions enum. */
export const FALLBACK_DISTRIBUTIONS: readonly DistributionChoice[] = [
  { name: 'rhel-10', description: 'Red Hat Enterprise Linux (RHEL) 10' },
  { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
  { name: 'rhel-8', description: 'Red Hat Enterprise Linux (RHEL) 8' },
  { name: 'centos-10', description: 'CentOS Stream 10' },
  { name: 'centos-9', description: 'CentOS Stream 9' },
];

/** How often the distributions the service offers are asked again. */
export const DISTRIBUTIONS_REFRESH_MS = 60 * 60 * 1000;

export interface DistributionCatalog {
  /** What is known now, newest first; never waits. */
  current(): readonly DistributionChoice[];
  /** What GET /architectures/{distribution} said at the last refresh; undefined until it has answered. Never waits. */
  architecturesOf: ArchitecturesOf;
  /** Asks Image Builder again, the list and then each distribution's architectures; keeps what was known on failure. */
  refresh(): Promise<void>;
  stop(): void;
}

export function startDistributionCatalog(options: {
  imageBuilder: Pick<ImageBuilderClient, 'getDistributions' | 'getArchitectures'>;
  logger: Logger;
  refreshMs: number;
}): DistributionCatalog {
  const { imageBuilder, logger } = options;
  let known: readonly DistributionChoice[] = FALLBACK_DISTRIBUTIONS;
  let failing = false;
  const architectures = createArchitectureCatalog({ imageBuilder, logger });

  async function refresh() {
    try {
      const distributions = await imageBuilder.getDistributions();
      if (distributions.length > 0) known = newestFirst(distributions);
      logger.info(
        { distributions: distributions.length },
        failing ? 'distribution list refreshed again' : 'distribution list refreshed',
      );
      failing = false;
    } catch (error) {
      if (!failing) logger.warn({ err: error }, 'could not refresh the distribution list; offering the last known one');
      failing = true;
      return;
    }
    await architectures.refresh(known.map((d) => d.name));
  }

  void refresh();
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();

  return {
    current: () => known,
    architecturesOf: (distribution) => architectures.current(distribution),
    refresh,
    stop: () => {
      clearInterval(timer);
      architectures.stop();
    },
  };
}
