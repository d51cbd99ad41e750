/*
 * Google IAM principals, as the GCP target reads what people type and as the policy file lists the ones allowed:
 * one definition, so both agree on what a principal is.
 */

const DOMAIN = String.raw`(?=[^:]{1,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}`;
const EMAIL = String.raw`[A-Za-z0-9._%+'-]+@` + DOMAIN;
/** An e-mail address (the value of a user:, group: or serviceAccount: principal). */
export const EMAIL_ONLY = new RegExp(`^${EMAIL}$`);
/** A DNS domain such as example.com (the value of a domain: principal). */
export const DOMAIN_ONLY = new RegExp(`^${DOMAIN}$`);
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
