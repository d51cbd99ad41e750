import {
  composeRequestFromBlueprint,
  isBlueprintComposeError,
  type BlueprintDetail,
  type BlueprintItem,
  type ComposeRequest,
  type ImageBuilderClient,
} from '../imageBuilder';
import { imageTypesBuilding, type Provider } from '../providers';
import { blueprintNamed } from '../imageBuilder/blueprintCatalog';
import { closeMatches } from '../shared/closeMatches';
import { listInWords, quoted } from '../shared/text';
import { UsageError } from './errors';

/*
 * `image-builder-bot compose <cloud> --blueprint <name>`: the organisation's blueprint, built as from Slack. With its
 * own share targets (the default) one POST /blueprints/{id}/compose names this cloud's saved image types, so the
 * builds stay in the blueprint's history; with `--targets mine` the share flags given are used and its content is
 * sent as a POST /compose.
 */

export type BlueprintTargetsChoice = 'blueprint' | 'mine';

type Api = Pick<ImageBuilderClient, 'listBlueprints' | 'getBlueprint' | 'composeBlueprint' | 'createCompose'>;

/** The blueprint of this name (case-insensitively when no name matches exactly), read at its latest version. */
export async function findBlueprint(api: Api, name: string): Promise<{ item: BlueprintItem; detail: BlueprintDetail }> {
  const all = await api.listBlueprints();
  const item = blueprintNamed(all, name);
  if (!item) {
    const near = closeMatches(
      name,
      all.map((b) => b.name),
      3,
    );
    const hint = near.length > 0 ? ` Did you mean ${listInWords(near.map(quoted), 'or')}?` : '';
    throw new UsageError(`--blueprint: the organisation has no blueprint called ${quoted(name)}.${hint}`);
  }
  const detail = await api.getBlueprint(item.id, item.version);
  if (detail.lint.errors.length > 0) {
    const errors = detail.lint.errors.map((e) => `  ${e.name}: ${e.description}`).join('\n');
    throw new UsageError(
      `--blueprint: ${quoted(item.name)} cannot be built until this is fixed in the console:\n${errors}`,
    );
  }
  return { item, detail };
}

/** Builds the blueprint with its own share targets: the ids of the composes made, one per saved image of this cloud. */
export async function composeWithOwnTargets(
  api: Api,
  found: { item: BlueprintItem; detail: BlueprintDetail },
  provider: Provider,
): Promise<string[]> {
  const types = imageTypesBuilding(
    provider,
    found.detail.image_requests.map((r) => r.image_type),
  );
  if (types.length === 0) {
    throw new UsageError(
      `--blueprint: ${quoted(found.item.name)} has no image for ${provider.image.article} ${provider.image.one} of its own; ` +
        'give the share options and --targets mine to build it with yours.',
    );
  }
  const created = await api.composeBlueprint(found.item.id, types);
  return created.map((c) => c.id);
}

/** The POST /compose of the blueprint's content with the image request the flags describe. */
export function composeWithMyTargets(found: { detail: BlueprintDetail }, flagsBody: ComposeRequest): ComposeRequest {
  try {
    return composeRequestFromBlueprint(found.detail, flagsBody.image_requests[0], {
      ...(flagsBody.image_name ? { imageName: flagsBody.image_name } : {}),
      ...(flagsBody.image_description ? { imageDescription: flagsBody.image_description } : {}),
    });
  } catch (error) {
    if (isBlueprintComposeError(error)) throw new UsageError(`--blueprint: ${error.message}`);
    throw error;
  }
}
