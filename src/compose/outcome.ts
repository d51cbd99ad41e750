import {
  composeErrorLines,
  parseServiceTimestamp,
  type ComposeStatus,
  type ImageBuilderClient,
  type ImageStatus,
  type StoredComposeRequest,
} from '../imageBuilder';
import {
  ARCHITECTURES,
  loginUserOf,
  providerForImageType,
  type Architecture,
  type FinishedCompose,
  type LaunchDefaults,
  type LaunchSettings,
  type ResultDescription,
} from '../providers';
import { baseSummary } from '../providers/common';
import { describeOtherDownload } from '../providers/download';
import { shellQuote } from '../providers/shell';
import { isFinalStatus } from './status';

/*
 * What a finished compose means to the person who asked for it, from what Image Builder said about it. The CLI,
 * `/image-builder status` and the Slack thread all show this one description; the providers know how to use each
 * cloud's result, and the views and the CLI only render it.
 */

/** How a compose the service finished ended. */
export type FinishedOutcome =
  { kind: 'success'; result: ResultDescription } | { kind: 'failure'; reason: string; details: readonly string[] };

/** How a build ended: as the service finished it, deleted there before it was built, or refused at submission. */
export type ComposeOutcome =
  | FinishedOutcome
  /** The compose was deleted at Image Builder before it finished. */
  | { kind: 'deleted' }
  /** The service refused the request: `sentence` says so in the bot's words, `detail` in the service's. */
  | { kind: 'rejected'; sentence: string; detail?: string };

export interface FinishedComposeFacts {
  composeId: string;
  imageStatus: ImageStatus;
  /** The compose request, as we sent it or as the service returns it. */
  request: StoredComposeRequest;
  /** `created_at` from GET /composes, when known. */
  createdAt?: Date;
  /** When it was submitted; the fallback for expiry. */
  submittedAt: Date;
  /** The provider's launch settings kept with the build, when the bot has them. */
  launchSettings?: LaunchSettings;
}

/** undefined while the compose is not final. */
export function describeOutcome(facts: FinishedComposeFacts, launch: LaunchDefaults): FinishedOutcome | undefined {
  const { imageStatus, request } = facts;
  if (imageStatus.status === 'failure') {
    const error = imageStatus.error;
    if (!error) return { kind: 'failure', reason: 'Image Builder reported a failure without a reason.', details: [] };
    const [, ...details] = composeErrorLines(error);
    return { kind: 'failure', reason: error.reason, details: details.map((d) => d.replace(/^ {2}/, '')) };
  }
  if (imageStatus.status !== 'success') return undefined;

  const imageRequest = request.image_requests[0];
  const imageType = imageRequest?.image_type ?? '';
  const provider = providerForImageType(imageType);
  const upload = imageStatus.upload_status;
  if (!upload) return unlocated();
  const architecture = ARCHITECTURES.find((a) => a === imageRequest?.architecture) ?? ('x86_64' satisfies Architecture);
  const requestUploadOptions = imageRequest?.upload_request?.options;
  const loginUser = loginUserOf(request.customizations);
  const compose: FinishedCompose = {
    composeId: facts.composeId,
    distribution: composeDistribution(request),
    architecture,
    ...(request.image_name ? { imageName: request.image_name } : {}),
    upload: { type: upload.type, options: isRecord(upload.options) ? upload.options : {} },
    requestUploadOptions: isRecord(requestUploadOptions) ? requestUploadOptions : {},
    ...(facts.createdAt ? { createdAt: facts.createdAt } : {}),
    submittedAt: facts.submittedAt,
    ...(registersAtFirstBoot(request) ? { registersAtFirstBoot: true } : {}),
    ...(facts.launchSettings ? { launchSettings: facts.launchSettings } : {}),
    ...(imageType ? { imageType } : {}),
  };
  // Whatever the image type, an image left on the build host is there and nowhere else.
  if (upload.type === 'local') return { kind: 'success', result: describeBuildHostResult(compose) };
  if (provider) return { kind: 'success', result: withLogin(provider.describeResult(compose, launch), loginUser) };
  // Image types the console orders and no target builds (network-installer, edge…): offered as a download.
  if (DOWNLOAD_UPLOAD_TYPES.has(upload.type) && imageType !== '') {
    return { kind: 'success', result: describeOtherDownload(compose, imageType) };
  }
  return unlocated();
}

/**
 * How to log in once it runs, after the launch command. The address is only known then, so it is a placeholder in
 * capitals (not `<address>`, which a shell would read as a redirection). The user name was checked to be a plain
 * Linux name, and is quoted all the same.
 */
