import {
  composeErrorLines,
  parseServiceTimestamp,
  type ImageBuilderClient,
  type ImageStatus,
  type StoredComposeRequest,
} from './imageBuilder';
import { ARCHITECTURES, providerForImageType, type Architecture, type LaunchDefaults, type ResultDescription } from './providers';

/*
 * What a finished compose means to the person who asked for it, from what Image Builder said about it. The CLI
 * and the Slack thread both show this; the providers know how to use each cloud's result.
 */

export type ComposeOutcome =
  | { kind: 'success'; providerLabel: string; result: ResultDescription }
  | { kind: 'failure'; reason: string; details: string[] };

export interface FinishedComposeFacts {
  composeId: string;
  imageStatus: ImageStatus;
  /** The compose request, as we sent it or as the service returns it. */
  request: StoredComposeRequest;
  /** `created_at` from GET /composes, when known. */
  createdAt?: Date;
  /** When it was submitted; the fallback for expiry. */
  submittedAt: Date;
}

/** undefined while the compose is not final. */
export function describeOutcome(facts: FinishedComposeFacts, launch: LaunchDefaults): ComposeOutcome | undefined {
  const { imageStatus, request } = facts;
  if (imageStatus.status === 'failure') {
    const error = imageStatus.error;
    if (!error) return { kind: 'failure', reason: 'Image Builder reported a failure without a reason.', details: [] };
    const [, ...details] = composeErrorLines(error);
    return { kind: 'failure', reason: error.reason, details: details.map((d) => d.replace(/^ {2}/, '')) };
  }
  if (imageStatus.status !== 'success') return undefined;

  const imageRequest = request.image_requests[0];
  const provider = providerForImageType(imageRequest?.image_type ?? '');
  const upload = imageStatus.upload_status;
  if (!provider || !upload) {
    return {
      kind: 'failure',
      reason: 'Image Builder reported success but did not say where the image is.',
      details: [],
    };
  }
  const architecture = ARCHITECTURES.find((a) => a === imageRequest?.architecture) ?? ('x86_64' satisfies Architecture);
  const requestUploadOptions = imageRequest?.upload_request?.options;
  const result = provider.describeResult(
    {
      composeId: facts.composeId,
      distribution: request.distribution ?? 'unknown',
      architecture,
      ...(request.image_name ? { imageName: request.image_name } : {}),
      upload: { type: upload.type, options: isRecord(upload.options) ? upload.options : {} },
      requestUploadOptions: isRecord(requestUploadOptions) ? requestUploadOptions : {},
      ...(facts.createdAt ? { createdAt: facts.createdAt } : {}),
      submittedAt: facts.submittedAt,
    },
    launch,
  );
  return { kind: 'success', providerLabel: provider.label, result };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `created_at` of one compose, from the service's 14-day list; undefined when it is not there. */
export async function findComposeCreatedAt(
  imageBuilder: Pick<ImageBuilderClient, 'listAllComposes'>,
  composeId: string,
): Promise<Date | undefined> {
  for await (const item of imageBuilder.listAllComposes()) {
    if (item.id === composeId) return parseServiceTimestamp(item.created_at);
  }
  return undefined;
}
