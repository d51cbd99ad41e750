/*
 * The contract every cloud target implements. Providers are pure: they turn what a person typed into upload
 * options, and a finished compose into something a person can act on. They know nothing of HTTP, Slack or storage,
 * so the request shapes below are declared structurally here rather than imported from the Image Builder client
 * (whose strict schemas still check every body before it is sent).
 */

export type Architecture = 'x86_64' | 'aarch64';
export const ARCHITECTURES: readonly Architecture[] = ['x86_64', 'aarch64'];

export interface FieldOption {
  value: string;
  label: string;
}

/** One input a provider needs. Plain data, so the Slack modal and the CLI both render from it. */
export interface FieldSpec {
  /** Key in RawValues, e.g. 'share_with_accounts'. */
  id: string;
  /** ≤ 48 characters; hint and placeholder ≤ 150 (Slack's limits, with room to spare). */
  label: string;
  hint?: string;
  placeholder?: string;
  /**
   * 'checkbox': one box, ticked when the value is CHECKBOX_TICKED; its CLI flag is `--no-<flag>`. 'multiselect': any
   * of `options`, read back as one value per line (so readList reads it like a typed list); its CLI flag repeats.
   */
  kind: 'text' | 'multiline' | 'select' | 'multiselect' | 'checkbox';
  required: boolean;
  default?: string;
  /** For kinds 'select' and 'multiselect'. */
  options?: readonly FieldOption[];
  /** For kind 'multiselect': how many may be chosen. */
  maxSelected?: number;
  /** flag 'share' renders as --share; repeatable flags arrive as arrays. */
  cli: { flag: string; description: string; repeatable?: boolean };
}

/** What a person entered, keyed by field id. Repeated CLI flags arrive as arrays. */
export type RawValues = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Either the parsed value or one message per field id that a person can act on. */
export type Validation<T> = { ok: true; value: T } | { ok: false; errors: Record<string, string> };

/** `upload_request` of an image request. */
export interface UploadRequestBody {
  type: string;
  options: Record<string, unknown>;
}

/** The value of a ticked checkbox field; anything else (or nothing, from the form) is not ticked. */
export const CHECKBOX_TICKED = 'yes';

/** What an image registers with at first boot (the configuration's, never typed in Slack). */
export interface Registration {
  organization: number;
  /** A secret: carried to the service, never shown or logged. */
  activationKey: string;
}

/** The spec's Subscription: registration with Red Hat at first boot. */
export interface SubscriptionBody {
  organization: number;
  'activation-key': string;
  'server-url': string;
  'base-url': string;
  insights: boolean;
  rhc: boolean;
}

/** The parts of `customizations` the bot's own forms set. */
export interface ComposeCustomizations {
  subscription?: SubscriptionBody;
  users?: { name: string; ssh_key: string; groups: string[] }[];
  /** Package names and `@group` ids to install. */
  packages?: string[];
}

/** The body of POST /compose, exactly the keys we send (the service rejects unknown keys). */
export interface ComposeRequestBody {
  distribution: string;
  image_name?: string;
  image_description?: string;
  client_id: 'api';
  image_requests: [{ architecture: Architecture; image_type: string; upload_request: UploadRequestBody }];
  customizations?: ComposeCustomizations;
}

/**
 * What a target keeps of its form for the commands it suggests and nothing else: the EC2 key pair to launch with, the
 * regions to copy an AMI to. The compose request has no place for these (and the service refuses unknown keys), so
 * they are stored beside it with the build and handed back, read as leniently as the upload options.
 */
export type LaunchSettings = Readonly<Record<string, unknown>>;

/** A compose whose status is `success`, with what the service told us about it. */
export interface FinishedCompose {
  composeId: string;
  distribution: string;
  architecture: Architecture;
  /** Top-level `image_name` of the compose request, when the requester gave one. */
  imageName?: string;
  /** The successful `upload_status`; options are read leniently, by upload type. */
  upload: { type: string; options: Readonly<Record<string, unknown>> };
  /** `upload_request.options` as the service returns them in the compose's `request`. */
  requestUploadOptions: Readonly<Record<string, unknown>>;
  /** `created_at` from GET /composes, when known. */
  createdAt?: Date;
  /** When we submitted it: the fallback for expiry. */
  submittedAt: Date;
  /** The request carried `customizations.subscription`: the instance registers itself at first boot. */
  registersAtFirstBoot?: boolean;
  /** The launch settings stored with the build, when the bot built it; none for a compose made elsewhere. */
  launchSettings?: LaunchSettings;
  /** The request's image_type, when it gave one: which of a target's image types was built (vsphere: OVA or VMDK). */
  imageType?: string;
}

export interface SummaryItem {
  label: string;
  value: string;
  /** When the value lists entries (accounts, principals): them, so a view short of room can show whole ones. */
  items?: readonly string[];
}

export interface SuggestedCommand {
  label: string;
  /** A complete shell command: no placeholders, every outside value quoted. */
  command: string;
}

