import { unknownPackagesMessage, type PackageChecker } from '../imageBuilder/packageCheck';
import { PACKAGES_FIELD_ID, type Architecture } from '../providers';

/*
 * The extra packages of a form, looked up before it closes (imageBuilder/packageCheck.ts says what passes
 * unchecked: groups, a distribution without a package list, a lookup that could not finish in time).
 */

/** The message for the packages field when a name is unknown, else undefined. */
export async function unknownPackagesError(
  checker: PackageChecker,
  order: { distribution: string; architecture: Architecture; packages: readonly string[] },
): Promise<Record<string, string> | undefined> {
  const { distribution, architecture, packages } = order;
  const result = await checker.check({ distribution, architecture, names: packages });
  if (result.kind !== 'unknown') return undefined;
  return { [PACKAGES_FIELD_ID]: unknownPackagesMessage(result.unknown, distribution) };
}
