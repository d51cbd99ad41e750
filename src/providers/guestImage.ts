import { baseSummary, expiryOf, nameWords, slug, textOption } from './common';
import { shellCommand } from './shell';
import type { FinishedCompose, Provider, ResultDescription } from './types';

/** A qcow2 disk to download; Image Builder keeps it in its own storage, so there is nothing to configure. */
export type GuestImageOptions = Record<string, never>;

const LIFETIME_DAYS = 7;

export const guestImage: Provider<GuestImageOptions> = {
  id: 'guest-image',
  label: 'Guest image (qcow2 download)',
  imageType: 'guest-image',
  uploadType: 'aws.s3',
  architectures: ['x86_64', 'aarch64'],
  lifetimeDays: LIFETIME_DAYS,
  fields: [],

  validate() {
    return { ok: true, value: {} };
  },

  uploadRequest() {
    return { type: 'aws.s3', options: {} };
  },

  shareSummary() {
    return `downloadable for ${LIFETIME_DAYS} days`;
  },

  shareTargets() {
    // Stored by Image Builder and offered as a link to the requester; no outside account is given the image.
    return [];
  },

  formValues() {
    return {};
  },

  describeResult(compose) {
    return describeDownload(compose);
  },
};

function describeDownload(compose: FinishedCompose): ResultDescription {
  const url = downloadableUrl(textOption(compose.upload.options, 'url'));
  const summary = baseSummary(compose);
  const expiry = expiryOf(compose, LIFETIME_DAYS);
  if (!url) {
    return {
      headline: 'Guest image built, but Image Builder did not report a download link',
      summary,
      launchCommands: [],
      copyCommands: [],
      ...expiry,
    };
  }
  const fileName = `${slug(nameWords(compose), FILE_NAME_CHARACTER, FILE_NAME_MAX_LENGTH) || 'guest-image'}.qcow2`;
  return {
    headline: 'Guest image (qcow2) ready to download',
    summary,
    downloadUrl: url,
    launchCommands: [],
    copyCommands: [{ label: 'Download it', command: shellCommand('curl', ['-fLo', fileName, url]) }],
    ...expiry,
  };
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
