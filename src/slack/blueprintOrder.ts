import { randomUUID } from 'node:crypto';
import { blueprintComposeRequestSchema } from '../imageBuilder/blueprintSchemas';
import type { Provider } from '../providers';
import { quoted } from '../shared/text';
import type { NewBuildRequest } from '../store/store';
import type { BlueprintChoiceDeps } from './blueprintChoice';
import { knownBlueprint } from './blueprintChoice';
import { START_FROM_BLOCK_ID } from './views/blueprintForm';
import type { ComposeModalContext, FormBlueprint } from './views/composeModal';

/*
 * A submitted form that builds a blueprint with its own share targets: checked once more against what is known now
 * (the policy for whoever submits, the cached list for a deletion or a newer version, its lint), then written as the
 * order's lead, which the tracker submits with POST /blueprints/{id}/compose for every image of the order.
 */

export type BlueprintOrderDeps = Pick<BlueprintChoiceDeps, 'blueprints' | 'gate'>;

export type BlueprintOrderResult = { ok: true; request: NewBuildRequest } | { ok: false; error: string };

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
async function refusal(deps: BlueprintOrderDeps, input: BlueprintOrderInput): Promise<string | undefined> {
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
  if (blueprint.lintErrors) return `${name} has errors (shown above): fix them in the Image Builder console first.`;
  if (blueprint.imageTypes.length === 0) {
    return `${name} has no image for ${input.provider.image.article} ${input.provider.image.one} of its own.`;
  }
  return undefined;
}

/** The order's lead as the tracker expects it, or why it cannot be written (an error for the "Start from" field). */
export async function blueprintOrder(
  deps: BlueprintOrderDeps,
  input: BlueprintOrderInput,
): Promise<BlueprintOrderResult & { field?: string }> {
  const why = await refusal(deps, input);
  if (why) return { ok: false, error: why, field: START_FROM_BLOCK_ID };
  const { blueprint } = input;
  const id = randomUUID();
  const body = blueprintComposeRequestSchema.safeParse({ image_types: blueprint.imageTypes });
  if (!body.success) {
    const types = blueprint.imageTypes.join(', ');
    return {
      ok: false,
      error: `${quoted(blueprint.name)} saves image types I cannot ask for (${types}).`,
      field: START_FROM_BLOCK_ID,
    };
  }
  return {
    ok: true,
    request: {
      id,
      orderId: id,
      orderIndex: 0,
      blueprint: { id: blueprint.id, name: blueprint.name, version: blueprint.version, targets: 'blueprint' },
      idempotencyKey: input.viewId,
      requesterId: input.requesterId,
      channelId: input.channelId,
      responseUrl: input.context.responseUrl ?? null,
      provider: input.provider.id,
      distribution: blueprint.distribution,
      architecture: blueprint.architecture,
      imageName: blueprint.name,
      shareSummary: `shared as saved in the blueprint ${blueprint.name}`,
      composeRequest: JSON.stringify(body.data),
      createdAt: input.now,
      rebuiltFrom: input.context.rebuildOf ?? null,
    },
  };
}
