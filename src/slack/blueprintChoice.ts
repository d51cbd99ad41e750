import type { BlueprintCatalog } from '../imageBuilder/blueprintCatalog';
import type { BlueprintItem } from '../imageBuilder/blueprintSchemas';
import { isImageBuilderError, type ImageBuilderClient } from '../imageBuilder';
import type { Provider } from '../providers';
import type { Gatekeeper } from './authorization';
import {
  MAX_STATIC_BLUEPRINTS,
  matchingImageTypes,
  requesterTargetsRefusal,
  type BlueprintDetail,
  type BlueprintOffer,
  type BlueprintTargets,
  type ChosenBlueprint,
} from './views/blueprintForm';
import type { FormBlueprint } from './views/composeModal';
import { quoted, truncate } from '../shared/text';

/*
 * What the form's "Start from" offers and what a choice brings: the blueprints this channel may build, from the
 * cached list (never a call to the service within Slack's 3 seconds), and the chosen one's detail, read after the
 * action was acknowledged.
 */

export interface BlueprintChoiceDeps {
  blueprints: Pick<BlueprintCatalog, 'list' | 'search' | 'find' | 'closestNames'>;
  gate: Pick<Gatekeeper, 'mayRequest' | 'wouldAllow' | 'mayBuildBlueprint' | 'buildableBlueprints'>;
  imageBuilder: Pick<ImageBuilderClient, 'getBlueprint'>;
}

const HOUR_MS = 3600_000;

/** How old the list is, in words ("3 hours", "12 minutes"). */
function age(ms: number): string {
  if (ms >= 2 * HOUR_MS) return `${Math.round(ms / HOUR_MS)} hours`;
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** "Start from" for this channel: the blueprints it may build, and a note when the list is old or missing. */
export function blueprintOffer(deps: BlueprintChoiceDeps, channelId: string | null): BlueprintOffer {
  const list = deps.blueprints.list();
  const blueprints = deps.gate.buildableBlueprints(channelId, list.blueprints);
  const note =
    list.refreshedAt === undefined
      ? 'The list of blueprints is not available right now (Image Builder has not answered yet), so only a plain image can be built.'
      : list.stale
        ? `The list of blueprints is ${age(list.ageMs ?? 0)} old: Image Builder could not be asked again.`
        : undefined;
  return { blueprints, searchable: blueprints.length > MAX_STATIC_BLUEPRINTS, ...(note ? { note } : {}) };
}

/** What the searchable select lists for `query` to this person: from the cache, within the policy; none when refused. */
export async function searchBlueprints(
  deps: BlueprintChoiceDeps,
  asker: { userId: string; channelId: string | null },
  query: string,
): Promise<BlueprintItem[]> {
  const { channelId } = asker;
  // Not recorded as a refusal: this is asked at every keystroke, and choosing or submitting records it.
  if (!(await deps.gate.wouldAllow(asker.userId, channelId)).allowed) return [];
  const found = deps.blueprints.search(query, Number.MAX_SAFE_INTEGER);
  return deps.gate.buildableBlueprints(channelId, found).slice(0, MAX_STATIC_BLUEPRINTS);
}

/** The blueprint of this id in the cached list (the version the form shows), if it is there. */
export function knownBlueprint(deps: Pick<BlueprintChoiceDeps, 'blueprints'>, id: string): BlueprintItem | undefined {
  return deps.blueprints.list().blueprints.find((b) => b.id === id);
}

/**
 * The chosen blueprint read at the listed version, with the share targets to use (the wanted ones when possible),
 * or why it cannot be built here. Asked for the person who chose it, in the form's channel.
 */
export async function chooseBlueprint(
  deps: BlueprintChoiceDeps,
  choice: {
    item: BlueprintItem;
    userId: string;
    channelId: string | null;
    provider: Provider;
    targets?: BlueprintTargets;
  },
): Promise<ChosenBlueprint> {
  const { item } = choice;
  // A form stays open after its opener loses the right to request: they learn nothing more of the blueprints.
  const requester = await deps.gate.mayRequest(choice.userId, choice.channelId, 'modal');
  if (!requester.allowed) return { item, problem: requester.reason };
  const decision = await deps.gate.mayBuildBlueprint(choice.userId, choice.channelId, item.name, 'modal');
  if (!decision.allowed) return { item, problem: decision.reason };
  try {
    const detail = await deps.imageBuilder.getBlueprint(item.id, item.version);
    return { item, detail, targets: targetsFor(detail, choice.provider, choice.targets) };
  } catch (error) {
    if (isImageBuilderError(error) && error.kind === 'not-found') {
      return { item, problem: `The blueprint ${quoted(item.name)} was deleted in the Image Builder console.` };
    }
    const why = error instanceof Error ? error.message : String(error);
    return { item, problem: `The blueprint ${quoted(item.name)} could not be read: ${why}` };
  }
}

/**
 * Whose share targets a blueprint is built with for this cloud: the wanted ones when they can be used, else the
 * blueprint's own when it has an image for the cloud, else the requester's.
 */
export function targetsFor(detail: BlueprintDetail, provider: Provider, wanted?: BlueprintTargets): BlueprintTargets {
  const own = matchingImageTypes(detail, provider).length > 0;
  const mine = requesterTargetsRefusal(detail) === undefined;
  return wanted === 'requester' && mine ? 'requester' : own ? 'blueprint' : 'requester';
}

/** What the form's context carries of a blueprint that can be built. */
export function formBlueprintOf(
  chosen: ChosenBlueprint | undefined,
  provider: Pick<Provider, 'imageType' | 'imageTypeAliases'>,
): FormBlueprint | undefined {
  if (!chosen || !('detail' in chosen)) return undefined;
  const { item, detail, targets } = chosen;
  const imageTypes = matchingImageTypes(detail, provider);
  const first = detail.image_requests.find((r) => imageTypes.includes(r.image_type)) ?? detail.image_requests[0];
  const lintErrors = detail.lint.errors.length;
  const refusal = requesterTargetsRefusal(detail);
  const unbuildable = imageTypes.length === 0 && refusal ? truncate(refusal, 1000) : undefined;
  return {
    id: item.id,
    version: item.version,
    name: item.name,
    targets,
    imageTypes,
    distribution: detail.distribution ?? '',
    architecture: first?.architecture ?? 'x86_64',
    ...(lintErrors > 0 ? { lintErrors } : {}),
    ...(unbuildable ? { unbuildable } : {}),
  };
}
