import { listInWords, quoted } from '../shared/text';
import { readList, type Read } from './read';
import type { FieldSpec, RawValues } from './types';

/*
 * "Extra packages": names to install into a plain image, `@name` for a package group, which become
 * `customizations.packages`. Here only what can be told from the text itself; whether the distribution has such a
 * package is asked of Image Builder at submission (imageBuilder/packageCheck.ts).
 */

export const PACKAGES_FIELD_ID = 'packages';

/** Few enough to be looked up at once (one request each, within the request budget's burst) in Slack's 3 seconds. */
export const MAX_EXTRA_PACKAGES = 10;
const MAX_NAME_LENGTH = 128;

// RPM names: letters, digits and . _ + -, starting with a letter or digit; a group id the same after its `@`.
const PACKAGE_NAME = /^@?[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export const packagesField: FieldSpec = {
  id: PACKAGES_FIELD_ID,
  label: 'Extra packages (optional)',
  hint: `Installed into the image. Names separated by spaces or commas, @name for a group; up to ${MAX_EXTRA_PACKAGES}.`,
  placeholder: 'vim-enhanced tmux @container-tools',
  kind: 'text',
  required: false,
  cli: { flag: 'package', description: 'package to install, @name for a group', repeatable: true },
};

/** Whether an entry names a package group (`@core`) rather than a package. */
export const isPackageGroup = (entry: string): boolean => entry.startsWith('@');

/** The entries of the field, each a well-formed package or group name, at most MAX_EXTRA_PACKAGES of them. */
export function readPackages(raw: RawValues): Read<string[]> {
  const read = readList(raw, PACKAGES_FIELD_ID);
  if (!read.ok) return read;
  const malformed = read.value.filter((name) => name.length > MAX_NAME_LENGTH || !PACKAGE_NAME.test(name));
  if (malformed.length > 0) {
    const shown = listInWords(malformed.slice(0, 3).map(quoted));
    const verb = malformed.length === 1 ? 'is not a package name' : 'are not package names';
    return {
      ok: false,
      error: `${shown} ${verb}: use letters, digits and . _ + - only, @ in front for a group.`,
    };
  }
  if (read.value.length > MAX_EXTRA_PACKAGES) {
    return {
      ok: false,
      error: `Give at most ${MAX_EXTRA_PACKAGES} packages here, not ${read.value.length}; build a blueprint for more.`,
    };
  }
  return read;
}

/** The field's value to pre-fill from a stored compose request's customizations (a rebuild). */
export function packagesFormValue(customizations: unknown): Record<string, string> {
  const packages = (customizations as { packages?: unknown } | undefined)?.packages;
  if (!Array.isArray(packages)) return {};
  const names = packages.filter((p): p is string => typeof p === 'string');
  return names.length > 0 ? { [PACKAGES_FIELD_ID]: names.join(' ') } : {};
}
