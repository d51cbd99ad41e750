import { describeDownload, DOWNLOAD_LIFETIME_DAYS } from './download';
import type { Provider } from './types';

/** A qcow2 disk to download; Image Builder keeps it in its own storage, so there is nothing to configure. */
export type GuestImageOptions = Record<string, never>;

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
