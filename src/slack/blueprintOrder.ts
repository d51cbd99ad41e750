import { randomUUID } from 'node:crypto';
import { blueprintComposeRequestSchema } from '../imageBuilder/blueprintSchemas';
import type { Provider } from '../providers';
import { quoted } from '../shared/text';
import type { NewBuildRequest } from '../store/store';
import type { BlueprintChoiceDeps } from './blueprintChoice';
import { knownBlueprint } from './blueprintChoice';
import type { ComposeModalContext, FormBlueprint } from './views/composeModal';

/*
 * A submitted form that builds a blueprint: checked once more against what is known now (the policy for whoever
 * submits, the cached list for a deletion or a newer version, its lint), then written as the order's lead. With the
 * blueprint's own share targets the tracker submits POST /blueprints/{id}/compose for every image of the order; with
 * the requester's, the lead holds the POST /compose of the form's image, and the tracker adds the blueprint's
 * customizations (read at this version) when it submits — never within Slack's 3 seconds.
 */

export interface BlueprintOrderDeps extends Pick<BlueprintChoiceDeps, 'blueprints'> {
  gate: Pick<BlueprintChoiceDeps['gate'], 'mayBuildBlueprint'>;
}

export interface BlueprintOrderInput {
  blueprint: FormBlueprint;
  provider: Provider;
  context: ComposeModalContext;
  /** The blueprint "Start from" shows at submission: another one means the form had not caught up yet. */
  startFrom: string | undefined;
  viewId: string;
  requesterId: string;
  channelId: string;
  policyChannel: string | null;
  now: Date;
}

/** Why the blueprint cannot be built as the form shows it, in words for the "Start from" field; undefined if it can. */
export async function blueprintRefusal(
  deps: BlueprintOrderDeps,
  input: BlueprintOrderInput,
): Promise<string | undefined> {
  const { blueprint } = input;
  const name = quoted(blueprint.name);
  if (input.startFrom !== blueprint.id)
    return 'The form is still showing another choice: wait a moment and submit again.';
  const decision = await deps.gate.mayBuildBlueprint(input.requesterId, input.policyChannel, blueprint.name, 'modal');
  if (!decision.allowed) return decision.reason;
  const known = knownBlueprint(deps, blueprint.id);
  if (!known) return `The blueprint ${name} was deleted since you opened this form, so nothing was built.`;
  if (known.version !== blueprint.version) {
    return `${name} changed to v${known.version} since you opened this form (v${blueprint.version}), so nothing was built. Choose it again to see what changed.`;
  }
  if (blueprint.unbuildable) return `${name} cannot be built here: ${blueprint.unbuildable}.`;
  if (blueprint.lintErrors) return `${name} has errors (shown above): fix them in the Image Builder console first.`;
  if (blueprint.targets === 'blueprint' && blueprint.imageTypes.length === 0) {
    return `${name} has no image for ${input.provider.image.article} ${input.provider.image.one} of its own.`;
  }
  if (
    blueprint.targets === 'blueprint' &&
    !blueprintComposeRequestSchema.safeParse(ownTargetsBody(blueprint)).success
  ) {
    return `${name} saves image types I cannot ask for (${blueprint.imageTypes.join(', ')}).`;
  }
  return undefined;
}

const ownTargetsBody = (blueprint: FormBlueprint) => ({ image_types: blueprint.imageTypes });

/** What every image of a blueprint order has: it leads its own order and names the blueprint. */
export function asOrderLead(request: NewBuildRequest, blueprint: FormBlueprint): NewBuildRequest {
  const { id, name, version, targets } = blueprint;
  return { ...request, orderId: request.id, orderIndex: 0, blueprint: { id, name, version, targets } };
}

/**
 * The lead of an order built with the blueprint's own share targets: its compose request is the body of
 * POST /blueprints/{id}/compose, which the tracker sends for every image of the order. Check blueprintRefusal first.
 */
export function ownTargetsLead(input: BlueprintOrderInput): NewBuildRequest {
  const { blueprint } = input;
  const body = blueprintComposeRequestSchema.parse(ownTargetsBody(blueprint));
  const lead: NewBuildRequest = {
    id: randomUUID(),
    idempotencyKey: input.viewId,
    requesterId: input.requesterId,
    channelId: input.channelId,
    responseUrl: input.context.responseUrl ?? null,
    provider: input.provider.id,
    distribution: blueprint.distribution,
    architecture: blueprint.architecture,
    imageName: blueprint.name,
    shareSummary: `shared as saved in the blueprint ${blueprint.name}`,
    composeRequest: JSON.stringify(body),
    createdAt: input.now,
    rebuiltFrom: input.context.rebuildOf ?? null,
  };
  return asOrderLead(lead, blueprint);
}
