import { baseSummary, expiryOf, nameWords, slug, textOption } from './common';
import { shellCommand } from './shell';
import type { FinishedCompose, Provider, ResultDescription } from './types';

/** A qcow2 disk to download; Image Builder keeps it in its own storage, so there is nothing to configure. */
export type GuestImageOptions = Record<string, never>;

/** How long a download link from Image Builder works, from the compose's created_at. */
export const DOWNLOAD_LIFETIME_DAYS = 7;

export const guestImage: Provider<GuestImageOptions> = {
  id: 'guest-image',
  label: 'Guest image (qcow2 download)',
  image: {
    one: 'qcow2 guest image',
    article: 'a',
    many: 'qcow2 guest images',
    destination: { preposition: 'to download as', place: 'qcow2' },
  },
  imageType: 'guest-image',
  uploadType: 'aws.s3',
  architectures: ['x86_64', 'aarch64'],
  lifetimeDays: DOWNLOAD_LIFETIME_DAYS,
  fields: [],

  validate() {
    return { ok: true, value: {} };
  },

  uploadRequest() {
    return { type: 'aws.s3', options: {} };
  },

  shareSummary() {
    return `downloadable for ${DOWNLOAD_LIFETIME_DAYS} days`;
  },

  shareTargets() {
    // Stored by Image Builder and offered as a link to the requester; no outside account is given the image.
    return [];
  },

  formValues() {
    return {};
  },

  describeResult(compose) {
    return describeDownload(compose, { name: 'Guest image', format: 'qcow2', fallbackName: 'guest-image' });
  },
};

/** What a downloadable image is called in its result, e.g. "Guest image" in qcow2, and what to name its file. */
interface DownloadKind {
  name: string;
  /** The file's format, which is also its extension ("qcow2", "tar.xz"), when known. */
  format?: string;
  /** The file name when the compose gives nothing to name it by. */
  fallbackName: string;
}

/**
 * A result Image Builder keeps in its own storage and offers as a link (upload types aws.s3 and oci.objectstorage):
 * the link, a curl command that saves it under a safe name, and the link's lifetime.
 */
function describeDownload(compose: FinishedCompose, kind: DownloadKind): ResultDescription {
  const url = downloadableUrl(textOption(compose.upload.options, 'url'));
  const summary = baseSummary(compose);
  const expiry = expiryOf(compose, DOWNLOAD_LIFETIME_DAYS);
  if (!url) {
    return {
      headline: `${kind.name} built, but Image Builder did not report a download link`,
      summary,
      launchCommands: [],
      copyCommands: [],
      ...expiry,
    };
  }
  const fileName = `${slug(nameWords(compose), FILE_NAME_CHARACTER, FILE_NAME_MAX_LENGTH) || kind.fallbackName}${kind.format ? `.${kind.format}` : ''}`;
  return {
    headline: `${kind.name}${kind.format ? ` (${kind.format})` : ''} ready to download`,
    summary,
    downloadUrl: url,
    launchCommands: [],
    copyCommands: [{ label: 'Download it', command: shellCommand('curl', ['-fLo', fileName, url]) }],
    ...expiry,
  };
}

// The file's extension, one or two parts each starting with a letter: "disk.vmdk" → vmdk, "pxe.tar.xz" → tar.xz.
const FILE_EXTENSION = /\.([A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z][A-Za-z0-9]{0,9})?)$/;

/**
 * The download of an image type no target of the bot builds (vsphere, image-installer, oci…: the console orders
 * them), named by its image type and saved with the extension of the linked file, if it has one.
 */
export function describeOtherDownload(compose: FinishedCompose, imageType: string): ResultDescription {
  const url = downloadableUrl(textOption(compose.upload.options, 'url'));
  const format = url ? FILE_EXTENSION.exec(new URL(url).pathname)?.[1]?.toLowerCase() : undefined;
  const name = slug([imageType], FILE_NAME_CHARACTER, FILE_NAME_MAX_LENGTH) || 'image';
  return describeDownload(compose, { name: `${name} image`, ...(format ? { format } : {}), fallbackName: name });
}

/**
 * Only a well-formed http(s) link is offered: anything else is no download link (and a value starting with '-' would
 * read as a curl option). It is used exactly as given because its signature covers the query string, so it must not
 * contain anything URL parsing would silently drop, such as line breaks.
 */
function downloadableUrl(value: string | undefined): string | undefined {
  if (!value || !/^https?:\/\//i.test(value) || /[\s\p{Cc}]/u.test(value)) return undefined;
  return URL.canParse(value) ? value : undefined;
}

const FILE_NAME_CHARACTER = /[A-Za-z0-9._-]/;
const FILE_NAME_MAX_LENGTH = 100;
