export {
  createPolicy,
  type ApprovalPolicy,
  DEFAULT_USERGROUP_CACHE_MS,
  type Decision,
  type Policy,
  type PolicyDependencies,
  type RegistrationAsked,
  type RequestCounts,
} from './policy';
export {
  loadPolicy,
  OPEN_POLICY,
  OPEN_POLICY_SETTING,
  parsePolicy,
  POLICY_FILE_MAX_BYTES,
  POLICY_MAX_ALIAS_COUNT,
  PolicyError,
  type PolicyErrorKind,
  type PolicySource,
} from './loadPolicy';
export { DEFAULT_APPROVAL_EXPIRY_HOURS } from './schema';
export type { ApprovalRules, PolicyDocument, PolicyLimits, RegistrationRule, Requesters, SharingRule } from './schema';
