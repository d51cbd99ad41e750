export { createImageBuilderClient } from './client';
export type {
  ComposesPage,
  CredentialsHealth,
  ImageBuilderClient,
  ImageBuilderClientOptions,
  Readiness,
} from './client';
export type { ImageBuilderAuth } from './auth';
export { ImageBuilderError, isImageBuilderError } from './errors';
export type { ImageBuilderErrorKind } from './errors';
export { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRY } from './http';
export type { ImageBuilderLogger, RetryOptions } from './http';
export {
  architecturesResponseSchema,
  composeErrorLines,
  composesItemSchema,
  composeStatusSchema,
  imageStatusSchema,
  storedComposeRequestSchema,
  uploadStatusSchema,
  parseServiceTimestamp,
  parseUploadResult,
} from './responseSchemas';
export type {
  ArchitectureItem,
  ComposesItem,
  ComposesResponse,
  ComposeStatus,
  ComposeStatusError,
  Distribution,
  ImageStatus,
  Progress,
  StoredComposeRequest,
  UploadResult,
  UploadStatus,
} from './responseSchemas';
export * from './requestSchema';
export {
  blueprintComposeRequestSchema,
  blueprintItemSchema,
  blueprintResponseSchema,
  blueprintsResponseSchema,
  IMAGE_TYPES,
} from './blueprintSchemas';
export type {
  BlueprintComposeRequest,
  BlueprintCustomizations,
  BlueprintDetail,
  BlueprintImageRequest,
  BlueprintItem,
  BlueprintLint,
  BlueprintLintItem,
  BlueprintUser,
  ImageType,
} from './blueprintSchemas';
export {
  BlueprintComposeError,
  composeRequestFromBlueprint,
  isBlueprintComposeError,
  passwordOnlyUsers,
} from './blueprintCompose';
export type { BlueprintComposeErrorKind } from './blueprintCompose';
export { createPackageChecker, PACKAGE_CHECK_DEADLINE_MS, unknownPackagesMessage } from './packageCheck';
export type { PackageCheck, PackageChecker, UnknownPackage } from './packageCheck';
