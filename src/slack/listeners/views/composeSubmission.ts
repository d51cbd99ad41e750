import { randomUUID } from 'node:crypto';
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewOutput, ViewSubmitAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../clock';
import type { DistributionCatalog } from '../../../distributionCatalog';
import { buildComposeRequest, COMMON_FIELD_IDS, getProvider, validateOrder } from '../../../providers';
import type { BuildRequestStore } from '../../../tracking/store';
import { describeRequest } from '../../../tracking/tracker';
import { parseModalContext, submittedValues } from '../../views/composeModal';

export interface ComposeSubmissionDeps {
  catalog: DistributionCatalog;
  store: BuildRequestStore;
  clock: Clock;
  logger: Logger;
  /** A request was written: start on it now rather than at the next tick. */
  onRequest(): void;
}

/**
 * The modal's submit. Invalid values go back to their fields and nothing is written; a valid request is written
 * to the store (keyed by the view id, so a re-delivered submission is one request) before the modal closes, and
 * the tracker submits it in the background. When it cannot be written, the modal stays open and says so.
 */
export function composeSubmission(deps: ComposeSubmissionDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const inputBlockIds = inputBlockIdsOf(view);
    const context = parseModalContext(view.private_metadata);
    const provider = context && getProvider(context.provider);
    if (!context || !provider) {
      deps.logger.warn({ viewId: view.id }, 'a compose form arrived without its context');
      await ack({
        response_action: 'errors',
        errors: onFirstInput(inputBlockIds, 'This form is out of date; close it and run the command again.'),
      });
      return;
    }

    const values = submittedValues(view.state.values);
    const order = validateOrder(provider, values, { distributions: deps.catalog.current().map((d) => d.name) });
    if (!order.ok) {
      await ack({ response_action: 'errors', errors: keyedToInputs(order.errors, inputBlockIds) });
      return;
    }

    const id = randomUUID();
    const requesterId = body.user.id;
    const composeRequest = buildComposeRequest({
      provider,
      distribution: order.value.distribution,
      architecture: order.value.architecture,
      ...(order.value.imageName ? { imageName: order.value.imageName } : {}),
      imageDescription: describeRequest({ id, requesterId }),
      options: order.value.options,
    });
    const saved = await deps.store
      .insert({
        id,
        idempotencyKey: view.id,
        requesterId,
        channelId: context.channelId,
        responseUrl: context.responseUrl ?? null,
        provider: provider.id,
        distribution: order.value.distribution,
        architecture: order.value.architecture,
        imageName: order.value.imageName ?? null,
        shareSummary: provider.shareSummary(order.value.options),
        composeRequest: JSON.stringify(composeRequest),
        createdAt: deps.clock.now(),
      })
      .catch((error: unknown) => {
        deps.logger.error({ err: error, requester: requesterId, viewId: view.id }, 'could not save a build request');
        return undefined;
      });
    if (!saved) {
      // Closing the modal would tell the user a build is on its way when nothing will ever start it.
      await ack({
        response_action: 'errors',
        errors: onFirstInput(inputBlockIds, 'Your request could not be saved, so nothing will be built. Try again in a minute.'),
      });
      return;
    }
    const { request, created } = saved;
    await ack();
    if (created) {
      deps.logger.info({ requestId: request.id, requester: requesterId, provider: provider.id }, 'build requested');
      deps.onRequest();
    }
  };
}

/**
 * The view's input blocks, in the order shown. Read from the blocks rather than `state.values`: the state also
 * holds interactive elements outside input blocks, and its key order is not the order on screen.
 */
function inputBlockIdsOf(view: ViewOutput): string[] {
  return view.blocks.flatMap((block) =>
    block.type === 'input' && typeof block.block_id === 'string' ? [block.block_id] : [],
  );
}

/** A message for the form as a whole, shown on its first input (the distribution, in our forms). */
function onFirstInput(inputBlockIds: readonly string[], message: string): Record<string, string> {
  return { [inputBlockIds[0] ?? COMMON_FIELD_IDS.distribution]: message };
}

/** Slack shows errors only on input blocks; a message for a field not in this form goes on the first one. */
function keyedToInputs(errors: Record<string, string>, inputBlockIds: readonly string[]): Record<string, string> {
  const keyed: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const blockId = inputBlockIds.includes(field) ? field : (inputBlockIds[0] ?? COMMON_FIELD_IDS.distribution);
    keyed[blockId] = keyed[blockId] ? `${keyed[blockId]} ${message}` : message;
  }
  return keyed;
}
