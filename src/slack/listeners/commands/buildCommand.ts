import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import { getProvider, providerForImageType, providers, type Provider } from '../../../providers';
import type { UserDefaultsStore } from '../../../store/store';
import { listInWords, quoted } from '../../../shared/text';
import type { Gatekeeper } from '../../authorization';
import { chooseBlueprint, targetsFor, type BlueprintChoiceDeps } from '../../blueprintChoice';
import { composeFormView, updateComposeForm, openComposeForm, type ComposeFormDeps } from '../../composeForm';
import { respondOrLog, type Responder } from '../../responseUrl';
import type { ChosenBlueprint } from '../../views/blueprintForm';
import { inlineText } from '../../views/text';

export interface BuildCommandDeps extends Omit<ComposeFormDeps, 'blueprintChoice' | 'defaults'> {
  blueprintChoice: BlueprintChoiceDeps;
  defaults: Pick<UserDefaultsStore, 'getDefaults'>;
  gate: Pick<Gatekeeper, 'mayRequest' | 'registrationRuleIn'>;
  logger: Logger;
  respond: Responder;
}

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** `build <blueprint> [cloud]`: the name, and a cloud when the last word names one. */
function parseArgs(rest: readonly string[]): { name: string; provider?: Provider } {
  const last = rest.at(-1);
  const provider = rest.length > 1 && last ? getProvider(last) : undefined;
  return { name: (provider ? rest.slice(0, -1) : rest).join(' ').trim(), ...(provider ? { provider } : {}) };
}

/** The cloud of the blueprint's first saved image a provider builds, for a form opened without one named. */
function cloudOf(chosen: ChosenBlueprint): Provider | undefined {
  if (!('detail' in chosen)) return undefined;
  for (const request of chosen.detail.image_requests) {
    const provider = providerForImageType(request.image_type);
    if (provider) return provider;
  }
  return undefined;
}

/**
 * `/image-builder build <blueprint> [cloud]`: opens the compose form with that blueprint chosen (names matched
 * case-insensitively from the cached list; an unknown one is answered with the closest names). The form opens at
 * once, within the trigger's 3 seconds, and is updated once the blueprint's detail is read.
 */
export function buildSubcommand(deps: BuildCommandDeps) {
  return async ({ command, ack, client }: CommandArgs, rest: string[]): Promise<void> => {
    await ack();
    const reply = (text: string) => respondOrLog(deps.respond, deps.logger, command.response_url, text);
    const { name, provider: named } = parseArgs(rest);
    if (!name) return reply(`Name the blueprint: \`${command.command} build <blueprint> [cloud]\`.`);
    const decision = await deps.gate.mayRequest(command.user_id, command.channel_id, 'command');
    if (!decision.allowed) return reply(decision.reason);
    const item = deps.blueprintChoice.blueprints.find(name);
    if (!item) return reply(unknownBlueprint(deps, name, command.command));
    const allowed = await deps.blueprintChoice.gate.mayBuildBlueprint(
      command.user_id,
      command.channel_id,
      item.name,
      'command',
    );
    if (!allowed.allowed) return reply(allowed.reason);
    // The registry is never empty; without a cloud named, the form starts on the first and moves to the blueprint's.
    let provider: Provider = named ?? (providers[0] as Provider);
    const context = { provider: provider.id, channelId: command.channel_id, responseUrl: command.response_url };
    const form = { provider, userId: command.user_id, context, chosen: { item, reading: true } as const };
    const opened = await openComposeForm(client, command.trigger_id, { ...deps, defaults: deps.defaults }, form);
    const chosen = await chooseBlueprint(deps.blueprintChoice, {
      item,
      userId: command.user_id,
      channelId: command.channel_id,
      provider,
    });
    provider = named ?? cloudOf(chosen) ?? provider;
    // Moving to the blueprint's cloud changes only whose share targets it can use; the detail read stands.
    const settled = 'detail' in chosen ? { ...chosen, targets: targetsFor(chosen.detail, provider) } : chosen;
    const view = composeFormView(deps, {
      provider,
      context: { ...context, provider: provider.id },
      initialValues: (await deps.defaults.getDefaults(command.user_id, provider.id)) ?? {},
      chosen: settled,
    });
    await updateComposeForm(client, opened, view, deps.logger);
  };
}

function unknownBlueprint(deps: BuildCommandDeps, name: string, command: string): string {
  const closest = deps.blueprintChoice.blueprints.closestNames(name);
  const known = closest.length > 0 ? ` Did you mean ${listInWords(closest.map(quoted), 'or')}?` : '';
  return `I know no blueprint called ${inlineText(name, 100)}.${known} \`${command} blueprints\` lists the ones you may build here.`;
}