export interface ResultDescription {
  /** e.g. "AMI ami-0abc in us-east-1". */
  headline: string;
  summary: readonly SummaryItem[];
  consoleUrl?: string;
  /** For downloadable images. */
  downloadUrl?: string;
  launchCommands: readonly SuggestedCommand[];
  copyCommands: readonly SuggestedCommand[];
  /** Plain sentences after the commands, for a next step that is no command to paste (writing an ISO to a USB stick). */
  notes?: readonly string[];
  /** When the service deletes the image (or the download link stops working). */
  expiresAt?: Date;
  lifetimeDays?: number;
  /**
   * Built more than this many days ago, longer than its lifetime, so deleted already: on a date not known, as the
   * service's list of recent composes, where created_at is read, no longer has it.
   */
  builtMoreThanDaysAgo?: number;
}

/** What the suggested launch commands use; config may override each value. */
export interface LaunchDefaults {
  aws: { instanceType: Readonly<Record<Architecture, string>> };
  gcp: { machineType: Readonly<Record<Architecture, string>>; zone: Readonly<Record<Architecture, string>> };
  azure: { adminUsername: string };
}

export const DEFAULT_LAUNCH_DEFAULTS: LaunchDefaults = {
  aws: { instanceType: { x86_64: 't3.micro', aarch64: 't4g.micro' } },
  gcp: {
    machineType: { x86_64: 'e2-medium', aarch64: 't2a-standard-1' },
    zone: {
      x86_64: 'us-east4-a',
      // Arm (T2A) machines exist only in a few zones (us-central1-a/b/f, europe-west4, asia-southeast1); not us-east4.
      aarch64: 'us-central1-a',
    },
  },
  azure: { adminUsername: 'azureuser' },
};

/**
 * Someone outside the requester's reach who gains the image: an account, subscription or principal it is shared with
 * or uploaded to. The policy checks these per channel (sharing an image hands it out); fieldId names the input the
 * value came from, so a refusal is shown next to it.
 */
export interface ShareTarget {
  kind: 'aws-account' | 'azure-subscription' | 'gcp-principal';
  /** As validated: a 12-digit account id, a lower-case subscription GUID, or an IAM principal such as group:ops@example.com. */
  value: string;
  fieldId: string;
}

/**
 * How sentences name a target's images, each form written out rather than pieced together from the label, so that
 * every sentence reads well ("Build an Amazon Web Services image", "New qcow2 guest image"); the sentences are
 * tested for every target in test/providers/wording.test.ts.
 */
export interface ImageWording {
  /** One image, after "New" or the article: "Amazon Web Services image", "qcow2 guest image". */
  one: string;
  /** The article that goes before `one`. */
  article: 'a' | 'an';
  /** Several images: "Amazon Web Services images". */
  many: string;
  /** Where the image ends up, after "image": on (preposition) Amazon Web Services (place). */
  destination: Destination;
}

/** "on Amazon Web Services", "to download as qcow2": the place is what a message may set in bold. */
export interface Destination {
  preposition: string;
  place: string;
}

export interface Provider<Options = unknown> {
  /** 'aws', 'guest-image', 'vsphere', …; also the command word (/image-builder aws). */
  id: string;
  /** The target on its own, as in a list: 'Amazon Web Services', 'Guest image (qcow2 download)'. */
  label: string;
  /** Its images in a sentence. */
  image: ImageWording;
  /** The image type it builds; with imageTypeFor, the one built when the form leaves the choice alone. */
  imageType: string;
  /**
   * Other image types that are this target's: older names of imageType the service still accepts and may echo back
   * (ami, vhd), or one a form choice builds instead (vsphere's bare VMDK, `vsphere`).
   */
  imageTypeAliases?: readonly string[];
  /** The image type these options build, when a form choice picks it (vSphere: OVA or VMDK); imageType otherwise. */
  imageTypeFor?(options: Options): string;
  uploadType: string;
  /** What it can build at all; the service may offer fewer for a given distribution. */
  architectures: readonly Architecture[];
  /** Days the service keeps the result after the build; none when it lives in the user's own account. */
  lifetimeDays?: number;
  fields: readonly FieldSpec[];
  validate(raw: RawValues): Validation<Options>;
  uploadRequest(options: Options): UploadRequestBody;
  /** What of the options only the suggested commands use, kept with the build; left out when a target has none. */
  launchSettings?(options: Options): Record<string, unknown>;
  /** For display, e.g. "shared with AWS accounts 123456789012, 210987654321"; at most SHARE_SUMMARY_MAX_LENGTH long. */
  shareSummary(options: Options): string;
  /**
   * Everyone the image is handed to, for the sharing policy. Required rather than optional so that a new target
   * cannot skip the export check by forgetting it; a target that shares with nobody returns [].
   */
  shareTargets(options: Options): ShareTarget[];
  /**
   * The form's values (by field id) for upload options as sent in a compose request: the Rebuild button pre-fills
   * the form with them, with the build's launch settings, and with the image type it built (vSphere's OVA or VMDK).
   * Lenient: options it does not recognise are left out, and the form validates again.
   */
  formValues(
    uploadOptions: Readonly<Record<string, unknown>>,
    launchSettings?: LaunchSettings,
    imageType?: string,
  ): Record<string, string>;
  describeResult(compose: FinishedCompose, launch: LaunchDefaults): ResultDescription;
}

/** A share summary is at most this long: one line of a Slack message shows it whole. */
export const SHARE_SUMMARY_MAX_LENGTH = 1000;
