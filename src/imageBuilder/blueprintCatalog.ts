import type { Clock } from '../platform/clock';
import { closeMatches } from '../shared/closeMatches';
import type { BlueprintItem } from './blueprintSchemas';
import type { ImageBuilderClient } from './client';
import type { ImageBuilderLogger } from './http';

/*
 * The organisation's blueprints (the latest version of each), kept in memory and refreshed in the background. The
 * form, its searchable select and `/image-builder build <name>` answer within Slack's 3 seconds, so they read what
 * is known now and never wait for Image Builder. When the service is slow or down the last list it gave stays,
 * with its age, so the form can offer it and say how old it is.
 */

/** How often the list is asked again: a blueprint saved in the console shows up within this. */
export const BLUEPRINTS_REFRESH_MS = 5 * 60 * 1000;
/** Slack's limit of options in one select answer. */
const MAX_OPTIONS = 100;
const MAX_CLOSEST_NAMES = 3;

export interface BlueprintList {
  /** As the service lists them, the last saved first; empty until it has answered once. */
  blueprints: readonly BlueprintItem[];
  /** When the service gave this list; undefined until it has answered once. */
  refreshedAt?: Date;
  /** How old the list is now, in milliseconds; undefined until the service has answered once. */
  ageMs?: number;
  /** The last refresh failed, or the list is older than two refresh periods: show its age. */
  stale: boolean;
  /** Why the last refresh failed, in the client's words (which never carry a secret). */
  problem?: string;
}

export interface BlueprintCatalog {
  /** What is known now; never waits. */
  list(): BlueprintList;
  /**
   * The blueprint of this name, matched case-insensitively; an exact match wins over names differing in case only.
   * Undefined when none matches, or when several differ from it in case only (closestNames lists them).
   */
  find(name: string): BlueprintItem | undefined;
  /** Blueprints whose name contains `query`, case-insensitively, those starting with it first; at most `limit`. */
  search(query: string, limit?: number): BlueprintItem[];
  /** For an unknown name: the known names near it, nearest first (then the last saved); empty when none is near. */
  closestNames(name: string, limit?: number): string[];
  /** Asks Image Builder again; one refresh at a time, and the last good list stays on failure. */
  refresh(): Promise<void>;
  stop(): void;
}

const fold = (name: string) => name.trim().toLowerCase();

/**
 * The blueprint of this name, matched case-insensitively; an exact match wins over names differing in case only.
 * Undefined when none matches, or when several differ from it in case only.
 */
export function blueprintNamed<T extends { name: string }>(blueprints: readonly T[], name: string): T | undefined {
  const exact = blueprints.find((blueprint) => blueprint.name === name.trim());
  if (exact) return exact;
  const matches = blueprints.filter((blueprint) => fold(blueprint.name) === fold(name));
  return matches.length === 1 ? matches[0] : undefined;
}

export function startBlueprintCatalog(options: {
  imageBuilder: Pick<ImageBuilderClient, 'listBlueprints'>;
  logger: ImageBuilderLogger;
  clock: Clock;
  refreshMs: number;
}): BlueprintCatalog {
  const { imageBuilder, logger, clock, refreshMs } = options;
  let known: { blueprints: readonly BlueprintItem[]; refreshedAt: Date } | undefined;
  let problem: string | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  async function askService() {
    try {
      const blueprints = await imageBuilder.listBlueprints();
      if (stopped) return;
      logger.info(
        { blueprints: blueprints.length },
        problem === undefined ? 'blueprint list refreshed' : 'blueprint list refreshed again',
      );
      known = { blueprints, refreshedAt: clock.now() };
      problem = undefined;
    } catch (error) {
      if (stopped) return;
      if (problem === undefined) {
        logger.warn({ err: error }, 'could not refresh the blueprint list; offering the last known one');
      }
      problem = error instanceof Error ? error.message : String(error);
    }
  }

  function refresh(): Promise<void> {
    // A refresh slower than the period (a service that takes its time) is not joined by a second one.
    inFlight ??= askService().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function list(): BlueprintList {
    if (!known) return { blueprints: [], stale: problem !== undefined, ...(problem ? { problem } : {}) };
    const ageMs = Math.max(0, clock.now().getTime() - known.refreshedAt.getTime());
    return {
      blueprints: known.blueprints,
      refreshedAt: known.refreshedAt,
      ageMs,
      stale: problem !== undefined || ageMs > 2 * refreshMs,
      ...(problem ? { problem } : {}),
    };
  }

  const blueprints = () => known?.blueprints ?? [];

  const find = (name: string) => blueprintNamed(blueprints(), name);

  function search(query: string, limit = MAX_OPTIONS): BlueprintItem[] {
    const folded = fold(query);
    const matching = blueprints().filter((blueprint) => fold(blueprint.name).includes(folded));
    const starting = matching.filter((blueprint) => fold(blueprint.name).startsWith(folded));
    const inside = matching.filter((blueprint) => !fold(blueprint.name).startsWith(folded));
    return [...starting, ...inside].slice(0, limit);
  }

  function closestNames(name: string, limit = MAX_CLOSEST_NAMES): string[] {
    // Equally near names stay in the service's order, the last saved first.
    return closeMatches(
      name,
      blueprints().map((blueprint) => blueprint.name),
      limit,
    );
  }

  void refresh();
  const timer = setInterval(() => void refresh(), refreshMs);
  timer.unref();

  return {
    list,
    find,
    search,
    closestNames,
    refresh,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
