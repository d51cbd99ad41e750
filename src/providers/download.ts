import { baseSummary, expiryOf, nameWords, slug, textOption } from './common';
import { shellCommand } from './shell';
import type { FinishedCompose, ResultDescription, ShareTarget, SuggestedCommand } from './types';

/*
 * The one description of a result Image Builder keeps in its own storage and offers as a link (upload types aws.s3
 * and oci.objectstorage): the link, when it stops working, a command that saves it under a safe name, and whatever
 * the target does with the file next. Every downloadable target and the download of an image type no target builds
 * are described here.
 */

/** How long a download link from Image Builder works, from the compose's created_at. */
export const DOWNLOAD_LIFETIME_DAYS = 7;

/** The link and the name the download command saves it under. */
export interface DownloadedFile {
  url: string;
  /** The file's name without its extension, e.g. "rhel-9-x86_64-1a2b3c4d": also a name for what is made of it. */
  baseName: string;
  /** baseName and the extension. Both are made only of [A-Za-z0-9._-] and never start with '-'. */
  fileName: string;
}

/** What a downloadable image is called in its result, and what is done with the file. */
export interface DownloadKind {
  /** "Guest image", "vSphere OVA". */
  name: string;
  /** The file's format and extension ("qcow2", "tar.xz"); without one, the linked file's extension, if it has one. */
  format?: string;
  /** Other formats the service may build it in, taken from the link's extension (WSL's newer `.wsl`). */
  otherFormats?: readonly string[];
  /** The file name when the compose gives nothing to name it by. */
  fallbackName: string;
  /** Saving the file; curl in a POSIX shell unless the target's next steps run elsewhere (WSL: PowerShell). */
  download?: (file: DownloadedFile) => SuggestedCommand;
  /** What to do with the file once it is there (import it, boot it); nothing by default. */
  nextSteps?: (file: DownloadedFile, compose: FinishedCompose) => readonly SuggestedCommand[];
  /** Plain sentences about the file that are no command to paste. */
  notes?: (file: DownloadedFile) => readonly string[];
}

export function describeDownload(compose: FinishedCompose, kind: DownloadKind): ResultDescription {
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
  const format = formatOf(url, kind);
  const baseName = slug(nameWords(compose), FILE_NAME_CHARACTER, FILE_NAME_MAX_LENGTH) || kind.fallbackName;
  const file = { url, baseName, fileName: `${baseName}${format ? `.${format}` : ''}` };
  const notes = kind.notes?.(file) ?? [];
  return {
    headline: `${kind.name}${format ? ` (${format})` : ''} ready to download`,
    summary,
    downloadUrl: url,
    launchCommands: kind.nextSteps?.(file, compose) ?? [],
    copyCommands: [(kind.download ?? curlDownload)(file)],
    ...(notes.length > 0 ? { notes } : {}),
    ...expiry,
  };
}

const curlDownload = (file: DownloadedFile): SuggestedCommand => ({
  label: 'Download it',
  command: shellCommand('curl', ['-fLo', file.fileName, file.url]),
});

/**
 * The download of an image type no target of the bot builds (network-installer, pxe-tar-xz, edge types…: the console
 * orders them), named by its image type and saved with the extension of the linked file, if it has one.
 */
export function describeOtherDownload(compose: FinishedCompose, imageType: string): ResultDescription {
  const name = slug([imageType], FILE_NAME_CHARACTER, FILE_NAME_MAX_LENGTH) || 'image';
  return describeDownload(compose, { name: `${name} image`, fallbackName: name });
}

// The file's extension, one or two parts each starting with a letter: "disk.vmdk" → vmdk, "pxe.tar.xz" → tar.xz.
const FILE_EXTENSION = /\.([A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z][A-Za-z0-9]{0,9})?)$/;

function formatOf(url: string, kind: Pick<DownloadKind, 'format' | 'otherFormats'>): string | undefined {
  const linked = FILE_EXTENSION.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  if (kind.format === undefined) return linked;
  return linked !== undefined && kind.otherFormats?.includes(linked) ? linked : kind.format;
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

/**
 * What every target whose image waits in Image Builder's storage shares: the upload (of `uploadType`, with no
 * options: the service keeps the file and answers with a link), a lifetime, and nobody it is handed to. With
 * nothing to fill in (`fields` left to a target that has some), there is nothing to check or bring back.
 */
export function storedByImageBuilder(uploadType: 'aws.s3' | 'oci.objectstorage') {
  return {
    uploadType,
    lifetimeDays: DOWNLOAD_LIFETIME_DAYS,
    fields: [],
    validate: () => ({ ok: true as const, value: {} }),
    uploadRequest: () => ({ type: uploadType, options: {} }),
    formValues: () => ({}),
    shareSummary: (): string => `downloadable for ${DOWNLOAD_LIFETIME_DAYS} days`,
    // Offered as a link to the requester only; no outside account is given the image, so the policy has nothing to check.
    shareTargets: (): ShareTarget[] => [],
  };
}
