import * as z from 'zod';
import { AWS_ACCOUNT_ID, GCP_PRINCIPAL, GUID } from '../shared/ids';

/*
 * What we send to POST /compose, strict per upload type, with the customizations a blueprint or the form adds.
 *
 * The spec is looser than the service: `upload_request.options` is an `anyOf` that accepts `{}`, and nothing ties
 * `image_type` to `upload_request.type`. The service's handler rejects those requests with 400, and every request
 * (even a rejected build) may count against the organisation's quota, so the client refuses to send anything these
 * schemas do not accept. Objects are strict because the service rejects unknown keys too.
 */

export const ARCHITECTURES = ['x86_64', 'aarch64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

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

const AZURE_IMAGE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,58}[a-zA-Z0-9_])?$/;

const unique = <T>(items: T[]) => new Set(items).size === items.length;

/** Where the image goes, and which image. */
function imageRequestSchemas() {
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

  const uploadRequestSchema = z.discriminatedUnion('type', [awsUpload, azureUpload, gcpUpload, s3Upload, ociUpload]);

  const imageRequestSchema = z
    .strictObject({
      architecture: z.enum(ARCHITECTURES),
      image_type: z.string(),
      upload_request: uploadRequestSchema,
      // What a blueprint may pin (the console's repeatable builds and disk size), carried when one is built.
      /** Bytes (`x-go-type: uint64`); 0 is the image type's minimum. */
      size: z.number().int().nonnegative().optional(),
      /** RFC 3339: the repository snapshot taken closest before it. */
      snapshot_date: z.iso.datetime({ offset: true }).optional(),
      content_template: z.string().optional(),
      content_template_name: z.string().optional(),
    })
    .refine((r) => (IMAGE_TYPES_BY_UPLOAD_TYPE[r.upload_request.type] as readonly string[]).includes(r.image_type), {
      message: 'image_type does not go with upload_request.type',
      path: ['image_type'],
    })
    // The spec's prose: "A content template and snapshot date cannot both be specified."
    .refine((r) => r.snapshot_date === undefined || r.content_template === undefined, {
      message: 'a content template and a snapshot date cannot both be given',
      path: ['snapshot_date'],
    });

  return { uploadRequestSchema, imageRequestSchema };
}

// ---------------------------------------------------------------------------------------------------------------
// Customizations: the spec's `Customizations` and every schema it references, property for property.
//
// Strict as the rest: an object the spec leaves open is closed here, so a key the bot does not know is refused
// before anything is sent. Where the service's handler (image-builder-crc, internal/v1/handler_compose_image.go)
// or the spec's own prose adds a rule the schema cannot say, it is added below with its source.

/** `x-go-type: uint64` with no JSON type in the spec: Go's decoder refuses anything but a whole number ≥ 0. */
const uint64 = z.number().int().nonnegative();
/** `oneOf: [string, integer (int64)]`: a user or group by name or by id. */
const nameOrId = z.union([z.string(), z.number().int()]);

/** An RFC 3986 URI, as the spec's `format: uri` means it: a scheme, then only URI characters or %-escapes. */
const URI = /^[a-z][a-z0-9+.-]*:(?:[a-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9a-f]{2})*$/i;
const uri = z.string().refine((text) => URI.test(text) && URL.canParse(text), 'expected a URI');
/** The spec's `format: uuid`. */
const uuid = z.string().regex(GUID, 'expected a UUID');

