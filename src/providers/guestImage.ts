import { describeDownload, storedByImageBuilder } from './download';
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
  architectures: ['x86_64', 'aarch64'],
  ...storedByImageBuilder('aws.s3'),

  describeResult(compose) {
    return describeDownload(compose, { name: 'Guest image', format: 'qcow2', fallbackName: 'guest-image' });
  },
};
