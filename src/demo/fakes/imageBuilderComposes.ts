import { randomUUID } from 'node:crypto';
import { isObject, type JsonObject } from './blockKit';

/*
 * The fake Image Builder's composes and how they progress. Each compose follows a script, one step per
 * GET /composes/{id}, so a test controls progress by polling, not by sleeping; a step named by its status is filled
 * in as the service would fill it (build progress, upload status, the upload's result, a nested build error).
 */

export interface ImageStatusBody extends JsonObject {
  status: string;
}

/**
 * One answer of GET /composes/{id}. A status name is filled in as the service would: `building` gets progress
 * (its position among the script's building steps), `uploading`/`registering` a running upload, `success` the
 * upload result for the request's upload type, `failure` a nested build error. An object is sent as the
 * `image_status`, on top of what its `status` would get by default (so `{ status: 'failure', error }` replaces
 * only the error).
 */
export type ComposeStep =
  'pending' | 'building' | 'uploading' | 'registering' | 'success' | 'failure' | 'running' | ImageStatusBody;

export interface FakeCompose {
  id: string;
  /** The compose request as it was posted. */
  request: JsonObject;
  createdAt: Date;
  script: ComposeStep[];
  /** How many times GET /composes/{id} has answered since the script was (re)set. */
  polls: number;
  /** The last `image_status` answered, if any. */
  lastStatus?: ImageStatusBody;
  /** The blueprint and version it was built from, by POST /blueprints/{id}/compose. */
  blueprint?: { id: string; version: number };
}

const BUILD_STEPS = 7;

/** pending → building 1..7 of 7 → uploading → registering → success: eleven polls. */
export function defaultScript(): ComposeStep[] {
  return [
    'pending',
    ...Array.from({ length: BUILD_STEPS }, (_, i): ComposeStep => ({
      status: 'building',
      progress: { done: i + 1, total: BUILD_STEPS, subprogress: { done: (i * 3) % 5, total: 5 } },
    })),
    'uploading',
    'registering',
    'success',
  ];
}

export const DEFAULT_BUILD_ERROR = {
  id: 10,
  reason: 'osbuild build failed',
  details: [
    {
      id: 9,
      reason: 'Manifest dependency failure',
      details: 'error: stage org.osbuild.rpm failed: package kernel-99 not found',
    },
  ],
};

const DOWNLOAD_EXTENSIONS: Record<string, string> = {
  'guest-image': 'qcow2',
  'image-installer': 'iso',
  'network-installer': 'iso',
  'vsphere-ova': 'ova',
  vsphere: 'vmdk',
  wsl: 'tar.gz',
  'pxe-tar-xz': 'tar.xz',
};

export interface NewCompose {
  request: JsonObject;
  createdAt?: Date;
  script?: ComposeStep[];
  id?: string;
  blueprint?: { id: string; version: number };
}

export interface Composes {
  readonly all: Map<string, FakeCompose>;
  /** A compose with its own script, or else the next queued one, or else the default script. */
  create(init: NewCompose): FakeCompose;
  /** Sets the steps of one compose (from its next poll on), or with 'next' of the next compose created (queued). */
  setScript(target: string, steps: ComposeStep[]): void;
  /** The compose's next step, as GET /composes/{id} answers it; the last step repeats. */
  poll(compose: FakeCompose): ImageStatusBody;
}

export function createComposes(options: { now: () => Date; script?: ComposeStep[]; awsRegion: string }): Composes {
  const all = new Map<string, FakeCompose>();
  const nextScripts: ComposeStep[][] = [];
  return {
    all,
    create(init) {
      const compose: FakeCompose = {
        id: init.id ?? randomUUID(),
        request: init.request,
        createdAt: init.createdAt ?? options.now(),
        script: init.script ?? nextScripts.shift() ?? options.script ?? defaultScript(),
        polls: 0,
        ...(init.blueprint ? { blueprint: init.blueprint } : {}),
      };
      if (compose.script.length === 0) throw new Error('A compose script needs at least one step');
      all.set(compose.id, compose);
      return compose;
    },
    setScript(target, steps) {
      if (steps.length === 0) throw new Error('A compose script needs at least one step');
      if (target === 'next') {
        nextScripts.push(steps);
        return;
      }
      const compose = all.get(target);
      if (!compose) throw new Error(`No compose ${target}; known: ${[...all.keys()].join(', ') || 'none'}`);
      compose.script = steps;
      compose.polls = 0;
    },
    poll(compose) {
      const status = imageStatusFor(compose, Math.min(compose.polls, compose.script.length - 1), options.awsRegion);
      compose.polls += 1;
      compose.lastStatus = status;
      return status;
    },
  };
}

function imageStatusFor(compose: FakeCompose, index: number, awsRegion: string): ImageStatusBody {
  const step = compose.script[index] ?? 'pending';
  const given: ImageStatusBody = typeof step === 'string' ? { status: step } : step;
  const type = uploadTypeOf(compose.request);
  const defaults: JsonObject = {};
  switch (given.status) {
    case 'building': {
      const buildingSteps = compose.script
        .map((s, i) => ({ s, i }))
        .filter(({ s }) => (typeof s === 'string' ? s : s.status) === 'building');
      const position = buildingSteps.findIndex(({ i }) => i === index);
      defaults.progress = { done: position + 1, total: buildingSteps.length };
      break;
    }
    case 'uploading':
    case 'registering':
      defaults.upload_status = { status: 'running', type, options: {} };
      break;
    case 'success':
      defaults.upload_status = { status: 'success', type, options: uploadResult(compose, awsRegion) };
      break;
    case 'failure':
      defaults.error = DEFAULT_BUILD_ERROR;
      break;
  }
  return { ...defaults, ...given };
}

const uploadTypeOf = (request: JsonObject): string => {
  const first = Array.isArray(request.image_requests) ? (request.image_requests[0] as unknown) : undefined;
  const upload = isObject(first) && isObject(first.upload_request) ? first.upload_request : undefined;
  return typeof upload?.type === 'string' ? upload.type : 'aws.s3';
};

/** Where the image went, as the service reports a successful upload of the request's type. */
function uploadResult(compose: FakeCompose, awsRegion: string): JsonObject {
  const first = (compose.request.image_requests as JsonObject[] | undefined)?.[0] ?? {};
  const upload = isObject(first.upload_request) ? first.upload_request : {};
  const uploadOptions = isObject(upload.options) ? upload.options : {};
  const name = `composer-api-${compose.id}`;
  switch (uploadTypeOf(compose.request)) {
    case 'aws':
      return { ami: `ami-${compose.id.replace(/-/g, '').slice(0, 17)}`, region: awsRegion };
    case 'gcp':
      return { project_id: 'red-hat-image-builder', image_name: name };
    case 'azure':
      return { image_name: typeof uploadOptions.image_name === 'string' ? uploadOptions.image_name : name };
    case 'oci.objectstorage':
      // A pre-authenticated request for an object named without an extension, as OCI object storage serves it.
      return {
        url: `https://objectstorage.us-ashburn-1.oraclecloud.com/p/${compose.id.replace(/-/g, '')}/n/image-builder/b/composer/o/${name}`,
      };
    default: {
      const extension = DOWNLOAD_EXTENSIONS[String(first.image_type)] ?? 'qcow2';
      return {
        url:
          `https://image-builder-service-production.s3.amazonaws.com/${name}-disk.${extension}` +
          `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261126T100000Z&X-Amz-Expires=604800&X-Amz-Signature=${compose.id.replace(/-/g, '')}`,
      };
    }
  }
}