function withLogin(result: ResultDescription, loginUser: string | undefined): ResultDescription {
  if (!loginUser) return result;
  const login = {
    label: 'Then log in with your SSH key (ADDRESS: the instance’s public address)',
    command: `ssh ${shellQuote(`${loginUser}@ADDRESS`)}`,
  };
  return { ...result, launchCommands: [...result.launchCommands, login] };
}

const DOWNLOAD_UPLOAD_TYPES: ReadonlySet<string> = new Set(['aws.s3', 'oci.objectstorage']);

const unlocated = (): FinishedOutcome => ({
  kind: 'failure',
  reason: 'Image Builder reported success but did not say where the image is.',
  details: [],
});

/**
 * What the compose was built from: its distribution, or for an image-mode (bootc) compose, which has none, the
 * container image's name and tag ("rhel-bootc:9.7" for registry.redhat.io/rhel9/rhel-bootc:9.7).
 */
export function composeDistribution(request: Pick<StoredComposeRequest, 'distribution' | 'bootc'>): string {
  if (request.distribution) return request.distribution;
  const reference = request.bootc?.reference?.split('@')[0] ?? '';
  return reference.slice(reference.lastIndexOf('/') + 1) || 'unknown';
}

/** Upload type `local`: the image stays where it was built, on the service's build host, with nothing to download. */
function describeBuildHostResult(compose: FinishedCompose): ResultDescription {
  const path = typeof compose.upload.options.artifact_path === 'string' ? compose.upload.options.artifact_path : '';
  return {
    headline: 'Image built and kept on the build host; Image Builder offers no download of it',
    summary: [...baseSummary(compose), ...(path ? [{ label: 'On the build host', value: path }] : [])],
    launchCommands: [],
    copyCommands: [],
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The request registers the instance with Red Hat: it carries a subscription (the key itself is never read). */
const registersAtFirstBoot = (request: StoredComposeRequest): boolean =>
  isRecord(request.customizations) && isRecord(request.customizations.subscription);

/** How many days back the service's list of composes (GET /composes) goes; GET /composes/{id} has no such limit. */
const LISTED_DAYS = 14;

/**
 * `created_at` of one compose, from the service's 14-day list: `not listed` when the list, read whole, does not have
 * it; undefined when its created_at cannot be read.
 */
async function listedCreatedAt(
  imageBuilder: Pick<ImageBuilderClient, 'listAllComposes'>,
  composeId: string,
): Promise<Date | 'not listed' | undefined> {
  for await (const item of imageBuilder.listAllComposes()) {
    if (item.id === composeId) return parseServiceTimestamp(item.created_at);
  }
  return 'not listed';
}

/**
 * How a compose looked up by its id ended (the CLI's `status` and `compose --wait`, `/image-builder status`);
 * undefined while it runs. The expiry counts from `createdAt` when the caller knows it (the bot's own record), else
 * from `created_at` in the service's list; a compose the list, read whole, does not have is older than the list, and
 * an image whose lifetime is shorter is gone. Without any of these (`submittedAt` aside, when the caller submitted
 * it itself) the date would be a guess, so it is left out.
 */
export async function lookUpOutcome(
  imageBuilder: Pick<ImageBuilderClient, 'listAllComposes'>,
  compose: {
    composeId: string;
    status: ComposeStatus;
    createdAt?: Date;
    submittedAt?: Date;
    launchSettings?: LaunchSettings;
  },
  launch: LaunchDefaults,
  now: Date,
): Promise<FinishedOutcome | undefined> {
  const { composeId, status, submittedAt, launchSettings } = compose;
  if (!isFinalStatus(status.image_status.status)) return undefined;
  const lookUp = status.image_status.status === 'success' && compose.createdAt === undefined;
  const listed = lookUp ? await listedCreatedAt(imageBuilder, composeId).catch(() => undefined) : undefined;
  const createdAt = compose.createdAt ?? (listed instanceof Date ? listed : undefined);
  const outcome = describeOutcome(
    {
      composeId,
      imageStatus: status.image_status,
      request: status.request,
      ...(createdAt ? { createdAt } : {}),
      submittedAt: submittedAt ?? now,
      ...(launchSettings ? { launchSettings } : {}),
    },
    launch,
  );
  if (outcome?.kind !== 'success' || createdAt) return outcome;
  const { lifetimeDays } = outcome.result;
  if (listed === 'not listed' && lifetimeDays !== undefined && lifetimeDays <= LISTED_DAYS) {
    return { ...outcome, result: { ...outcome.result, expiresAt: undefined, builtMoreThanDaysAgo: LISTED_DAYS } };
  }
  return submittedAt ? outcome : { ...outcome, result: { ...outcome.result, expiresAt: undefined } };
}
