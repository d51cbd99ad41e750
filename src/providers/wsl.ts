import { describeDownload, storedByImageBuilder, type DownloadedFile } from './download';
import { powerShellQuote } from './powerShell';
import type { Provider, SuggestedCommand } from './types';

/** A root file system for the Windows Subsystem for Linux (image type wsl); there is nothing to configure. */
export type WslOptions = Record<string, never>;

export const wsl: Provider<WslOptions> = {
  id: 'wsl',
  label: 'Windows Subsystem for Linux (WSL download)',
  image: {
    one: 'WSL image',
    article: 'a',
    many: 'WSL images',
    destination: { preposition: 'to download for', place: 'WSL' },
  },
  imageType: 'wsl',
  architectures: ['x86_64', 'aarch64'],
  ...storedByImageBuilder('aws.s3'),

  describeResult(compose) {
    return describeDownload(compose, {
      name: 'WSL image',
      format: 'tar.gz',
      // Newer releases build the same archive named for WSL's own `wsl --install --from-file`.
      otherFormats: ['wsl'],
      fallbackName: 'wsl',
      download: downloadInPowerShell,
      nextSteps: importIntoWsl,
    });
  },
};

/*
 * These commands run in PowerShell on Windows, not in a POSIX shell, so every value is quoted for PowerShell
 * (powerShellQuote). curl.exe is named whole because `curl` alone is PowerShell's alias of Invoke-WebRequest.
 */

const downloadInPowerShell = (file: DownloadedFile): SuggestedCommand => ({
  label: 'Download it (in PowerShell)',
  command: `curl.exe -fLo ${powerShellQuote(file.fileName)} ${powerShellQuote(file.url)}`,
});

const importIntoWsl = (file: DownloadedFile): SuggestedCommand[] => [
  {
    label: 'Once downloaded, import it into WSL under your profile (in PowerShell)',
    command:
      `wsl --import ${powerShellQuote(file.baseName)} ` +
      `(Join-Path $env:USERPROFILE ${powerShellQuote(`WSL\\${file.baseName}`)}) ${powerShellQuote(file.fileName)}`,
  },
  { label: 'Then start it', command: `wsl --distribution ${powerShellQuote(file.baseName)}` },
];
