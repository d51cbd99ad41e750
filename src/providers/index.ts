import { aws } from './aws';
import { azure } from './azure';
import { gcp } from './gcp';
import { guestImage } from './guestImage';
import { installerIso } from './installerIso';
import { oci } from './oci';
import { vsphere } from './vsphere';
import { wsl } from './wsl';
import type { Provider } from './types';

/*
 * Every target the bot offers, in the order people see them. A new target is one file implementing Provider and
 * one line here; nothing else in the app names a provider.
 */
export const providers: readonly Provider[] = [aws, azure, gcp, guestImage, vsphere, installerIso, wsl, oci];

/** The provider for a command word such as `aws`, if there is one. */
export function getProvider(id: string): Provider | undefined {
  const wanted = id.trim().toLowerCase();
  return providers.find((p) => p.id === wanted);
}

/** The provider that built a compose, from its request's image_type (aliases included: ami is aws, vhd is azure). */
export function providerForImageType(imageType: string): Provider | undefined {
  return providers.find((p) => p.imageType === imageType || (p.imageTypeAliases ?? []).includes(imageType));
}

/**
 * Of `imageTypes` (a blueprint's saved ones), those that build this provider's image, each once and as written: the
 * service compares a blueprint's image types verbatim, so a saved `ami` must be asked for as `ami`.
 */
export function imageTypesBuilding(
  provider: Pick<Provider, 'imageType' | 'imageTypeAliases'>,
  imageTypes: readonly string[],
): string[] {
  const builds = new Set([provider.imageType, ...(provider.imageTypeAliases ?? [])]);
  return [...new Set(imageTypes.filter((type) => builds.has(type)))];
}

export type * from './types';
export { ARCHITECTURES, CHECKBOX_TICKED, DEFAULT_LAUNCH_DEFAULTS } from './types';
export {
  COMMON_FIELD_IDS,
  buildComposeRequest,
  commonFields,
  readLaunchSettings,
  validateCommon,
  validateOrder,
  type CommonContext,
  type CommonSelection,
  type ComposeRequestInput,
  type DistributionChoice,
  type Order,
  type OrderContext,
} from './common';
export { LOGIN_FIELD_IDS, loginFields, loginFormValues, loginUserOf, type Login } from './login';
export {
  isPackageGroup,
  MAX_EXTRA_PACKAGES,
  PACKAGES_FIELD_ID,
  packagesField,
  packagesFormValue,
  readPackages,
} from './packages';
export {
  architecturesBuilding,
  distributionBuilds,
  newestFirst,
  preferredDistribution,
  type ArchitecturesOf,
  type OfferedArchitecture,
} from './distributions';
export {
  REGISTRATION_FIELD_ID,
  registrable,
  registrationField,
  registrationFormValue,
  subscriptionOf,
  withActivationKey,
  withoutActivationKey,
  type RegistrationOffer,
} from './registration';