/** Standard, padded base64 as Go's base64.StdEncoding reads it (it skips line breaks). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const isBase64 = (text: string) => BASE64.test(text.replace(/[\r\n]/g, ''));

/** What the image holds: containers, files, registration, modules, repositories, OpenSCAP. */
function contentSchemas() {
  const containerSchema = z.strictObject({
    source: z.string(),
    name: z.string().optional(),
    tls_verify: z.boolean().optional(),
  });

  const directorySchema = z.strictObject({
    path: z.string(),
    mode: z.string().optional(),
    user: nameOrId.optional(),
    group: nameOrId.optional(),
    ensure_parents: z.boolean().optional(),
  });

  const fileSchema = z
    .strictObject({
      path: z.string(),
      mode: z.string().optional(),
      user: nameOrId.optional(),
      group: nameOrId.optional(),
      data: z.string().optional(),
      data_encoding: z.enum(['plain', 'base64']).optional(),
      ensure_parents: z.boolean().optional(),
    })
    // The handler decodes base64 data before building and fails the compose (500) on anything else.
    .refine((file) => file.data_encoding !== 'base64' || file.data === undefined || isBase64(file.data), {
      message: 'data_encoding is base64 but data is not base64',
      path: ['data'],
    });

  /** Registration. `activation-key` is the organisation's secret: carried to the service, never shown or logged. */
  const subscriptionSchema = z.strictObject({
    organization: z.number().int(),
    'activation-key': z.string(),
    'server-url': z.string(),
    'base-url': z.string(),
    insights: z.boolean(),
    rhc: z.boolean().optional(),
    insights_client_proxy: uri.optional(),
  });

  const moduleSchema = z.strictObject({ name: z.string(), stream: z.string() });

  const payloadRepositorySchema = z.strictObject({
    id: z.string().optional(),
    rhsm: z.boolean(),
    baseurl: uri.optional(),
    mirrorlist: uri.optional(),
    metalink: uri.optional(),
    gpgkey: z.string().optional(),
    check_gpg: z.boolean().optional(),
    check_repo_gpg: z.boolean().optional(),
    ignore_ssl: z.boolean().optional(),
    module_hotfixes: z.boolean().optional(),
  });

  // The spec asks for one of baseurl, mirrorlist or metalink, but the handler fills baseurl from content sources when
  // `id` names a repository there, so an id alone is a valid request.
  const customRepositorySchema = z.strictObject({
    id: z.string(),
    name: z.string().optional(),
    filename: z.string().optional(),
    baseurl: z.array(uri).optional(),
    mirrorlist: uri.optional(),
    metalink: uri.optional(),
    gpgkey: z.array(z.string()).optional(),
    check_gpg: z.boolean().optional(),
    check_repo_gpg: z.boolean().optional(),
    enabled: z.boolean().optional(),
    priority: z.number().int().optional(),
    ssl_verify: z.boolean().optional(),
    module_hotfixes: z.boolean().optional(),
  });

  /** OpenSCAP's own profile, or a policy of the Insights compliance service; never both (the spec's `oneOf`). */
  const openScapSchema = z.union([
    z.strictObject({
      profile_id: z.string(),
      profile_name: z.string().optional(),
      profile_description: z.string().optional(),
    }),
    z.strictObject({ policy_id: uuid }),
  ]);

  return {
    containerSchema,
    directorySchema,
    fileSchema,
    subscriptionSchema,
    moduleSchema,
    payloadRepositorySchema,
    customRepositorySchema,
    openScapSchema,
  };
}

/** How its disk is laid out. */
function storageSchemas() {
  const filesystemSchema = z.strictObject({ mountpoint: z.string(), min_size: uint64 });

  /** A size with units, e.g. "2 GiB" (the spec's `minsize`). */
  const minsize = z.string();
  const FS_TYPES = ['ext4', 'xfs', 'vfat', 'swap'] as const;

  const plainPartitionSchema = z.strictObject({
    type: z.literal('plain').optional(),
    part_type: z.string().optional(),
    minsize: minsize.optional(),
    mountpoint: z.string().optional(),
    label: z.string().optional(),
    fs_type: z.enum(FS_TYPES),
  });

  const btrfsPartitionSchema = z.strictObject({
    type: z.literal('btrfs'),
    part_type: z.string().optional(),
    minsize: minsize.optional(),
    subvolumes: z.array(z.strictObject({ name: z.string(), mountpoint: z.string() })),
  });

  const lvmPartitionSchema = z.strictObject({
    type: z.literal('lvm'),
    part_type: z.string().optional(),
    name: z.string().optional(),
    minsize: minsize.optional(),
    logical_volumes: z.array(
      z.strictObject({
        name: z.string().optional(),
        minsize: minsize.optional(),
        mountpoint: z.string().optional(),
        label: z.string().optional(),
        fs_type: z.enum(FS_TYPES),
      }),
    ),
  });

  const diskSchema = z.strictObject({
    type: z.enum(['gpt', 'dos']).optional(),
    minsize: minsize.optional(),
    partitions: z.array(z.union([plainPartitionSchema, btrfsPartitionSchema, lvmPartitionSchema])),
  });

  return { filesystemSchema, diskSchema };
}

/** Who logs in and what runs: users, services, firewall, first boot, Ansible registration. */
function systemSchemas() {
  /**
   * A user of the image. Two rules the schema cannot say: the spec's prose asks for a password or an SSH key ("at
   * least one of password, ssh_key must be set, validator takes care of it"), and `hasPassword` is "read-only" — the
   * service's answer about a password it keeps, which a request never carries.
   */
  const composeUserSchema = z
    .strictObject({
      name: z.string(),
      groups: z.array(z.string()).optional(),
      ssh_key: z.string().optional(),
      password: z.string().optional(),
      hasPassword: z.boolean().optional(),
    })
    .refine((user) => Boolean(user.ssh_key) || Boolean(user.password), {
      message: 'a user needs an SSH key or a password',
      path: ['ssh_key'],
    })
    .refine((user) => user.hasPassword === undefined, {
      message: 'hasPassword is read-only and is never sent',
      path: ['hasPassword'],
    });

  /** The spec's `minItems: 1` on each list: leave a list out rather than send it empty. */
  const serviceNames = z.array(z.string()).min(1);

  const servicesSchema = z.strictObject({
    enabled: serviceNames.optional(),
    disabled: serviceNames.optional(),
    masked: serviceNames.optional(),
  });

  const firewallSchema = z.strictObject({
    ports: z.array(z.string()).optional(),
    services: z
      .strictObject({ enabled: z.array(z.string()).optional(), disabled: z.array(z.string()).optional() })
      .optional(),
  });

  const ignitionSchema = z.strictObject({
    embedded: z.strictObject({ config: z.string() }).optional(),
    firstboot: z.strictObject({ url: z.string() }).optional(),
  });

  /** Registration with Ansible Automation Platform; `host_config_key` lets its holder call back, so is a secret. */
  const aapRegistrationSchema = z.strictObject({
    ansible_callback_url: z.string(),
    host_config_key: z.string(),
    tls_certificate_authority: z.string().optional(),
    skip_tls_verification: z.boolean().optional(),
  });

  return { composeUserSchema, servicesSchema, firewallSchema, ignitionSchema, aapRegistrationSchema };
}

