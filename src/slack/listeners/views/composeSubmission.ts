import { randomUUID } from 'node:crypto';
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewOutput, ViewSubmitAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../platform/clock';
import type { DistributionCatalog } from '../../../imageBuilder/distributionCatalog';
import type { PackageChecker } from '../../../imageBuilder/packageCheck';
import {
  buildComposeRequest,
  COMMON_FIELD_IDS,
  getProvider,
  validateOrder,
  type Order,
  type Provider,
  type Registration,
  type ShareTarget,
  registrable,
  REGISTRATION_FIELD_ID,
  withoutActivationKey,
} from '../../../providers';
import type {
  AuditEvent,
  AuditLog,
  BuildRequest,
  BuildRequestStore,
  NewBuildRequest,
  UserDefaultsStore,
} from '../../../store/store';
import { plainReason, type Gatekeeper } from '../../authorization';
import { unknownPackagesError } from '../../packageLookup';
import { asOrderLead, blueprintRefusal, ownTargetsLead, type BlueprintOrderDeps } from '../../blueprintOrder';
import { formChoice, START_FROM_BLOCK_ID } from '../../views/blueprintForm';
import { describeRequest } from '../../../tracking/tracker';
import {
  openedFromAppHome,
  parseModalContext,
  submittedValues,
  type ComposeModalContext,
  type FormBlueprint,
} from '../../views/composeModal';

const NOT_SAVED = 'Your request could not be saved, so nothing will be built. Try again in a minute.';

export interface ComposeSubmissionDeps {
  catalog: DistributionCatalog;
  store: BuildRequestStore & Pick<UserDefaultsStore, 'saveDefaults'> & Pick<AuditLog, 'appendAudit'>;
  gate: Pick<
    Gatekeeper,
    | 'mayRequest'
    | 'checkOrder'
    | 'checkRegistration'
    | 'registrationRuleIn'
    | 'saveWithinLimits'
    | 'mayBuildBlueprint'
    | 'buildableBlueprints'
    | 'approvalHold'
  >;
  /** The bot's registration with Red Hat (IMAGE_REGISTRATION_*); absent, no image is registered. */
  registration?: Registration;
  clock: Clock;
  logger: Logger;
  /** A request was written: start on it now rather than at the next tick. */
  onRequest(): void;
  /** The organisation's blueprints, kept in memory. */
  blueprints: BlueprintOrderDeps['blueprints'];
  /** Looks the extra packages up, within a bound that leaves Slack's 3 seconds room. */
  packages: PackageChecker;
}

/**
 * The modal's submit. Invalid values go back to their fields and nothing is written; a valid request is written
 * to the store (keyed by the view id, so a re-delivered submission is one request, recognised before the policy's
 * limits are counted) before the modal closes, and the tracker submits it in the background. When it cannot be
 * written, the modal stays open and says so.
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

    const duplicate = await deliveredBefore(deps, view.id);
    if (duplicate === undefined) {
      await ack({ response_action: 'errors', errors: onFirstInput(inputBlockIds, NOT_SAVED) });
      return;
    }
    if (duplicate) {
      await ack();
      return;
    }

    const requesterId = body.user.id;
    // A form opened from App Home is followed in a DM with whoever submits it (never with whoever the form was
    // first opened for), and the policy has no channel to go by there.
    const fromAppHome = openedFromAppHome(context);
    const channelId = fromAppHome ? requesterId : context.channelId;
    const policyChannel = fromAppHome ? null : context.channelId;
    const where = { requesterId, requesterName: body.user.name, channelId, policyChannel };
    // Checked again here, for whoever submits: a form may have been opened before the policy changed.
    const decision = await deps.gate.mayRequest(requesterId, policyChannel, 'modal');
    if (!decision.allowed) {
      await ack({ response_action: 'errors', errors: onFirstInput(inputBlockIds, plainReason(decision.reason)) });
      return;
    }

    const values = submittedValues(view.state.values);
    const prepared = context.blueprint
      ? await preparedBlueprintOrder(deps, {
          ...where,
          blueprint: context.blueprint,
          provider,
          context,
          values,
          viewId: view.id,
          ...formChoice(view.state.values),
        })
      : await preparedPlainOrder(deps, { ...where, provider, context, values, viewId: view.id });
    if ('errors' in prepared) {
      await ack({ response_action: 'errors', errors: keyedToInputs(prepared.errors, inputBlockIds) });
      return;
    }
    const { shareTargets } = prepared;
    // A request the policy holds for approval is written like any other, with why it waits: the tracker announces
    // it and sends nothing until an approver approves it.
    const hold = deps.gate.approvalHold(policyChannel, prepared.awaits, shareTargets);
    const newRequest =
      hold && hold.approval.reasons.length > 0
        ? { ...prepared.newRequest, approval: hold.approval, approvalExpiresAt: hold.expiresAt }
        : prepared.newRequest;
    // The per-user limits are counted in the same step as the insert: when the store cannot answer, the request
    // cannot be saved either.
    const saved = await deps.gate.saveWithinLimits(newRequest, policyChannel, hold).catch((error: unknown) => {
      deps.logger.error({ err: error, requester: requesterId, viewId: view.id }, 'could not save a build request');
      return undefined;
    });
    if (!saved) {
      // Closing the modal would tell the user a build is on its way when nothing will ever start it.
      await ack({
        response_action: 'errors',
        errors: onFirstInput(inputBlockIds, NOT_SAVED),
      });
      return;
    }
    if ('refused' in saved) {
      await ack({ response_action: 'errors', errors: onFirstInput(inputBlockIds, saved.refused) });
      return;
    }
    const { request, created } = saved;
    await ack();
    if (!created) return;
    deps.logger.info({ requestId: request.id, requester: requesterId, provider: provider.id }, 'build requested');
    deps.onRequest();
    // After the modal has closed: neither is needed for the build, and a failure only costs a convenience.
    await Promise.all([
      deps.store.appendAudit(requestedEvent(request, shareTargets)),
      ...(request.approval ? [deps.store.appendAudit(approvalRequestedEvent(request))] : []),
      ...(context.blueprint
        ? []
        : [deps.store.saveDefaults(requesterId, provider.id, rememberedValues(values), request.createdAt)]),
    ]).catch((error: unknown) =>
      deps.logger.error({ err: error, requestId: request.id }, 'could not record the request for audit or defaults'),
    );
  };
}

type Where = { requesterId: string; requesterName?: string; channelId: string; policyChannel: string | null };
type Prepared =
  | { newRequest: NewBuildRequest; shareTargets: readonly ShareTarget[]; awaits: readonly string[] }
  | { errors: Record<string, string> };
type FormInput = Where & {
  provider: Provider;
  context: ComposeModalContext;
  values: Record<string, string | undefined>;
  viewId: string;
  /** What "Start from" shows. */
  startFrom?: string;
};

