/*
 * The shapes of the identifiers the bot reads and sends, written once: the provider forms, the policy file, the
 * slash command and the compose request schema all check against these, so none accepts what another refuses.
 */

/** A GUID (Azure tenant and subscription ids, Image Builder compose ids), in either case. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Image Builder names a compose by a GUID (a UUID). */
export const COMPOSE_ID = GUID;

/** A GUID in lower case, the form compared everywhere; the braces the Azure portal sometimes shows are dropped. */
export function canonicalGuid(text: string): string | undefined {
  const guid = text.replace(/^\{(.*)\}$/, '$1');
  return GUID.test(guid) ? guid.toLowerCase() : undefined;
}

/** An AWS account id: exactly 12 digits. */
export const AWS_ACCOUNT_ID = /^\d{12}$/;

// The AWS console shows account ids as 1234-5678-9012; people paste them that way.
const DASHED_AWS_ACCOUNT_ID = /^\d{4}-\d{4}-\d{4}$/;

/** The 12 digits of an AWS account id written plain or as the console shows it (1234-5678-9012); else undefined. */
export function canonicalAwsAccountId(text: string): string | undefined {
  const digits = DASHED_AWS_ACCOUNT_ID.test(text) ? text.replaceAll('-', '') : text;
  return AWS_ACCOUNT_ID.test(digits) ? digits : undefined;
}

const DOMAIN = String.raw`(?=[^:]{1,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}`;
const EMAIL = String.raw`[A-Za-z0-9._%+'-]+@` + DOMAIN;
/** An e-mail address (the value of a Google user:, group: or serviceAccount: principal). */
export const EMAIL_ONLY = new RegExp(`^${EMAIL}$`);
/** A DNS domain such as example.com (the value of a Google domain: principal). */
export const DOMAIN_ONLY = new RegExp(`^${DOMAIN}$`);
/** `user:`, `serviceAccount:`, `group:` with an email, or `domain:` with a domain — the forms GCP IAM accepts. */
export const GCP_PRINCIPAL = new RegExp(`^(?:(?:user|serviceAccount|group):${EMAIL}|domain:${DOMAIN})$`);
