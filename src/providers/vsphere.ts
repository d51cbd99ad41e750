import { readSingle } from './common';
import { describeDownload, storedByImageBuilder, type DownloadedFile } from './download';
import { shellCommand } from './shell';
import { quoted } from '../shared/text';
import type { Provider, SuggestedCommand } from './types';

/** OVA: a whole virtual machine to import (image type vsphere-ova); VMDK: a bare disk (image type vsphere). */
export interface VsphereOptions {
  format: 'ova' | 'vmdk';
}

const FORMAT_FIELD = 'vsphere_format';
const IMAGE_TYPES = { ova: 'vsphere-ova', vmdk: 'vsphere' } as const;
// What may be typed for each format: its name, or the service's image type.
const FORMAT_WORDS: ReadonlyMap<string, VsphereOptions['format']> = new Map([
  ['ova', 'ova'],
  ['vsphere-ova', 'ova'],
  ['vmdk', 'vmdk'],
  ['vsphere', 'vmdk'],
]);

export const vsphere: Provider<VsphereOptions> = {
  id: 'vsphere',
  label: 'VMware vSphere (OVA or VMDK download)',
  image: {
    one: 'VMware vSphere image',
    article: 'a',
    many: 'VMware vSphere images',
    destination: { preposition: 'to download for', place: 'VMware vSphere' },
  },
  imageType: IMAGE_TYPES.ova,
  imageTypeAliases: [IMAGE_TYPES.vmdk],
  architectures: ['x86_64'],
  ...storedByImageBuilder('aws.s3'),
  fields: [
    {
      id: FORMAT_FIELD,
      label: 'Format',
      hint: 'An OVA is a whole virtual machine to import; a VMDK is a bare disk to attach to one you make.',
      kind: 'select',
      required: true,
      default: 'ova',
      options: [
        { value: 'ova', label: 'OVA: a virtual machine (vsphere-ova)' },
        { value: 'vmdk', label: 'VMDK: a bare disk (vsphere)' },
      ],
      cli: { flag: 'format', description: 'ova (a virtual machine, the default) or vmdk (a bare disk)' },
    },
  ],

  validate(raw) {
    const read = readSingle(raw, FORMAT_FIELD);
    if (!read.ok) return { ok: false, errors: { [FORMAT_FIELD]: read.error } };
    const format = read.value === undefined ? 'ova' : FORMAT_WORDS.get(read.value.toLowerCase());
    if (!format) {
      return {
        ok: false,
        errors: { [FORMAT_FIELD]: `${quoted(read.value ?? '')} is not a format; choose ova or vmdk.` },
      };
    }
    return { ok: true, value: { format } };
  },

  imageTypeFor: (options) => IMAGE_TYPES[options.format],

  formValues(_uploadOptions, _launchSettings, imageType): Record<string, string> {
    const format = imageType === undefined ? undefined : FORMAT_WORDS.get(imageType);
    return format ? { [FORMAT_FIELD]: format } : {};
  },

  describeResult(compose) {
    if (compose.imageType === IMAGE_TYPES.vmdk) {
      return describeDownload(compose, {
        name: 'vSphere disk',
        format: 'vmdk',
        fallbackName: 'vsphere-disk',
        nextSteps: importDisk,
      });
    }
    return describeDownload(compose, {
      name: 'vSphere virtual machine',
      format: 'ova',
      fallbackName: 'vsphere-vm',
      nextSteps: importVirtualMachine,
    });
  },
};

// govc takes vCenter and where things go from GOVC_URL, GOVC_DATACENTER, GOVC_DATASTORE… in the environment.
const GOVC_SETTINGS = 'govc reads GOVC_URL, GOVC_DATASTORE and the other GOVC_* settings';

const importVirtualMachine = (file: DownloadedFile): SuggestedCommand[] => [
  {
    label: `Once downloaded, import it as a virtual machine (${GOVC_SETTINGS})`,
    command: shellCommand('govc', ['import.ova', ['-name', file.baseName], file.fileName]),
  },
];

const importDisk = (file: DownloadedFile): SuggestedCommand[] => [
  {
    label: `Once downloaded, upload the disk to a datastore and attach it to a new virtual machine (${GOVC_SETTINGS})`,
    command: shellCommand('govc', ['import.vmdk', file.fileName]),
  },
];
