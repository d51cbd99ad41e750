import { composeRequestSchema } from '../../src/imageBuilder/requestSchema';
import { buildComposeRequest, commonFields, validateOrder } from '../../src/providers/common';
import { getProvider, type Provider } from '../../src/providers';
import { REGISTRATION_FIELD_ID, registrationFormValue } from '../../src/providers/registration';
import { checkComposeRequest, describeWithSpec } from '../support/openapi';

const aws = getProvider('aws') as Provider;
const REGISTRATION = { organization: 12345678, activationKey: 'test-activation-key' };
const DISTRIBUTIONS = ['rhel-10', 'rhel-9', 'centos-10', 'fedora-42'];
const SHARE = { share_with_accounts: '123456789012' };

function order(values: Record<string, string | undefined>, configured = true) {
  return validateOrder(
    aws,
    { ...SHARE, ...values },
    { distributions: DISTRIBUTIONS, registrationConfigured: configured },
  );
}

function bodyOf(values: Record<string, string | undefined>, configured = true) {
  const validated = order(values, configured);
  if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
  const { distribution, architecture, options, register } = validated.value;
  return buildComposeRequest({
    provider: aws,
    distribution,
    architecture,
    options,
    ...(register ? { registration: REGISTRATION } : {}),
  });
}

describe('the "Register with Red Hat" box', () => {
  const fieldIds = (registration: boolean, distributions: string[]) =>
    commonFields(aws, {
      distributions: distributions.map((name) => ({ name })),
      ...(registration ? { registration: 'optional' as const } : {}),
    }).map((f) => f.id);

  it('is offered, ticked, when registration is set up and a RHEL distribution can be chosen', () => {
    const field = commonFields(aws, { distributions: [{ name: 'rhel-10' }], registration: 'optional' }).find(
      (f) => f.id === REGISTRATION_FIELD_ID,
    );
    expect(field).toMatchObject({ kind: 'checkbox', label: 'Register with Red Hat', default: 'yes' });
    expect(field?.hint).toMatch(/RHEL only/);
  });

  it('is not offered without registration set up, nor when only CentOS and Fedora can be built', () => {
    expect(fieldIds(false, ['rhel-10'])).not.toContain(REGISTRATION_FIELD_ID);
    expect(fieldIds(true, ['centos-10', 'fedora-42'])).not.toContain(REGISTRATION_FIELD_ID);
  });
});

describe('reading the box', () => {
  it('registers a RHEL image when ticked or left to its default', () => {
    expect(order({ distribution: 'rhel-10', register: 'yes' })).toMatchObject({ ok: true, value: { register: true } });
    expect(order({ distribution: 'rhel-10' })).toMatchObject({ ok: true, value: { register: true } });
  });

  it('does not register when unticked, for CentOS or Fedora, or without registration set up', () => {
    for (const values of [
      { distribution: 'rhel-10', register: 'no' },
      { distribution: 'centos-10', register: 'yes' },
      { distribution: 'fedora-42' },
    ]) {
      const validated = order(values);
      expect(validated.ok && validated.value.register).toBeFalsy();
    }
    const unconfigured = order({ distribution: 'rhel-10' }, false);
    expect(unconfigured.ok && unconfigured.value.register).toBeFalsy();
  });

  it('refuses a ticked box when the bot has no registration set up (a form from before it was removed)', () => {
    expect(order({ distribution: 'rhel-10', register: 'yes' }, false)).toEqual({
      ok: false,
      errors: { [REGISTRATION_FIELD_ID]: expect.stringMatching(/no registration with Red Hat set up/) },
    });
  });
});

describeWithSpec('the compose body of a registered image', () => {
  it('carries the subscription with the console defaults, valid against the spec and the client schema', () => {
    const body = bodyOf({ distribution: 'rhel-10' });
    expect(body.customizations).toEqual({
      subscription: {
        organization: 12345678,
        'activation-key': 'test-activation-key',
        'server-url': 'subscription.rhsm.redhat.com',
        'base-url': 'https://cdn.redhat.com/',
        insights: true,
        rhc: true,
      },
    });
    expect(checkComposeRequest(JSON.parse(JSON.stringify(body))).errors).toEqual([]);
    expect(composeRequestSchema.safeParse(body).success).toBe(true);
  });

  it('has no customizations when the image is not registered', () => {
    for (const values of [{ distribution: 'rhel-10', register: 'no' }, { distribution: 'centos-10' }]) {
      const body = bodyOf(values);
      expect(body).not.toHaveProperty('customizations');
      expect(checkComposeRequest(body).valid).toBe(true);
    }
  });
});

describe('a rebuild of a stored request', () => {
  it('ticks the box as the request had it, and leaves it out for distributions that cannot register', () => {
    expect(registrationFormValue(bodyOf({ distribution: 'rhel-10' }))).toEqual({ register: 'yes' });
    expect(registrationFormValue(bodyOf({ distribution: 'rhel-10', register: 'no' }))).toEqual({ register: 'no' });
    expect(registrationFormValue(bodyOf({ distribution: 'centos-10' }))).toEqual({});
  });
});