/**
 * A plain image: the provider checks the values, the policy the share targets and registration. A blueprint's image
 * (`ofBlueprint`) registers as the blueprint says, so neither the box nor the channel's registration rule applies.
 */
async function preparedPlainOrder(
  deps: ComposeSubmissionDeps,
  input: FormInput & { ofBlueprint?: boolean },
): Promise<Prepared> {
  const { provider, values } = input;
  const registrationOffered = !input.ofBlueprint && deps.registration !== undefined;
  // Where the policy forbids it, the form has no box, and no box must not read as "ticked by default".
  const forbidden = registrationOffered && deps.gate.registrationRuleIn(input.policyChannel) === 'forbidden';
  const order = validateOrder(provider, values, {
    distributions: deps.catalog.current().map((d) => d.name),
    architecturesOf: deps.catalog.architecturesOf,
    ...(input.requesterName ? { requesterName: input.requesterName } : {}),
    registrationConfigured: registrationOffered,
    registrationByDefault: registrationOffered && !forbidden,
  });
  if (!order.ok) return { errors: order.errors };
  const shareTargets = provider.shareTargets(order.value.options);
  // Side by side: both may wait on a service, and the modal must be answered within 3 seconds.
  const [allowed, unknownPackages] = await Promise.all([
    deps.gate.checkOrder(input.requesterId, input.policyChannel, shareTargets),
    unknownPackagesError(deps.packages, order.value),
  ]);
  if (allowed.fieldErrors) return { errors: allowed.fieldErrors };
  if (unknownPackages) return { errors: unknownPackages };
  if (!input.ofBlueprint) {
    const registration = await deps.gate.checkRegistration(input.requesterId, input.policyChannel, {
      registrable: registrable(order.value.distribution),
      register: order.value.register === true,
      configured: registrationOffered,
    });
    if (!registration.allowed) return { errors: { [REGISTRATION_FIELD_ID]: plainReason(registration.reason) } };
  }
  const registeredWith = order.value.register ? deps.registration : undefined;
  const newRequest = buildRequestOf(provider, order.value, { ...input, registeredWith, now: deps.clock.now() });
  return { newRequest, shareTargets, awaits: allowed.awaits ?? [] };
}

/**
 * A blueprint: its own share targets (the organisation's, saved in it), or the requester's, checked by the provider
 * and the policy as for a plain image of the blueprint's distribution.
 */
async function preparedBlueprintOrder(
  deps: ComposeSubmissionDeps,
  input: FormInput & { blueprint: FormBlueprint },
): Promise<Prepared> {
  const order = { ...input, startFrom: input.startFrom, now: deps.clock.now() };
  const refusal = await blueprintRefusal(deps, order);
  if (refusal) return { errors: { [START_FROM_BLOCK_ID]: refusal } };
  if (input.blueprint.targets === 'blueprint') {
    return { newRequest: ownTargetsLead(order), shareTargets: [], awaits: [] };
  }
  const values = { ...input.values, [COMMON_FIELD_IDS.distribution]: input.blueprint.distribution };
  const plain = await preparedPlainOrder(deps, { ...input, values, ofBlueprint: true });
  if ('errors' in plain) return plain;
  return { ...plain, newRequest: asOrderLead(plain.newRequest, input.blueprint) };
}

