import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DistributionCatalog } from '../../../imageBuilder/distributionCatalog';
import {
  getProvider,
  loginFormValues,
  packagesFormValue,
  registrationFormValue,
  type Provider,
  type Registration,
  readLaunchSettings,
} from '../../../providers';
import type { BuildRequestStore, UserDefaultsStore } from '../../../store/store';
import type { Gatekeeper } from '../../authorization';
import { quoted } from '../../../shared/text';
import type { BuildRequest } from '../../../store/store';
import { chooseBlueprint, knownBlueprint, type BlueprintChoiceDeps } from '../../blueprintChoice';
import { composeFormView, updateComposeForm, mayOpenComposeForm, openComposeForm } from '../../composeForm';
import { noticeModal } from '../../views/composeModal';

/**
 * Rebuild (on result messages, reminders and App Home): opens the form pre-filled with that request, editable,
 * for the user who clicked — who becomes the requester of the new build. Nothing is submitted in anyone's name:
 * the form must still be sent, and it is checked again then. Someone else's share targets (accounts, tenants,
 * principals) are theirs: another person's form gets the build's distribution and architecture, and their own
 * remembered entries.
 */
interface RebuildDeps {
  gate: Gatekeeper;
  catalog: DistributionCatalog;
  store: Pick<BuildRequestStore, 'get'>;
  defaults: Pick<UserDefaultsStore, 'getDefaults'>;
  /** A blueprint's build is rebuilt from its latest version. */
  blueprintChoice: BlueprintChoiceDeps;
  /** The bot's registration with Red Hat, when set up: RHEL forms offer it. */
  registration?: Registration;
  logger: Logger;
}

export function rebuildAction(deps: RebuildDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const original = action.value ? await deps.store.get(action.value) : undefined;
    const provider = original && getProvider(original.provider);
    if (!original || !provider) {
      await client.views.open({
        trigger_id: body.trigger_id,
        view: noticeModal('Cannot rebuild', 'I no longer know that build.'),
      });
      return;
    }
    const where = rebuildChannel(original.channelId, userId, body.channel?.id);
    const asker = { userId, channelId: where.policyChannel, entryPoint: 'rebuild button' } as const;
    if (!(await mayOpenComposeForm(client, body.trigger_id, deps.gate, asker))) return;
    if (original.blueprint) {
      await rebuildBlueprint(client, body.trigger_id, deps, { original, provider, userId, where });
      return;
    }
    await openComposeForm(client, body.trigger_id, deps, {
      provider,
      userId,
      context: { provider: provider.id, channelId: where.channelId, rebuildOf: original.id },
      initialValues:
        original.requesterId === userId
          ? formValuesOf(original, provider)
          : {
              ...(await deps.defaults.getDefaults(userId, provider.id)),
              distribution: original.distribution,
              architecture: original.architecture,
            },
    });
  };
}

/**
 * A build of a blueprint is rebuilt from the blueprint's latest version, as the console's "build again" does: the
 * form opens with it chosen (at once, within the trigger's 3 seconds), is updated once it is read, and says when the
 * blueprint moved on since ("v3 → v5").
 */
async function rebuildBlueprint(
  client: Parameters<typeof openComposeForm>[0],
  triggerId: string,
  deps: RebuildDeps,
  from: {
    original: BuildRequest;
    provider: Provider;
    userId: string;
    where: { channelId: string; policyChannel: string | null };
  },
) {
  const { original, provider, userId, where } = from;
  const blueprint = original.blueprint!;
  const latest = knownBlueprint(deps.blueprintChoice, blueprint.id);
  if (!latest) {
    const notice = `The blueprint ${quoted(blueprint.name)} is no longer in Image Builder, so it cannot be built again.`;
    await client.views.open({ trigger_id: triggerId, view: noticeModal('Cannot rebuild', notice) });
    return;
  }
  const context = { provider: provider.id, channelId: where.channelId, rebuildOf: original.id };
  const form = { provider, userId, context, chosen: { item: latest, reading: true } as const };
  const opened = await openComposeForm(client, triggerId, deps, form);
  const chosen = await chooseBlueprint(deps.blueprintChoice, {
    item: latest,
    userId,
    channelId: where.policyChannel,
    provider,
    targets: blueprint.targets,
  });
  const view = composeFormView(deps, {
    provider,
    context,
    initialValues: (await deps.defaults.getDefaults(userId, provider.id)) ?? {},
    chosen: 'detail' in chosen ? { ...chosen, rebuiltFrom: blueprint.version } : chosen,
  });
  await updateComposeForm(client, opened, view, deps.logger);
}

const isUserId = (id: string) => /^[UW]/.test(id);

/**
 * Where a rebuild is followed, and the channel the policy judges it by. Pressed on a message in a channel, the
 * person is asking in that channel (they can see it), so the rebuild goes where the original was asked for. Pressed
 * in App Home, they are asking from no channel: like "New image" there, it is followed in a DM with them and the
 * policy has no channel to go by — otherwise the Home's team list would let anyone ask "in" a channel they are not
 * in. A build first asked for from App Home is followed in its requester's DM, never in someone else's.
 */
function rebuildChannel(originalChannel: string, clickerId: string, pressedInChannel: string | undefined) {
  if (pressedInChannel === undefined || isUserId(originalChannel)) return { channelId: clickerId, policyChannel: null };
  return { channelId: originalChannel, policyChannel: originalChannel };
}

/** The form's values for a stored compose request: the shared fields and the provider's own. */
function formValuesOf(
  original: Pick<BuildRequest, 'composeRequest' | 'launchSettings'>,
  provider: NonNullable<ReturnType<typeof getProvider>>,
): Record<string, string> {
  const body = JSON.parse(original.composeRequest) as {
    distribution?: string;
    image_name?: string;
    image_requests?: {
      architecture?: string;
      image_type?: string;
      upload_request?: { options?: Record<string, unknown> };
    }[];
    customizations?: { subscription?: unknown; users?: unknown };
  };
  const imageRequest = body.image_requests?.[0];
  return {
    ...(body.distribution ? { distribution: body.distribution } : {}),
    ...(imageRequest?.architecture ? { architecture: imageRequest.architecture } : {}),
    ...(body.image_name ? { image_name: body.image_name } : {}),
    ...provider.formValues(
      imageRequest?.upload_request?.options ?? {},
      readLaunchSettings(original.launchSettings),
      imageRequest?.image_type,
    ),
    ...packagesFormValue(body.customizations),
    ...loginFormValues(body.customizations),
    ...registrationFormValue(body),
  };
}
