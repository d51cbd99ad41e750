import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import { getProvider } from '../../../providers';
import { chooseBlueprint, knownBlueprint, type BlueprintChoiceDeps } from '../../blueprintChoice';
import { composeFormView, updateComposeForm, type ComposeFormDeps } from '../../composeForm';
import { formChoice, PLAIN_IMAGE, type ChosenBlueprint, type SelectState } from '../../views/blueprintForm';
import { openedFromAppHome, parseModalContext, filledValues } from '../../views/composeModal';

/**
 * "Start from" or "Share targets" changed in an open form: the blueprint's detail is read (after the ack, so
 * Slack's 3 seconds do not matter) and the form is updated in place to show what it brings. The update names the
 * view's hash: when the person changed the form again meanwhile, Slack refuses this one and the later one wins.
 */
export function startFromAction(
  deps: Omit<ComposeFormDeps, 'defaults'> & { blueprintChoice: BlueprintChoiceDeps; logger: Logger },
) {
  return async ({ ack, body, client }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const view = body.view;
    const context = view && parseModalContext(view.private_metadata);
    const provider = context && getProvider(context.provider);
    if (!view || !context || !provider) return;
    const state = view.state.values as SelectState;
    const { startFrom = PLAIN_IMAGE, targets } = formChoice(state);
    const chosen = await chosenFor(deps.blueprintChoice, startFrom, {
      userId: body.user.id,
      channelId: openedFromAppHome(context) ? null : context.channelId,
      provider,
      ...(targets ? { targets } : {}),
    });
    const initialValues = filledValues(state);
    const { blueprint: _previous, ...plainContext } = context;
    const next = composeFormView(deps, {
      provider,
      context: plainContext,
      initialValues,
      ...(chosen ? { chosen } : {}),
    });
    await updateComposeForm(client, { viewId: view.id, hash: view.hash }, next, deps.logger);
  };
}

async function chosenFor(
  deps: BlueprintChoiceDeps,
  startFrom: string,
  choice: Omit<Parameters<typeof chooseBlueprint>[1], 'item'>,
): Promise<ChosenBlueprint | undefined> {
  if (startFrom === PLAIN_IMAGE) return undefined;
  const item = knownBlueprint(deps, startFrom);
  if (!item) return undefined;
  return chooseBlueprint(deps, { ...choice, item });
}
