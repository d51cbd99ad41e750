import {
  CHECKBOX_TICKED,
  type ComposeCustomizations,
  type FieldSpec,
  type RawValues,
  type Registration,
  type SubscriptionBody,
} from './types';

/*
 * Registration with Red Hat at first boot, as the web console does it: RHEL only (CentOS and Fedora have no
 * subscription to register), on by default when the bot is set up with an organization and activation key, through
 * rhc, which always turns Insights on too. The key is the configuration's and never appears in the form.
 */

export const REGISTRATION_FIELD_ID = 'register';

// The values the console sends for Red Hat's own subscription service (image-builder-frontend).
export const SUBSCRIPTION_SERVER_URL = 'subscription.rhsm.redhat.com';
export const SUBSCRIPTION_BASE_URL = 'https://cdn.redhat.com/';

/** Whether images of this distribution can be registered: RHEL ones. */
export const registrable = (distribution: string): boolean => /^rhel-/i.test(distribution);

/**
 * How the form offers registration: `optional`, the requester chooses; `required`, the channel's policy asks for it
 * (the box stays, ticked, and the submission is refused unticked). Where the policy forbids it, it is not offered.
 */
export type RegistrationOffer = 'optional' | 'required';

/** The "Register with Red Hat" checkbox, ticked by default. */
export function registrationField(offer: RegistrationOffer = 'optional'): FieldSpec {
  const required = offer === 'required' ? ' Required for requests from here by the bot’s policy.' : '';
  return {
    id: REGISTRATION_FIELD_ID,
    label: 'Register with Red Hat',
    hint: `RHEL only: the instance registers itself at first boot (rhc, with Insights). CentOS and Fedora are not registered.${required}`,
    kind: 'checkbox',
    required: false,
    default: CHECKBOX_TICKED,
    options: [{ value: CHECKBOX_TICKED, label: 'Register at first boot with our organization' }],
    cli: { flag: 'register', description: 'do not register a RHEL image with Red Hat at first boot' },
  };
}

export type RegistrationRead = { ok: true; value: boolean } | { ok: false; error: string };

/**
 * Whether this image is to be registered: ticked (or, not given, `byDefault`: where it is set up and not forbidden)
 * for a RHEL distribution, when the bot has registration set up. Ticked without it (a form opened before the setting
 * was removed) is refused, not ignored.
 */
export function readRegistration(
  raw: RawValues,
  distribution: string,
  configured: boolean,
  byDefault: boolean = configured,
): RegistrationRead {
  const given: unknown = Object.hasOwn(raw, REGISTRATION_FIELD_ID) ? raw[REGISTRATION_FIELD_ID] : undefined;
  const values = (Array.isArray(given) ? given : [given]).filter((v): v is string => typeof v === 'string');
  const ticked = values.length === 0 ? byDefault : values.every((v) => v.trim().toLowerCase() === CHECKBOX_TICKED);
  if (!ticked || !registrable(distribution)) return { ok: true, value: false };
  if (!configured) {
    return {
      ok: false,
      error: 'This bot has no registration with Red Hat set up, so the image cannot be registered; untick the box.',
    };
  }
  return { ok: true, value: true };
}

/** The spec's Subscription with the console's defaults: rhc on, and Insights with it. */
export function subscriptionOf(registration: Registration): SubscriptionBody {
  return {
    organization: registration.organization,
    'activation-key': registration.activationKey,
    'server-url': SUBSCRIPTION_SERVER_URL,
    'base-url': SUBSCRIPTION_BASE_URL,
    insights: true,
    rhc: true,
  };
}

/** A compose request's registration, as far as these functions read and write it. */
interface Registering {
  customizations?: { subscription?: object } | null;
}

/**
 * A compose request as the store keeps it: its subscription without the activation key, the one secret in it, which
 * stays in the configuration; withActivationKey puts the key set up then back as the request is sent.
 */
export function withoutActivationKey<Body extends Registering>(body: Body): Body {
  const subscription = body.customizations?.subscription;
  if (!subscription || !('activation-key' in subscription)) return body;
  const { 'activation-key': _key, ...kept } = subscription;
  return { ...body, customizations: { ...body.customizations, subscription: kept } };
}

/**
 * A stored compose request made ready to send: a subscription it asks for is the registration set up now (its
 * organization and key, rotated or not since it was asked for); undefined when it asks to register and none is.
 */
export function withActivationKey<Body extends Registering>(
  body: Body,
  registration: Registration | undefined,
): Body | undefined {
  if (!body.customizations?.subscription) return body;
  if (!registration) return undefined;
  return { ...body, customizations: { ...body.customizations, subscription: subscriptionOf(registration) } };
}

/** This part of `customizations`: the subscription, when the image is to be registered. */
export function registrationCustomizations(registration: Registration | undefined): ComposeCustomizations {
  return registration ? { subscription: subscriptionOf(registration) } : {};
}

/** The checkbox as a stored compose request had it, for a rebuild; nothing for a distribution that cannot register. */
export function registrationFormValue(body: {
  distribution?: string;
  customizations?: { subscription?: unknown };
}): Record<string, string> {
  if (!body.distribution || !registrable(body.distribution)) return {};
  return { [REGISTRATION_FIELD_ID]: body.customizations?.subscription ? CHECKBOX_TICKED : 'no' };
}
