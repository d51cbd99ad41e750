import { z } from 'zod';
import { AWS_ACCOUNT_ID, GCP_PRINCIPAL, GUID } from '../shared/ids';

/*
 * What we send to POST /compose, strict per upload type.
 *
 * The spec is looser than the service: `upload_request.options` is an `anyOf` that accepts `{}`, and nothing ties
 * `image_type` to `upload_request.type`. The service's handler rejects those requests with 400, and every request
 * (even a rejected build) may count against the organisation's quota, so the client refuses to send anything these
 * schemas do not accept. Objects are strict because the service rejects unknown keys too.
 */

export const ARCHITECTURES = ['x86_64', 'aarch64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

const AZURE_IMAGE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,58}[a-zA-Z0-9_])?$/;

const unique = <T>(items: T[]) => new Set(items).size === items.length;

const awsUpload = z.strictObject({
  type: z.literal('aws'),
  options: z
    .strictObject({
      share_with_accounts: z.array(z.string().regex(AWS_ACCOUNT_ID)).refine(unique, 'duplicate account').optional(),
      share_with_sources: z.array(z.string().min(1)).refine(unique, 'duplicate source').optional(),
    })
    .refine(
      (o) => (o.share_with_accounts?.length ?? 0) + (o.share_with_sources?.length ?? 0) > 0,
      'an AWS image must be shared with at least one account or source',
    ),
});

const azureUpload = z.strictObject({
  type: z.literal('azure'),
  options: z.strictObject({
    tenant_id: z.string().regex(GUID),
    subscription_id: z.string().regex(GUID),
    resource_group: z.string().min(1).max(90),
    image_name: z.string().regex(AZURE_IMAGE_NAME).optional(),
    hyper_v_generation: z.enum(['V1', 'V2']).optional(),
  }),
});

const gcpUpload = z.strictObject({
  type: z.literal('gcp'),
  options: z.strictObject({
    share_with_accounts: z.array(z.string().regex(GCP_PRINCIPAL)).refine(unique, 'duplicate principal').optional(),
  }),
});

const s3Upload = z.strictObject({
  type: z.literal('aws.s3'),
  options: z.strictObject({}),
});

const ociUpload = z.strictObject({
  type: z.literal('oci.objectstorage'),
  options: z.strictObject({}),
});

/**
 * Which image types go with which upload type (aliases included: `ami` is `aws`, `vhd` is `azure`). The service
 * answers 400 "Invalid image type for upload target" to any other pair; `oci` goes only to OCI object storage.
 */
export const IMAGE_TYPES_BY_UPLOAD_TYPE = {
  aws: ['aws', 'ami'],
  azure: ['azure', 'vhd'],
  gcp: ['gcp'],
  'aws.s3': ['guest-image', 'image-installer', 'vsphere-ova', 'vsphere', 'wsl', 'pxe-tar-xz', 'network-installer'],
  'oci.objectstorage': ['oci'],
} as const;

export const uploadRequestSchema = z.discriminatedUnion('type', [
  awsUpload,
  azureUpload,
  gcpUpload,
  s3Upload,
  ociUpload,
]);
export type UploadRequest = z.infer<typeof uploadRequestSchema>;
export type UploadType = UploadRequest['type'];

export const imageRequestSchema = z
  .strictObject({
    architecture: z.enum(ARCHITECTURES),
    image_type: z.string(),
    upload_request: uploadRequestSchema,
  })
  .refine((r) => (IMAGE_TYPES_BY_UPLOAD_TYPE[r.upload_request.type] as readonly string[]).includes(r.image_type), {
    message: 'image_type does not go with upload_request.type',
    path: ['image_type'],
  });
export type ImageRequest = z.infer<typeof imageRequestSchema>;

export const composeRequestSchema = z.strictObject({
  // Required in practice although the spec marks it optional; the value must be one the account may build.
  distribution: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  image_name: z.string().min(1).max(100).optional(),
  image_description: z.string().max(250).optional(),
  client_id: z.literal('api').optional(),
  image_requests: z.tuple([imageRequestSchema]),
});
export type ComposeRequest = z.infer<typeof composeRequestSchema>;
