import { describeDownload, storedByImageBuilder, type DownloadedFile } from './download';
import { shellCommand } from './shell';
import type { Provider, SuggestedCommand } from './types';

/** A QCOW2 image for Oracle Cloud Infrastructure (image type oci), kept in OCI object storage; nothing to configure. */
export type OciOptions = Record<string, never>;

export const oci: Provider<OciOptions> = {
  id: 'oci',
  label: 'Oracle Cloud Infrastructure (import from a link)',
  image: {
    one: 'Oracle Cloud image',
    article: 'an',
    many: 'Oracle Cloud images',
    destination: { preposition: 'to import into', place: 'Oracle Cloud' },
  },
  imageType: 'oci',
  architectures: ['x86_64'],
  // The service refuses oci with any other upload type (400 "Invalid image type for upload target").
  ...storedByImageBuilder('oci.objectstorage'),

  describeResult(compose) {
    return describeDownload(compose, {
      name: 'Oracle Cloud image',
      format: 'qcow2',
      fallbackName: 'oci-image',
      nextSteps: importIntoOci,
    });
  },
};

/**
 * The link is a pre-authenticated request OCI imports from directly. The compartment is the requester's and unknown
 * to the bot, so the command reads it from a variable of the requester's shell: our text, double-quoted so that the
 * shell expands it, never a value from outside.
 */
const importIntoOci = (file: DownloadedFile): SuggestedCommand[] => [
  {
    label: 'Import it into your tenancy (set OCI_COMPARTMENT_ID to the compartment’s OCID first)',
    command: `${shellCommand('oci', [
      'compute',
      'image',
      'import',
      'from-object-uri',
      ['--uri', file.url],
      ['--display-name', file.baseName],
      ['--source-image-type', 'QCOW2'],
    ])} --compartment-id "$OCI_COMPARTMENT_ID"`,
  },
];
