import type { ImageBuilderClient } from '../../src/imageBuilder';
import {
  BlueprintComposeError,
  composeRequestFromBlueprint,
  passwordOnlyUsers,
} from '../../src/imageBuilder/blueprintCompose';
import { blueprintResponseSchema, type BlueprintDetail } from '../../src/imageBuilder/blueprintSchemas';
import type { ImageRequest } from '../../src/imageBuilder/requestSchema';
import { clientOf, startFakeImageBuilder, type FakeImageBuilder } from '../fakes/imageBuilderService';
import { checkComposeRequest, describeWithSpec } from '../support/openapi';
import { blueprintDetail } from './blueprintBodies';

/*
 * A blueprint built with the requester's share targets becomes a POST /compose of its distribution and
 * customizations: every body valid against the spec, users sent with their keys and never a password, and a
 * blueprint that cannot be built this way refused with the reason, before anything is sent.
 */

const SSH_KEY = 'ssh-ed25519 AAAAC3Nza admin@example.com';
const ACTIVATION_KEY = 'golden-images';

/** The requester's own AWS account, not the blueprint's. */
const requesterAws: ImageRequest = {
  architecture: 'x86_64',
  image_type: 'aws',
  upload_request: { type: 'aws', options: { share_with_accounts: ['210987654321'] } },
};

/** A blueprint as the client reads GET /blueprints/{id}. */
const detailOf = (overrides: Record<string, unknown> = {}): BlueprintDetail =>
  blueprintResponseSchema.parse(blueprintDetail(overrides));

const withCustomizations = (customizations: Record<string, unknown>) =>
  detailOf({ customizations: { ...blueprintDetail().customizations, ...customizations } });

function refusalOf(build: () => unknown): BlueprintComposeError {
  try {
    build();
  } catch (error) {
    if (error instanceof BlueprintComposeError) return error;
    throw error;
  }
  throw new Error('expected the blueprint to be refused');
}