/*
 * Built on first use, not as the bot starts: the few hundred schemas of this file took 0.8 MB of heap, which an idle bot
 * held for nothing; it needs them only when it sends a build.
 */
function buildSchemas() {
  const { uploadRequestSchema, imageRequestSchema } = imageRequestSchemas();
  const content = contentSchemas();
  const storage = storageSchemas();
  const system = systemSchemas();

  const customizationsSchema = z.strictObject({
    containers: z.array(content.containerSchema).optional(),
    directories: z.array(content.directorySchema).optional(),
    files: z.array(content.fileSchema).optional(),
    subscription: content.subscriptionSchema.optional(),
    /** Names, or `@group` for a package group; the service takes up to 10,000. */
    packages: z.array(z.string()).max(10_000).optional(),
    enabled_modules: z.array(content.moduleSchema).optional(),
    payload_repositories: z.array(content.payloadRepositorySchema).optional(),
    custom_repositories: z.array(content.customRepositorySchema).optional(),
    openscap: content.openScapSchema.optional(),
    filesystem: z.array(storage.filesystemSchema).max(128).optional(),
    disk: storage.diskSchema.optional(),
    users: z.array(system.composeUserSchema).optional(),
    services: system.servicesSchema.optional(),
    hostname: z.string().optional(),
    kernel: z.strictObject({ name: z.string().optional(), append: z.string().optional() }).optional(),
    groups: z.array(z.strictObject({ name: z.string(), gid: z.number().int().optional() })).optional(),
    timezone: z
      .strictObject({ timezone: z.string().optional(), ntpservers: z.array(z.string()).optional() })
      .optional(),
    locale: z.strictObject({ languages: z.array(z.string()).optional(), keyboard: z.string().optional() }).optional(),
    firewall: system.firewallSchema.optional(),
    installation_device: z.string().optional(),
    fdo: z
      .strictObject({
        manufacturing_server_url: z.string().optional(),
        diun_pub_key_insecure: z.string().optional(),
        diun_pub_key_hash: z.string().optional(),
        diun_pub_key_root_certs: z.string().optional(),
      })
      .optional(),
    ignition: system.ignitionSchema.optional(),
    partitioning_mode: z.enum(['raw', 'lvm', 'auto-lvm']).optional(),
    fips: z.strictObject({ enabled: z.boolean().optional() }).optional(),
    installer: z
      .strictObject({ unattended: z.boolean().optional(), 'sudo-nopasswd': z.array(z.string()).optional() })
      .optional(),
    cacerts: z.strictObject({ pem_certs: z.array(z.string()) }).optional(),
    aap_registration: system.aapRegistrationSchema.optional(),
  });

  const composeRequestSchema = z.strictObject({
    // Required in practice although the spec marks it optional; the value must be one the account may build.
    distribution: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
    image_name: z.string().min(1).max(100).optional(),
    image_description: z.string().max(250).optional(),
    client_id: z.literal('api').optional(),
    image_requests: z.tuple([imageRequestSchema]),
    customizations: customizationsSchema.optional(),
  });

  return {
    uploadRequestSchema,
    imageRequestSchema,
    composeUserSchema: system.composeUserSchema,
    customizationsSchema,
    composeRequestSchema,
  };
}

let built: ReturnType<typeof buildSchemas> | undefined;
const schemas = () => (built ??= buildSchemas());

export const uploadRequestSchema = z.lazy(() => schemas().uploadRequestSchema);
export type UploadRequest = z.infer<typeof uploadRequestSchema>;
export type UploadType = UploadRequest['type'];

export const imageRequestSchema = z.lazy(() => schemas().imageRequestSchema);
export type ImageRequest = z.infer<typeof imageRequestSchema>;

export const composeUserSchema = z.lazy(() => schemas().composeUserSchema);
export type ComposeUser = z.infer<typeof composeUserSchema>;

export const customizationsSchema = z.lazy(() => schemas().customizationsSchema);
export type Customizations = z.infer<typeof customizationsSchema>;

export const composeRequestSchema = z.lazy(() => schemas().composeRequestSchema);
export type ComposeRequest = z.infer<typeof composeRequestSchema>;
