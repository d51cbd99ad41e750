import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import {
  blueprintComposeRequestSchema,
  composeRequestFromBlueprint,
  isBlueprintComposeError,
  isImageBuilderError,
  type BlueprintDetail,
  type ComposeRequest,
  parseServiceTimestamp,
  type BlueprintImageRequest,
  type ComposesItem,
  type ImageBuilderClient,
  type ImageBuilderError,
} from '../imageBuilder';
import type { BlueprintRef, BuildRequest, BuildRequestStore, OrderCompanion } from '../store/store';
import { isRefusal, provablyUnsent } from './refusals';
import type { Rejection } from './tracker';

/*
 * Submitting a blueprint order built with the blueprint's own share targets: one POST /blueprints/{id}/compose
 * makes a compose per saved image request of the asked image types, and the order's lead records them all.
 *
 * Before sending, the blueprint must still be what the requester asked for: deleted or saved again since, nothing
 * is built (the service always builds the latest version). Exactly once, as for a plain build: `submittedAt` is
 * written before the POST, and a step that finds it set without a compose id (a crash, an answer that may hide a
 * build) looks the composes up in the blueprint's history before it would ever send again.
 */

export type BlueprintApi = Pick<
  ImageBuilderClient,
  'listBlueprints' | 'getBlueprint' | 'composeBlueprint' | 'listBlueprintComposes' | 'listAllComposes'
>;

/** One compose of the order, in the blueprint's image request order. */
export interface OrderedCompose {
  id: string;
  createdAt: Date | null;
  architecture: string;
  imageType: string;
}

export type BlueprintSubmission =
  | { kind: 'made'; composes: OrderedCompose[] }
  | { kind: 'refused'; rejection: Rejection }
  /** Nothing known to be made; `unsent` when the POST provably never left (the next step may send at once). */
  | { kind: 'failed'; error: unknown; unsent: boolean };

type Refused = Extract<BlueprintSubmission, { kind: 'refused' }>;

export interface BlueprintSubmitterOptions {
  store: Pick<BuildRequestStore, 'update' | 'findByComposeId'>;
  imageBuilder: BlueprintApi;
  clock: Clock;
  logger: Logger;
}

/**
 * How far before `submittedAt` a compose of ours may say it was created: the service's clock and ours disagree by
 * seconds, not minutes, and a wider window would adopt a build someone else made of the same version. The service
 * keeps nothing of ours on a blueprint's compose (its description is the blueprint's), so an order of the same
 * version sent within that window and not recorded yet (by another person, or in the console) cannot be told apart.
 */
export const ADOPTION_SKEW_MS = 5 * 60 * 1000;

/** Whether this row submits a whole blueprint order (the lead, with the blueprint's own share targets). */
export function submitsBlueprintOrder(
  request: BuildRequest,
): request is BuildRequest & { blueprint: BlueprintRef & { targets: 'blueprint' } } {
  return request.blueprint?.targets === 'blueprint' && request.orderId === request.id && request.orderIndex === 0;
}