describeWithSpec('a blueprint as a POST /compose', () => {
  it("sends the blueprint's distribution and customizations with the requester's image request", () => {
    const body = composeRequestFromBlueprint(detailOf(), requesterAws, { imageName: 'rhel9-golden-for-team-a' });

    expect(body).toEqual({
      distribution: 'rhel-9',
      image_name: 'rhel9-golden-for-team-a',
      client_id: 'api',
      image_requests: [requesterAws],
      customizations: {
        packages: ['aide', 'tmux', 'vim-enhanced'],
        users: [{ name: 'admin', groups: ['wheel'], ssh_key: SSH_KEY }],
        subscription: {
          organization: 2040324,
          'activation-key': ACTIVATION_KEY,
          'server-url': 'subscription.rhsm.redhat.com',
          'base-url': 'https://cdn.redhat.com/',
          insights: true,
          rhc: true,
        },
        openscap: {
          profile_id: 'xccdf_org.ssgproject.content_profile_cis',
          profile_name: 'CIS Red Hat Enterprise Linux 9 Benchmark for Level 2 - Server',
        },
        fips: { enabled: true },
      },
    });
    expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
  });

  it('keeps what the blueprint pins: its repository snapshot or content template, and the disk size of that type', () => {
    const pinned = { snapshot_date: '2025-11-26T00:00:00.000Z', content_template_name: 'rhel9-nov' };
    const detail = detailOf({
      image_requests: [
        { ...blueprintDetail().image_requests[0], ...pinned, size: 21474836480 },
        {
          architecture: 'x86_64',
          image_type: 'guest-image',
          upload_request: { type: 'aws.s3', options: {} },
          ...pinned,
        },
      ],
    });

    const aws = composeRequestFromBlueprint(detail, requesterAws);
    const templated = composeRequestFromBlueprint(
      detailOf({
        image_requests: [{ ...blueprintDetail().image_requests[1], content_template: '7c1f0c3e-template' }],
      }),
      requesterAws,
    );

    expect(aws.image_requests).toEqual([{ ...requesterAws, ...pinned, size: 21474836480 }]);
    // The template is the blueprint's content whatever it builds; a guest image's size is no AMI's.
    expect(templated.image_requests).toEqual([{ ...requesterAws, content_template: '7c1f0c3e-template' }]);
    for (const body of [aws, templated]) expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
  });

  it('refuses a blueprint that pins both a snapshot date and a content template, as the service would', () => {
    const both = { snapshot_date: '2025-11-26T00:00:00Z', content_template: '7c1f0c3e-template' };
    const detail = detailOf({ image_requests: [{ ...blueprintDetail().image_requests[0], ...both }] });

    expect(refusalOf(() => composeRequestFromBlueprint(detail, requesterAws))).toMatchObject({
      kind: 'invalid-request',
      field: expect.stringContaining('snapshot_date'),
    });
  });

  it('sends a user who has a key and a password with the key and groups only', () => {
    const detail = withCustomizations({
      users: [{ name: 'ops', groups: ['wheel', 'adm'], ssh_key: SSH_KEY, hasPassword: true }],
    });

    const body = composeRequestFromBlueprint(detail, requesterAws);

    expect(body.customizations?.users).toEqual([{ name: 'ops', groups: ['wheel', 'adm'], ssh_key: SSH_KEY }]);
    expect(JSON.stringify(body)).not.toMatch(/password/i);
    expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
  });

  it('sends a blueprint without customizations as a plain compose of its distribution', () => {
    const body = composeRequestFromBlueprint(detailOf({ customizations: {} }), requesterAws);

    expect(body).toEqual({ distribution: 'rhel-9', client_id: 'api', image_requests: [requesterAws] });
    expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
  });

  it('leaves out what the service wrote as null, which the spec never allows', () => {
    const detail = withCustomizations({ files: null, kernel: { name: 'kernel-debug', append: null }, hostname: null });

    const body = composeRequestFromBlueprint(detail, requesterAws);

    expect(body.customizations).toMatchObject({ kernel: { name: 'kernel-debug' } });
    expect(body.customizations).not.toHaveProperty('files');
    expect(body.customizations).not.toHaveProperty('hostname');
    expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
  });

  it('refuses users who log in by password only, naming them, and says so before submission', () => {
    const detail = withCustomizations({
      users: [
        { name: 'admin', groups: ['wheel'], ssh_key: SSH_KEY, hasPassword: true },
        { name: 'operator', groups: [], hasPassword: true },
        { name: 'auditor', ssh_key: '', hasPassword: true },
      ],
    });

    expect(passwordOnlyUsers(detail)).toEqual(['operator', 'auditor']);
    const refusal = refusalOf(() => composeRequestFromBlueprint(detail, requesterAws));
    expect(refusal).toMatchObject({ kind: 'password-only-users', users: ['operator', 'auditor'] });
    expect(refusal.message).toContain('operator, auditor');
    expect(passwordOnlyUsers(detailOf())).toEqual([]);
  });

  it('refuses an image-mode blueprint, which has no distribution to send', () => {
    const detail = detailOf({
      distribution: undefined,
      bootc: { reference: 'registry.redhat.io/rhel10/rhel-bootc:10.0' },
    });

    expect(refusalOf(() => composeRequestFromBlueprint(detail, requesterAws))).toMatchObject({ kind: 'image-mode' });
  });

  it('refuses registration without its activation key, naming the field and never a value of the blueprint', () => {
    const { 'activation-key': _key, ...subscription } = blueprintDetail().customizations.subscription;
    const detail = withCustomizations({ subscription });

    const refusal = refusalOf(() => composeRequestFromBlueprint(detail, requesterAws));

    expect(refusal).toMatchObject({ kind: 'invalid-request', field: 'customizations.subscription.activation-key' });
    expect(refusal.message).toContain('customizations.subscription.activation-key');
    expect(refusal.message).not.toContain('subscription.rhsm.redhat.com');
  });

  it('refuses a customization the bot does not know, naming it, and never shows the activation key', () => {
    const detail = withCustomizations({ future_setting: { enabled: true } });

    const refusal = refusalOf(() => composeRequestFromBlueprint(detail, requesterAws));

    expect(refusal).toMatchObject({ kind: 'invalid-request', field: 'customizations' });
    expect(refusal.message).toContain('future_setting');
    expect(JSON.stringify(refusal)).not.toContain(ACTIVATION_KEY);
  });

  it("refuses a file of the blueprint's whose base64 data is not base64, naming which file", () => {
    const detail = withCustomizations({
      files: [
        { path: '/etc/motd', data: 'hello' },
        { path: '/etc/banner', data: 'not base64!', data_encoding: 'base64' },
      ],
    });

    const refusal = refusalOf(() => composeRequestFromBlueprint(detail, requesterAws));

    expect(refusal).toMatchObject({ kind: 'invalid-request', field: 'customizations.files[1].data' });
  });
});

describeWithSpec("a blueprint from the fake service, built with the requester's share targets", () => {
  let service: FakeImageBuilder;
  let client: ImageBuilderClient;

  beforeEach(async () => {
    service = await startFakeImageBuilder();
    client = clientOf(service);
  });
  afterEach(() => service.close());

  it('reads the blueprint, sends a compose the spec accepts, and no password goes with it', async () => {
    const { customizations } = blueprintDetail();
    const id = service.addBlueprint({
      name: 'rhel9-golden',
      description: 'The platform team’s RHEL 9 base',
      distribution: 'rhel-9',
      // The blueprint's own share target, which this path replaces with the requester's.
      image_requests: [
        { ...requesterAws, upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } } },
      ],
      customizations: {
        ...customizations,
        users: [{ name: 'admin', groups: ['wheel'], ssh_key: SSH_KEY, password: 'saved-password-never-answered' }],
        files: [{ path: '/etc/motd', data: 'Managed by the platform team\n' }],
        custom_repositories: [{ id: 'platform', baseurl: ['https://repo.example.com/el9/'], enabled: true }],
      },
    });

    const detail = await client.getBlueprint(id);
    await client.createCompose(composeRequestFromBlueprint(detail, requesterAws));

    const [sent] = service.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
    expect(sent?.status).toBe(201);
    expect(checkComposeRequest(sent!.body)).toEqual({ valid: true, errors: [] });
    expect(sent!.body).toMatchObject({
      distribution: 'rhel-9',
      image_requests: [requesterAws],
      customizations: {
        users: [{ name: 'admin', groups: ['wheel'], ssh_key: SSH_KEY }],
        subscription: { 'activation-key': ACTIVATION_KEY },
        files: [{ path: '/etc/motd', data: 'Managed by the platform team\n' }],
      },
    });
    expect(JSON.stringify(sent!.body)).not.toMatch(/password/i);
  });
});
