import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../platform/clock';
import type { BlueprintCatalog } from '../../../imageBuilder/blueprintCatalog';
import { parseServiceTimestamp } from '../../../imageBuilder/responseSchemas';
import type { Gatekeeper } from '../../authorization';
import { respondOrLog, type Responder } from '../../responseUrl';
import { blueprintListReply, type BlueprintListing } from '../../views/commandReplies';

/*
 * `/image-builder blueprints`: the organisation's blueprints this channel may build, privately. Read from the catalog
 * kept in memory, so the answer never waits for Image Builder.
 */

export interface BlueprintsSubcommandDeps {
  blueprints: Pick<BlueprintCatalog, 'list'>;
  gate: Pick<Gatekeeper, 'mayRequest' | 'buildableBlueprints'>;
  clock: Clock;
  logger: Logger;
  respond: Responder;
}

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export async function blueprintsSubcommand(deps: BlueprintsSubcommandDeps, { command, ack }: CommandArgs) {
  await ack();
  // Whoever may not request images learns nothing of the organisation's blueprints, as with builds.
  const decision = await deps.gate.mayRequest(command.user_id, command.channel_id, 'command');
  if (!decision.allowed) {
    await respondOrLog(deps.respond, deps.logger, command.response_url, decision.reason);
    return;
  }
  const reply = blueprintListReply(buildableListing(deps, command.channel_id || null), deps.clock.now());
  await respondOrLog(deps.respond, deps.logger, command.response_url, reply);
}

/** What the catalog knows now, narrowed to what the policy lets this channel build. */
function buildableListing(deps: BlueprintsSubcommandDeps, channelId: string | null): BlueprintListing {
  const known = deps.blueprints.list();
  const buildable = deps.gate.buildableBlueprints(channelId, known.blueprints).map((blueprint) => {
    const lastModifiedAt = parseServiceTimestamp(blueprint.last_modified_at);
    return {
      name: blueprint.name,
      version: blueprint.version,
      description: blueprint.description,
      ...(lastModifiedAt ? { lastModifiedAt } : {}),
    };
  });
  return {
    buildable,
    total: known.blueprints.length,
    stale: known.stale,
    ...(known.refreshedAt ? { refreshedAt: known.refreshedAt } : {}),
  };
}