/** The id of the order's `index`th image: the same on every attempt, so a retried step adds nothing twice. */
export function companionId(leadId: string, index: number): string {
  const hex = createHash('sha256').update(`${leadId}:${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The rows an order's further composes become (the lead takes the first). */
export function companionsOf(lead: BuildRequest, composes: readonly OrderedCompose[]): OrderCompanion[] {
  return composes.slice(1).map((compose, offset) => ({
    id: companionId(lead.id, offset + 1),
    orderIndex: offset + 1,
    architecture: compose.architecture,
    imageName: lead.imageName,
    shareSummary: lead.shareSummary,
    // What made this image: the part of the lead's body of its type (nothing is sent for a companion).
    composeRequest: JSON.stringify({ image_types: [compose.imageType] }),
    state: 'tracking',
    composeId: compose.id,
    submittedAt: lead.submittedAt,
  }));
}

const blueprintName = (blueprint: BlueprintRef) => blueprint.name;

/** The bot's own refusals: nothing was sent, and the sentence is ours. */
function refusedBecause(kind: string, sentence: string): Refused {
  return { kind: 'refused', rejection: { kind, sentence } };
}

/** The service refused the POST (and nothing of the order was made): its words. */
function serviceRefusal(error: ImageBuilderError): BlueprintSubmission {
  return {
    kind: 'refused',
    rejection: { kind: error.kind, status: error.status, detail: error.detail ?? error.message },
  };
}

/** Finding what an earlier attempt at an order made, in the blueprint's history. */
function orderHistory(options: Pick<BlueprintSubmitterOptions, 'store' | 'imageBuilder'>) {
  const { store, imageBuilder } = options;

  /**
   * The blueprint version's composes of the last 14 days, newest first. A blueprint deleted since keeps its
   * composes, and GET /composes still names the blueprint and version each came from.
   */
  async function historyOf(blueprint: BlueprintRef, since: number): Promise<ComposesItem[]> {
    try {
      return await imageBuilder.listBlueprintComposes(blueprint.id, blueprint.version);
    } catch (error) {
      if (!isImageBuilderError(error) || error.kind !== 'not-found') throw error;
    }
    const items: ComposesItem[] = [];
    for await (const item of imageBuilder.listAllComposes()) {
      if ((parseServiceTimestamp(item.created_at)?.getTime() ?? since) < since) break;
      if (item.blueprint_id === blueprint.id && item.blueprint_version === blueprint.version) items.push(item);
    }
    return items;
  }

  /**
   * The composes of the asked version made since `submittedAt` (less the skew) of the asked image types that no
   * build of ours follows yet, in the blueprint's order. Each compose's own request says what it builds.
   */
  async function findMade(row: BuildRequest & { blueprint: BlueprintRef }, types: readonly string[]) {
    const since = (row.submittedAt ?? row.createdAt).getTime() - ADOPTION_SKEW_MS;
    const made: OrderedCompose[] = [];
    for (const item of await historyOf(row.blueprint, since)) {
      const createdAt = parseServiceTimestamp(item.created_at) ?? null;
      const image = item.request.image_requests[0];
      if (!createdAt || createdAt.getTime() < since || !image?.image_type || !types.includes(image.image_type))
        continue;
      if (await store.findByComposeId(item.id)) continue;
      const architecture = image.architecture ?? row.architecture;
      made.push({ id: item.id, createdAt, architecture, imageType: image.image_type });
    }
    return made.length > 1 ? inBlueprintOrder(row, made.reverse()) : made;
  }

  /**
   * The composes ordered as the blueprint's image requests are, which the service made them in: created_at, to
   * the second, cannot tell. The lead is the image of the first matching request (its architecture, the form's).
   * Without the blueprint (deleted since), the lead's architecture goes first.
   */
  async function inBlueprintOrder(row: BuildRequest & { blueprint: BlueprintRef }, made: OrderedCompose[]) {
    const images = await imageBuilder.getBlueprint(row.blueprint.id, row.blueprint.version).then(
      (detail) => detail.image_requests,
      () => [{ architecture: row.architecture, image_type: made[0]!.imageType }],
    );
    const rank = (compose: OrderedCompose) => {
      const index = images.findIndex(
        (i) => i.architecture === compose.architecture && i.image_type === compose.imageType,
      );
      return index === -1 ? images.length : index;
    };
    return [...made].sort((a, b) => rank(a) - rank(b));
  }

  return { findMade };
}

/** Why the blueprint is no longer what was asked for, or the image requests of the asked version that match. */
async function stillAsked(
  imageBuilder: BlueprintApi,
  blueprint: BlueprintRef,
  types: readonly string[],
): Promise<BlueprintSubmission | BlueprintImageRequest[]> {
  const asked = await askedVersion(imageBuilder, blueprint);
  if (!('detail' in asked)) return asked;
  const matching = asked.detail.image_requests.filter((request) => types.includes(request.image_type));
  return matching.length > 0 ? matching : nothingMatched(blueprint, types);
}

/** The asked version of the blueprint, or why it is no longer what was asked for (deleted, or saved again). */
async function askedVersion(
  imageBuilder: Pick<BlueprintApi, 'listBlueprints' | 'getBlueprint'>,
  blueprint: BlueprintRef,
): Promise<{ detail: BlueprintDetail } | Refused> {
  const latest = (await imageBuilder.listBlueprints({ name: blueprint.name })).find((b) => b.id === blueprint.id);
  if (!latest) {
    return refusedBecause(
      'blueprint-deleted',
      `The blueprint ${blueprintName(blueprint)} was deleted or renamed in Image Builder after you asked for it; nothing was built.`,
    );
  }
  if (latest.version !== blueprint.version) {
    return refusedBecause(
      'blueprint-changed',
      `${blueprintName(blueprint)} changed to v${latest.version} since you asked for v${blueprint.version}; ` +
        `nothing was built. Build it again to get v${latest.version}.`,
    );
  }
  return { detail: await imageBuilder.getBlueprint(blueprint.id, blueprint.version) };
}

/**
 * The POST /compose of a blueprint built with the requester's share targets: the asked version's distribution and
 * customizations (read now, outside Slack's 3 seconds) with the image request and names the form wrote, or why it
 * cannot be sent.
 */
export async function requesterTargetsCompose(
  imageBuilder: Pick<BlueprintApi, 'listBlueprints' | 'getBlueprint'>,
  row: BuildRequest & { blueprint: BlueprintRef },
): Promise<{ kind: 'body'; body: ComposeRequest } | Refused> {
  const asked = await askedVersion(imageBuilder, row.blueprint);
  if (!('detail' in asked)) return asked;
  const { detail } = asked;
  const written = JSON.parse(row.composeRequest) as ComposeRequest;
  try {
    const body = composeRequestFromBlueprint(detail, written.image_requests[0], {
      ...(written.image_name ? { imageName: written.image_name } : {}),
      ...(written.image_description ? { imageDescription: written.image_description } : {}),
    });
    return { kind: 'body', body };
  } catch (error) {
    if (!isBlueprintComposeError(error)) throw error;
    return refusedBecause(`blueprint-${error.kind}`, `${error.message}; nothing was built.`);
  }
}

const nothingMatched = (blueprint: BlueprintRef, types: readonly string[]) =>
  refusedBecause(
    'blueprint-nothing-matched',
    `${blueprintName(blueprint)} v${blueprint.version} has no saved image of type ${types.join(', ')}, so nothing was built.`,
  );

export function createBlueprintSubmitter(options: BlueprintSubmitterOptions) {
  const { store, imageBuilder, clock, logger } = options;
  const { findMade } = orderHistory(options);

  /**
   * Sends the order once. The service makes one compose per matching image request, in the blueprint's order, of
   * the version just checked: the answer's ids pair with `images` one by one.
   */
  async function send(
    row: BuildRequest & { blueprint: BlueprintRef },
    types: readonly string[],
    images: readonly BlueprintImageRequest[],
  ): Promise<BlueprintSubmission> {
    const sent = { ...(await store.update(row.id, { submittedAt: clock.now() })), blueprint: row.blueprint };
    try {
      const created = await imageBuilder.composeBlueprint(row.blueprint.id, types);
      if (created.length === 0) return nothingMatched(row.blueprint, types);
      const composes = created.map(({ id }, index) => ({
        id,
        createdAt: null,
        architecture: images[index]?.architecture ?? row.architecture,
        imageType: images[index]?.image_type ?? types[0]!,
      }));
      return { kind: 'made', composes };
    } catch (error) {
      if (isImageBuilderError(error) && error.mayHaveBeenSubmitted) return afterUncertain(sent, types, error);
      if (isRefusal(error)) return serviceRefusal(error);
      return { kind: 'failed', error, unsent: provablyUnsent(error) };
    }
  }

  /** A refusal or a 5xx after which some composes may exist: adopt what was made, else it is a plain refusal. */
  async function afterUncertain(
    row: BuildRequest & { blueprint: BlueprintRef },
    types: readonly string[],
    error: ImageBuilderError,
  ): Promise<BlueprintSubmission> {
    const made = await findMade(row, types);
    if (made.length > 0) {
      logger.warn(
        { requestId: row.id, kind: error.kind, status: error.status, made: made.length },
        'Image Builder stopped part way through the order; following the composes it made',
      );
      return { kind: 'made', composes: made };
    }
    if (isRefusal(error)) return serviceRefusal(error);
    return { kind: 'failed', error, unsent: false };
  }

  return {
    /** Submits the order of `row` (a lead that submitsBlueprintOrder), or adopts what an earlier attempt made. */
    async submit(row: BuildRequest & { blueprint: BlueprintRef }): Promise<BlueprintSubmission> {
      const body = blueprintComposeRequestSchema.safeParse(JSON.parse(row.composeRequest));
      if (!body.success) {
        return { kind: 'refused', rejection: { kind: 'invalid-request', detail: body.error.issues[0]?.message } };
      }
      const types = body.data.image_types;
      if (row.submittedAt) {
        // An earlier attempt may have reached the service: only what provably is not there is sent again.
        const made = await findMade(row, types);
        if (made.length > 0) return { kind: 'made', composes: made };
      }
      const asked = await stillAsked(imageBuilder, row.blueprint, types);
      return Array.isArray(asked) ? send(row, types, asked) : asked;
    },
  };
}
