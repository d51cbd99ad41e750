import { describeDownload, storedByImageBuilder, type DownloadedFile } from './download';
import { shellCommand } from './shell';
import type { FinishedCompose, Provider, SuggestedCommand } from './types';

/** A bootable installer ISO (image type image-installer) for bare metal; there is nothing to configure. */
export type InstallerIsoOptions = Record<string, never>;

export const installerIso: Provider<InstallerIsoOptions> = {
  id: 'iso',
  label: 'Installer ISO (bare metal)',
  image: {
    one: 'installer ISO',
    article: 'an',
    many: 'installer ISOs',
    destination: { preposition: 'to download as', place: 'an installer ISO' },
  },
  imageType: 'image-installer',
  architectures: ['x86_64', 'aarch64'],
  ...storedByImageBuilder('aws.s3'),

  describeResult(compose) {
    return describeDownload(compose, {
      name: 'Installer ISO',
      format: 'iso',
      fallbackName: 'installer',
      nextSteps: bootInVirtualMachine,
      notes: (file) => [
        // The device a stick gets differs on every machine and a wrong one is wiped, so this is no command to paste.
        `To install a machine, write ${file.fileName} to a USB stick (with Fedora Media Writer, or dd to the stick’s ` +
          'own device: everything on it is erased) and boot the machine from it.',
      ],
    });
  },
};

/** Trying the installer in a libvirt virtual machine first: the same ISO, booted from a virtual CD-ROM. */
const bootInVirtualMachine = (file: DownloadedFile, compose: FinishedCompose): SuggestedCommand[] => [
  {
    label: 'Once downloaded, boot it in a virtual machine to try it (libvirt’s virt-install)',
    command: shellCommand('virt-install', [
      ['--name', file.baseName],
      ['--arch', compose.architecture],
      ['--memory', '4096'],
      ['--vcpus', '2'],
      ['--disk', 'size=20'],
      ['--cdrom', file.fileName],
      // Read from the ISO; an installer it cannot name still boots rather than stopping virt-install.
      ['--os-variant', 'detect=on,require=off'],
    ]),
  },
];