/**
 * Whether this submission was written already (undefined: the store cannot say). Slack sends a submission again when
 * the first answer was slow: the same view id is the same request, already written, so it must not be counted
 * against the requester's limits (or refused by them) a second time.
 */
function deliveredBefore(deps: ComposeSubmissionDeps, viewId: string): Promise<boolean | undefined> {
  return deps.store.getByIdempotencyKey(viewId).then(
    (request) => request !== undefined,
    (error: unknown) => {
      deps.logger.error({ err: error, viewId }, 'could not look for an earlier delivery of a submission');
      return undefined;
    },
  );
}

/** The row a valid order becomes, its compose body carrying the request id for recovery (describeRequest). */
function buildRequestOf<Options>(
  provider: Provider<Options>,
  order: Order<Options>,
  from: {
    viewId: string;
    requesterId: string;
    channelId: string;
    context: ComposeModalContext;
    registeredWith?: Registration | undefined;
    now: Date;
  },
): NewBuildRequest {
  const id = randomUUID();
  const { requesterId } = from;
  const composeRequest = buildComposeRequest({
    provider,
    distribution: order.distribution,
    architecture: order.architecture,
    ...(order.imageName ? { imageName: order.imageName } : {}),
    imageDescription: describeRequest({ id, requesterId }),
    options: order.options,
    packages: order.packages,
    ...(order.login ? { login: order.login } : {}),
    ...(from.registeredWith ? { registration: from.registeredWith } : {}),
  });
  return {
    id,
    idempotencyKey: from.viewId,
    requesterId,
    channelId: from.channelId,
    responseUrl: from.context.responseUrl ?? null,
    provider: provider.id,
    distribution: order.distribution,
    architecture: order.architecture,
    imageName: order.imageName ?? null,
    shareSummary: provider.shareSummary(order.options),
    composeRequest: JSON.stringify(withoutActivationKey(composeRequest)),
    ...launchSettingsOf(provider, order.options),
    createdAt: from.now,
    rebuiltFrom: from.context.rebuildOf ?? null,
  };
}

/** The provider's launch settings as the row keeps them: JSON text, or nothing when there are none. */
function launchSettingsOf<Options>(
  provider: Provider<Options>,
  options: Options,
): Pick<NewBuildRequest, 'launchSettings'> {
  const settings = provider.launchSettings?.(options) ?? {};
  return Object.keys(settings).length > 0 ? { launchSettings: JSON.stringify(settings) } : {};
}

/** The audit event of a request written: who asked for what, shared with whom. */
function requestedEvent(request: BuildRequest, shareTargets: readonly ShareTarget[]): AuditEvent {
  return {
    at: request.createdAt,
    kind: 'requested',
    actorId: request.requesterId,
    requestId: request.id,
    channelId: request.channelId,
    detail: {
      provider: request.provider,
      distribution: request.distribution,
      architecture: request.architecture,
      shareTargets: shareTargets.map(({ kind, value }) => ({ kind, value })),
      ...(request.rebuiltFrom ? { rebuiltFrom: request.rebuiltFrom } : {}),
      ...(request.blueprint
        ? { blueprint: { id: request.blueprint.id, name: request.blueprint.name, version: request.blueprint.version } }
        : {}),
    },
  };
}

/** The audit event of a request written to wait for approval: why, and where the approvers are asked. */
function approvalRequestedEvent(request: BuildRequest): AuditEvent {
  return {
    at: request.createdAt,
    kind: 'approval-requested',
    actorId: request.requesterId,
    requestId: request.id,
    channelId: request.channelId,
    detail: {
      reasons: request.approval?.reasons ?? [],
      approvalsChannel: request.approval?.channelId,
      expiresAt: request.approvalExpiresAt?.toISOString(),
    },
  };
}

/** What pre-fills this user's next form for the cloud: everything but the build's own name. */
function rememberedValues(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter(
      (entry): entry is [string, string] => entry[0] !== COMMON_FIELD_IDS.imageName && Boolean(entry[1]),
    ),
  );
}

/**
 * The view's input blocks, in the order shown. Read from the blocks rather than `state.values`: the state also
 * holds interactive elements outside input blocks, and its key order is not the order on screen.
 */
function inputBlockIdsOf(view: ViewOutput): string[] {
  const ids = view.blocks.flatMap((block) =>
    block.type === 'input' && typeof block.block_id === 'string' ? [block.block_id] : [],
  );
  // A message for the whole order belongs with what is ordered, not with "Start from", unless that is all there is.
  const fields = ids.filter((id) => id !== START_FROM_BLOCK_ID);
  return fields.length > 0 ? [...fields, ...ids.filter((id) => id === START_FROM_BLOCK_ID)] : ids;
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
