import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import { getProvider } from '../../../providers';
import { composeFormView, updateComposeForm, type ComposeFormDeps } from '../../composeForm';
import { parseModalContext, filledValues } from '../../views/composeModal';

/**
 * Another distribution chosen in an open plain-image form: the form is drawn again from what it holds, so that the
 * architecture select offers only what the service builds of that distribution (GET /architectures, read from the
 * catalog's cache: nothing waits on Image Builder). The update names the view's hash, so a later change wins.
 */
export function distributionChosenAction(deps: Omit<ComposeFormDeps, 'defaults'> & { logger: Logger }) {
  return async ({ ack, body, client }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const view = body.view;
    const context = view && parseModalContext(view.private_metadata);
    const provider = context && getProvider(context.provider);
    // A blueprint's form has no distribution to choose; "Start from" redraws that one.
    if (!view || !context || !provider || context.blueprint) return;
    const initialValues = filledValues(view.state.values);
    const next = composeFormView(deps, { provider, context, initialValues });
    await updateComposeForm(client, { viewId: view.id, hash: view.hash }, next, deps.logger);
  };
}
