import { DOMAIN_ONLY, EMAIL_ONLY } from '../shared/ids';

/*
 * Google IAM principals, as the GCP target reads what people type and as the policy file lists the ones allowed:
 * one definition, so both agree on what a principal is.
 */

/** By the kind in lower case, since people type ServiceAccount: or User: too. */
const PRINCIPAL_KINDS: ReadonlyMap<string, { canonical: string; value: RegExp }> = new Map([
  ['user', { canonical: 'user', value: EMAIL_ONLY }],
  ['serviceaccount', { canonical: 'serviceAccount', value: EMAIL_ONLY }],
  ['group', { canonical: 'group', value: EMAIL_ONLY }],
  ['domain', { canonical: 'domain', value: DOMAIN_ONLY }],
]);

/**
 * The principal with its kind spelled as IAM wants it (serviceAccount, not ServiceAccount), or undefined.
 * The sharing policy reads its gcp_principals with this too, so both sides compare the same forms.
 */
export function canonicalPrincipal(entry: string): string | undefined {
  const colon = entry.indexOf(':');
  if (colon < 0) return undefined;
  const kind = PRINCIPAL_KINDS.get(entry.slice(0, colon).toLowerCase());
  const value = entry.slice(colon + 1);
  return kind && kind.value.test(value) ? `${kind.canonical}:${value}` : undefined;
}
