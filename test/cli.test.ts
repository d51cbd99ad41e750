import { spawn } from 'node:child_process';
import { ed25519Key, privateKeyPem } from './providers/support/sshKeys';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli/program';
import {
  DEFAULT_BUILD_ERROR,
  serviceErrors,
  startFakeImageBuilder,
  type FakeImageBuilder,
  type ImageStatusBody,
} from './fakes/imageBuilderService';
import { blueprintItem, blueprintsPage } from './imageBuilder/blueprintBodies';
import { KNOWN_HTTPS_PROXY, KNOWN_SECRETS } from './support/knownSecrets';
import { checkComposeRequest, describeWithSpec } from './support/openapi';
import { describeWithRealDistributions, realDistributionAnswers } from './support/realDistributions';
import { crcHandlerBody, describeWithRealBodies, frontendComposeStatus } from './support/realWorld';

/*
 * The CLI against a fake Image Builder on loopback, configured through the environment exactly as a user would
 * configure it. Waiting (`--wait`) sleeps through an injected function, so nothing here waits for real time.
 */

let service: FakeImageBuilder;
const NOW = new Date('2026-11-26T10:00:00Z');

beforeEach(async () => {
  service = await startFakeImageBuilder({ now: () => NOW });
});
afterEach(() => service.close());

function env(extra: Record<string, string> = {}) {
  return {
    IMAGE_BUILDER_URL: service.baseUrl,
    IMAGE_BUILDER_TOKEN_URL: service.tokenUrl,
    IMAGE_BUILDER_CLIENT_ID: service.credentials.clientId,
    IMAGE_BUILDER_CLIENT_SECRET: service.credentials.clientSecret,
    HTTPS_PROXY: KNOWN_HTTPS_PROXY,
    ...extra,
  };
}

const MAX_WAIT_POLLS = 200;

async function cli(args: string[], environment: Record<string, string> = env(), cacheDirectory?: string) {
  let sleeps = 0;
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: environment,
    workingDirectory: process.cwd(),
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    clock: { now: () => NOW },
    // A wait that never ends fails the test instead of hanging it.
    sleep: async () => {
      sleeps += 1;
      if (sleeps > MAX_WAIT_POLLS) throw new Error(`still waiting after ${MAX_WAIT_POLLS} polls`);
    },
    ...(cacheDirectory ? { cacheDirectory } : {}),
  });
  return { code, stdout, stderr };
}

const composeBodies = () => service.composeRequests();

describe('image-builder-bot CLI', () => {
  it('lists the distributions the account may build', async () => {
    const { code, stdout } = await cli(['distributions']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^rhel-10\s+Red Hat Enterprise Linux \(RHEL\) 10$/m);
    expect(stdout).toMatch(/^centos-9\s+CentOS Stream 9$/m);
  });

  it('prints JSON for scripts', async () => {
    const { code, stdout } = await cli(['distributions', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toContainEqual({ name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' });
  });

  it('submits an AWS compose shared with the accounts given, repeated or comma-separated', async () => {
    const { code, stdout } = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--arch',
      'aarch64',
      '--share',
      '123456789012,210987654321',
      '--share',
      '123456789012',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Submitted compose [0-9a-f-]{36}/);
    expect(composeBodies()).toEqual([
      {
        distribution: 'rhel-9',
        image_description: 'Requested with the image-builder-bot CLI',
        client_id: 'api',
        image_requests: [
          {
            architecture: 'aarch64',
            image_type: 'aws',
            upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012', '210987654321'] } },
          },
        ],
      },
    ]);
  });

  it('registers a RHEL image when registration is set up, unless --no-register is given', async () => {
    const registration = env({
      IMAGE_REGISTRATION_ORG_ID: '12345678',
      IMAGE_REGISTRATION_ACTIVATION_KEY: KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY,
    });
    const aws = ['compose', 'aws', '--share', '123456789012', '--distribution'];
    expect((await cli([...aws, 'rhel-9'], registration)).code).toBe(0);
    expect((await cli([...aws, 'rhel-9', '--no-register'], registration)).code).toBe(0);
    expect((await cli([...aws, 'centos-9'], registration)).code).toBe(0);
    expect((await cli([...aws, 'rhel-9'])).code).toBe(0);
    expect(composeBodies().map((body) => body.customizations)).toEqual([
      {
        subscription: expect.objectContaining({
          organization: 12345678,
          'activation-key': KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY,
          rhc: true,
          insights: true,
        }),
      },
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('prints no activation key in JSON: not the compose it sent, nor the service’s list of composes', async () => {
    const registration = env({
      IMAGE_REGISTRATION_ORG_ID: '12345678',
      IMAGE_REGISTRATION_ACTIVATION_KEY: KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY,
    });
    const sent = await cli(
      ['compose', 'aws', '--share', '123456789012', '--distribution', 'rhel-9', '--json'],
      registration,
    );
    const listed = await cli(['list', '--json'], registration);

    expect(composeBodies()[0]!.customizations).toMatchObject({
      subscription: { 'activation-key': KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY },
    });
    for (const { code, stdout } of [sent, listed]) {
      expect(code).toBe(0);
      expect(stdout).not.toContain(KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY);
      expect(stdout).toContain('"activation-key": "[REDACTED]"');
      expect(stdout).toContain('"organization": 12345678');
    }
  });

  it('waits for an AWS build and prints the AMI, the launch and copy commands and the expiry', async () => {
    const { code, stdout, stderr } = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--share',
      '123456789012',
      '--wait',
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain('building (step 3 of 7)');
    expect(stdout).toMatch(/is ready: AMI ami-\w+ in us-east-1/);
    expect(stdout).toMatch(
      /aws ec2 run-instances --image-id ami-\w+ --region us-east-1 --count 1 --instance-type t3\.micro/,
    );
    expect(stdout).toMatch(
      /aws ec2 copy-image --source-image-id ami-\w+ --source-region us-east-1 --region us-east-1 --name /,
    );
    // Fourteen days after the compose's created_at.
    expect(stdout).toContain('Available until 10 Dec 2026');
  });

  it('launches with --key-name and copies to each --copy-to-region, sending neither to Image Builder', async () => {
    const { code, stdout } = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--share',
      '123456789012',
      '--key-name',
      'ops-key',
      '--copy-to-region',
      'eu-west-1',
      '--copy-to-region',
      'ap-southeast-7',
      '--wait',
    ]);
    expect(code).toBe(0);
    expect(JSON.stringify(composeBodies()[0])).not.toMatch(/ops-key|eu-west-1/);
    expect(stdout).toMatch(/aws ec2 run-instances [^\n]* --key-name ops-key/);
    expect(stdout).toMatch(/copy-image [^\n]* --region eu-west-1 /);
    expect(stdout).toMatch(/copy-image [^\n]* --region ap-southeast-7 /);

    const typo = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--share',
      '123456789012',
      '--copy-to-region',
      'eu-wst-1',
      '--dry-run',
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--copy-to-region: “eu-wst-1” is not an AWS region this bot knows');
  });

  it('submits an Azure compose with tenant, subscription and resource group', async () => {
    const tenant = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
    const subscription = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
    const { code, stdout } = await cli([
      'compose',
      'azure',
      '--distribution',
      'rhel-9',
      '--tenant',
      tenant,
      '--subscription',
      subscription,
      '--resource-group',
      'images',
      '--wait',
    ]);
    expect(code).toBe(0);
    expect(composeBodies()[0]).toMatchObject({
      image_requests: [
        {
          image_type: 'azure',
          upload_request: {
            type: 'azure',
            options: { tenant_id: tenant, subscription_id: subscription, resource_group: 'images' },
          },
        },
      ],
    });
    expect(stdout).toContain(`az vm create --subscription ${subscription} --resource-group images`);
    expect(stdout).not.toContain('Available until');
  });

  it('waits for a GCP build and prints the gcloud commands', async () => {
    const { code, stdout } = await cli([
      'compose',
      'gcp',
      '--distribution',
      'rhel-9',
      '--share',
      'user:alice@example.com',
      '--share',
      'group:ops@example.com',
      '--wait',
    ]);
    expect(code).toBe(0);
    expect(composeBodies()[0]).toMatchObject({
      image_requests: [
        {
          upload_request: {
            type: 'gcp',
            options: { share_with_accounts: ['user:alice@example.com', 'group:ops@example.com'] },
          },
        },
      ],
    });
    expect(stdout).toMatch(/gcloud compute instances create \S+ --image-project \S+ --image \S+ --zone us-east4-a/);
    expect(stdout).toMatch(/gcloud compute images create \S+ --source-image-project \S+ --source-image \S+/);
  });

  it('builds a downloadable guest image and gives its link for 7 days', async () => {
    const { code, stdout } = await cli(['compose', 'guest-image', '--distribution', 'rhel-9', '--wait', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { status: string; result: { downloadUrl: string; expiresAt: string } };
    expect(result.status).toBe('success');
    expect(result.result.downloadUrl).toMatch(/^https?:\/\//);
    expect(result.result.expiresAt).toBe('2026-12-03T10:00:00.000Z');
  });

  it('builds an installer ISO and prints how to boot it, how to download it, and the USB way in words', async () => {
    const { code, stdout } = await cli(['compose', 'iso', '--distribution', 'rhel-9', '--wait']);
    expect(code).toBe(0);
    expect(stdout).toContain('is ready: Installer ISO (iso) ready to download');
    expect(stdout).toMatch(/\n {2}virt-install --name rhel-9-x86_64-\w+ --arch x86_64 /);
    expect(stdout).toMatch(/\n {2}curl -fLo rhel-9-x86_64-\w+\.iso 'https:\/\/[^']+'\n/);
    expect(stdout).toMatch(
      /\nTo install a machine, write rhel-9-x86_64-\w+\.iso to a USB stick .+ boot the machine from it\.$/m,
    );
    expect(stdout).toContain('Available until 3 Dec 2026 10:00 +00:00 (7 days after the build)');
  });

  it('installs the packages given with --package, repeated or comma-separated, and refuses an unknown one', async () => {
    const base = ['compose', 'guest-image', '--distribution', 'rhel-9'];
    const sent = await cli([...base, '--package', 'tmux,htop', '--package', '@container-tools']);
    expect(sent.code).toBe(0);
    expect(composeBodies()).toEqual([
      expect.objectContaining({ customizations: { packages: ['tmux', 'htop', '@container-tools'] } }),
    ]);
    const refused = await cli([...base, '--package', 'htopp']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--package: “htopp” (did you mean htop?) is not a package of rhel-9.');
    expect(composeBodies()).toHaveLength(1);
  });

  it('names every bad flag in one message and submits nothing', async () => {
    const longName = 'x'.repeat(101);
    const local = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--image-name',
      longName,
      '--share',
      '12345',
    ]);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/--image-name: The build name can be at most 100 characters/);
    expect(local.stderr).toMatch(/--share: “12345” is not an AWS account id/);
    // The distribution is the service's to judge, once everything that can be checked here is right.
    const unknown = await cli(['compose', 'aws', '--distribution', 'rhel-99', '--share', '123456789012']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--distribution: .*rhel-99/);
    expect(composeBodies()).toEqual([]);
  });

  it('reports a failed build with the nested reasons and exits 1', async () => {
    service.script('next', ['pending', 'building', { status: 'failure', error: DEFAULT_BUILD_ERROR }]);
    const { code, stdout } = await cli([
      'compose',
      'aws',
      '--distribution',
      'rhel-9',
      '--share',
      '123456789012',
      '--wait',
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('failed: osbuild build failed');
    expect(stdout).toContain('package kernel-99 not found');
  });

  it('shows the quota message from the service verbatim', async () => {
    service.fail(
      1,
      403,
      { errors: [{ title: '403', detail: 'Quota of 20 builds per 30 days exceeded' }] },
      { method: 'POST' },
    );
    const { code, stderr } = await cli(['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012']);
    expect(code).toBe(1);
    expect(stderr).toContain('Quota of 20 builds per 30 days exceeded');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('shows the status of a compose, and lists recent composes', async () => {
    const submitted = await cli(['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012', '--json']);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const status = await cli(['status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Compose ${id}: pending`);
    const list = await cli(['list']);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+\\S+.*aws\\s+rhel-9\\s+x86_64`, 'm'));
  });

  it('says an AMI the 14-day list no longer has was deleted, and prints no command to launch it', async () => {
    const id = service.addCompose({
      request: {
        distribution: 'rhel-9',
        image_requests: [
          {
            architecture: 'x86_64',
            image_type: 'aws',
            upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
          },
        ],
      },
      createdAt: new Date(NOW.getTime() - 20 * 24 * 3600_000),
      script: ['success'],
    });
    const { code, stdout } = await cli(['status', id]);
    expect(stdout).toContain(`Compose ${id} is ready`);
    expect(stdout).toContain('Deleted by Image Builder: built more than 14 days ago');
    expect(stdout).not.toContain('run-instances');
    expect(stdout).not.toContain('Available until');
    expect(code).toBe(0);
  });

  it('refuses what is not a compose id before asking the service, and takes one pasted in capitals', async () => {
    const before = service.apiRequests().length;
    const typo = await cli(['status', '1a2b3c4d-5e6f']);
    expect(typo).toMatchObject({ code: 2, stdout: '' });
    expect(typo.stderr).toContain('status: “1a2b3c4d-5e6f” is not a compose id');
    expect(service.apiRequests()).toHaveLength(before);

    const submitted = await cli(['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012', '--json']);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    expect((await cli(['status', ` ${id.toUpperCase()} `])).stdout).toContain(`Compose ${id}: pending`);
  });

  it('explains missing credentials without needing Slack settings', async () => {
    const { code, stderr } = await cli(['distributions'], { IMAGE_BUILDER_URL: service.baseUrl });
    expect(code).toBe(2);
    expect(stderr).toContain('IMAGE_BUILDER_CLIENT_ID + IMAGE_BUILDER_CLIENT_SECRET');
    expect(stderr).not.toMatch(/SLACK/);
  });

  it('offers --help on every command without any configuration', async () => {
    for (const args of [
      ['--help'],
      ['compose', '--help'],
      ['compose', 'azure', '--help'],
      ['status', '--help'],
      ['list', '--help'],
      ['blueprints', '--help'],
    ]) {
      const { code, stdout } = await cli(args, {});
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: image-builder-bot');
    }
    const azureHelp = await cli(['compose', 'azure', '--help'], {});
    expect(azureHelp.stdout).toContain('--resource-group <value>');
  });

  it('describes each compose command in plain English and marks the options it cannot do without', async () => {
    const { stdout: composeHelp } = await cli(['compose', '--help'], {});
    expect(composeHelp).toMatch(/aws \[options\] +build an Amazon Web Services image\n/);
    expect(composeHelp).toMatch(/azure \[options\] +build a Microsoft Azure image\n/);
    expect(composeHelp).toMatch(/gcp \[options\] +build a Google Cloud image\n/);
    expect(composeHelp).toMatch(/guest-image \[options\] +build a qcow2 guest image\n/);
    expect(composeHelp).not.toMatch(/\ba [AEIOU]|image image/);

    /** Each option's help, unwrapped, by flag. */
    const optionsOf = (help: string) =>
      new Map(
        help
          .split(/\n {2}(?=-)/)
          .slice(1)
          .map((block) => [block.split(' ')[0]!, block.replace(/\s+/g, ' ')] as const),
      );
    const azure = optionsOf((await cli(['compose', 'azure', '--help'], {})).stdout);
    for (const flag of ['--distribution', '--tenant', '--subscription', '--resource-group'])
      expect(azure.get(flag)).toContain('(required)');
    // --arch has a default, the names are optional.
    for (const flag of ['--arch', '--image-name', '--azure-image-name', '--hyper-v-generation'])
      expect(azure.get(flag)).not.toContain('required');
    const aws = optionsOf((await cli(['compose', 'aws', '--help'], {})).stdout);
    expect(aws.get('--share')).toContain('(required; repeatable, or comma-separated)');
  });

  it('never prints the client secret, even when the token endpoint refuses it', async () => {
    const { code, stdout, stderr } = await cli(
      ['distributions'],
      env({ IMAGE_BUILDER_CLIENT_SECRET: KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET_REFUSED }),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/credentials|unauthori[sz]ed|invalid_client/i);
    expect(stdout + stderr).not.toContain(KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET_REFUSED);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('image-builder-bot compose --dry-run', () => {
  let cacheDirectory: string;
  beforeEach(() => {
    cacheDirectory = mkdtempSync(path.join(os.tmpdir(), 'ibb-cache-'));
  });
  afterEach(() => rmSync(cacheDirectory, { recursive: true, force: true }));

  const noRequests = () => ({ api: service.apiRequests().length, token: service.tokenRequests().length });

  describeWithSpec('against the service’s OpenAPI spec', () => {
    it.each([
      ['aws', ['--share', '123456789012,210987654321', '--arch', 'aarch64']],
      [
        'azure',
        [
          '--tenant',
          '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
          '--subscription',
          '4e5d8b2c-ab24-4413-90c5-612306e809e2',
          '--resource-group',
          'images',
        ],
      ],
      ['gcp', ['--share', 'user:alice@example.com', '--share', 'group:ops@example.com']],
      ['guest-image', ['--image-name', 'nightly build']],
    ])('prints the %s body it would send, valid against the spec, and sends nothing', async (target, flags) => {
      // Credentials that would work are set: the fake proves none of them is used.
      const { code, stdout, stderr } = await cli(
        ['compose', target, '--distribution', 'rhel-9', ...flags, '--dry-run'],
        env(),
        cacheDirectory,
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('Dry run: nothing was sent') });
      const body = JSON.parse(stdout) as { distribution: string; image_requests: { image_type: string }[] };
      expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
      expect(body.distribution).toBe('rhel-9');
      expect(noRequests()).toEqual({ api: 0, token: 0 });
    });

    it.each([
      ['vsphere', [], 'vsphere-ova', 'aws.s3'],
      ['vsphere', ['--format', 'vmdk'], 'vsphere', 'aws.s3'],
      ['iso', ['--arch', 'aarch64'], 'image-installer', 'aws.s3'],
      ['wsl', [], 'wsl', 'aws.s3'],
      ['oci', [], 'oci', 'oci.objectstorage'],
    ])('prints a %s %j body of image type %s to %s, valid against the spec', async (target, flags, type, upload) => {
      const { code, stdout } = await cli(
        ['compose', target, '--distribution', 'rhel-9', ...flags, '--dry-run'],
        env(),
        cacheDirectory,
      );
      expect(code).toBe(0);
      const body = JSON.parse(stdout) as { image_requests: unknown[] };
      expect(checkComposeRequest(body)).toEqual({ valid: true, errors: [] });
      expect(body.image_requests).toEqual([
        {
          architecture: flags.includes('aarch64') ? 'aarch64' : 'x86_64',
          image_type: type,
          upload_request: { type: upload, options: {} },
        },
      ]);
    });
  });

  it('refuses a vSphere format it does not know on --format', async () => {
    const { code, stderr } = await cli(
      ['compose', 'vsphere', '--distribution', 'rhel-9', '--format', 'qcow2', '--dry-run'],
      env(),
      cacheDirectory,
    );
    expect(code).toBe(2);
    expect(stderr).toContain("argument 'qcow2' is invalid. Allowed choices are ova, vmdk.");
  });

  it('prints the same body a real submission sends, without any credential or Image Builder setting', async () => {
    const flags = ['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012', '--image-name', 'web'];
    const dry = await cli([...flags, '--dry-run', '--json'], {}, cacheDirectory);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('');
    await cli(flags);
    expect(JSON.parse(dry.stdout)).toEqual(composeBodies()[0]);
  });

  it('checks the distribution against the built-in list, the list given, or the one Image Builder last gave', async () => {
    const fedora = ['compose', 'guest-image', '--distribution', 'fedora-42', '--dry-run'];
    const builtIn = await cli(fedora, {}, cacheDirectory);
    expect(builtIn.code).toBe(2);
    expect(builtIn.stderr).toMatch(/--distribution: “fedora-42” is not a distribution this account can build/);

    const given = await cli([...fedora, '--distributions', 'rhel-9,fedora-42'], {}, cacheDirectory);
    expect(given.code).toBe(0);
    expect(given.stderr).toContain('Checked against the distributions given with --distributions');

    await service.close();
    service = await startFakeImageBuilder({
      now: () => NOW,
      distributions: [{ name: 'fedora-42', description: 'Fedora Linux 42' }],
    });
    expect((await cli(['distributions'], env(), cacheDirectory)).code).toBe(0);
    const cached = await cli(fedora, {}, cacheDirectory);
    expect(cached.code).toBe(0);
    expect(cached.stderr).toContain(
      'Checked against the distributions Image Builder offered this account on 2026-11-26',
    );
    const rhel = await cli(['compose', 'guest-image', '--distribution', 'rhel-9', '--dry-run'], {}, cacheDirectory);
    expect(rhel.stderr).toMatch(/“rhel-9” is not a distribution this account can build. Choose one of fedora-42\./);
  });

  it('names every bad flag, as a real submission would', async () => {
    const { code, stdout, stderr } = await cli(
      ['compose', 'azure', '--distribution', 'rhel-9', '--tenant', 'nope', '--subscription', 'x', '--dry-run'],
      {},
      cacheDirectory,
    );
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--tenant: /);
    expect(stderr).toMatch(/--subscription: /);
    expect(stderr).toMatch(/--resource-group: /);
  });

  it('adds the login user with --ssh-key and --user, cloud-user without --user, and refuses root by its flag', async () => {
    const key = ed25519Key('ops@laptop');
    const flags = ['compose', 'guest-image', '--distribution', 'rhel-9', '--ssh-key', key, '--dry-run'];
    const named = await cli([...flags, '--user', 'ops'], {}, cacheDirectory);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({
      customizations: { users: [{ name: 'ops', ssh_key: key, groups: ['wheel'] }] },
    });
    const unnamed = await cli(flags, {}, cacheDirectory);
    expect(JSON.parse(unnamed.stdout)).toMatchObject({ customizations: { users: [{ name: 'cloud-user' }] } });
    const root = await cli([...flags, '--user', 'root'], {}, cacheDirectory);
    expect(root.code).toBe(2);
    expect(root.stderr).toMatch(/--user: Logging in as root is not offered/);
    const privateKey = await cli(
      ['compose', 'guest-image', '--distribution', 'rhel-9', '--ssh-key', privateKeyPem(), '--dry-run'],
      {},
      cacheDirectory,
    );
    expect(privateKey.code).toBe(2);
    expect(privateKey.stderr).toMatch(/--ssh-key: This is a PRIVATE key/);
    // A blueprint brings its own users: the flags are refused rather than dropped.
    const blueprint = await cli(['compose', 'aws', '--blueprint', 'golden', '--ssh-key', key], {}, cacheDirectory);
    expect(blueprint.code).toBe(2);
    expect(blueprint.stderr).toMatch(/--ssh-key and --user are for plain images/);
  });
});

describe('image-builder-bot compose, before and at the network', () => {
  it('reports bad input before a missing credential', async () => {
    const { code, stderr } = await cli(['compose', 'aws', '--distribution', 'rhel-9', '--share', '12345'], {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/--share: “12345” is not an AWS account id/);
    expect(stderr).not.toMatch(/IMAGE_BUILDER_/);
  });

  it('reports bad input before an unreachable service', async () => {
    const port = await closedPort();
    const { code, stderr } = await cli(
      ['compose', 'gcp', '--distribution', 'rhel-9', '--share', 'alice'],
      env({ IMAGE_BUILDER_URL: `http://127.0.0.1:${port}/api/image-builder/v1` }),
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/--share: /);
    expect(stderr).not.toMatch(/reach/);
  });

  it('names the host of an Image Builder it could not reach', async () => {
    const port = await closedPort();
    const { code, stderr } = await cli(
      ['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012'],
      env({ IMAGE_BUILDER_URL: `http://127.0.0.1:${port}/api/image-builder/v1` }),
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`Could not reach Image Builder (127.0.0.1:${port}) for GET /distributions`);
  });

  it('names the host of a token endpoint it could not reach', async () => {
    const port = await closedPort();
    const { code, stderr } = await cli(
      ['distributions'],
      env({ IMAGE_BUILDER_TOKEN_URL: `http://127.0.0.1:${port}/token` }),
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`Could not reach the Red Hat SSO token endpoint (127.0.0.1:${port})`);
  });
});

describeWithRealDistributions('image-builder-bot CLI, with the real service’s distributions', () => {
  beforeEach(async () => {
    await service.close();
    const { distributions, architectures } = realDistributionAnswers();
    service = await startFakeImageBuilder({ now: () => NOW, distributions, architectures });
  });

  it('lists the distributions newest first, as the forms offer them', async () => {
    const { code, stdout } = await cli(['distributions']);
    expect(code).toBe(0);
    const listed = stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[0]);
    expect(listed.slice(0, 6)).toEqual(['rhel-10', 'rhel-10.2', 'rhel-10.1', 'rhel-10.0', 'rhel-10-beta', 'rhel-9']);
    expect(listed.indexOf('rhel-95')).toBeGreaterThan(listed.indexOf('rhel-9.6'));
  });

  it('refuses to build an AWS image of hummingbird, which has only image-mode images, on --distribution', async () => {
    const { code, stderr } = await cli(['compose', 'aws', '--distribution', 'hummingbird', '--share', '123456789012']);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^image-builder-bot: --distribution: Image Builder cannot build Amazon Web Services images of hummingbird\. Choose one of rhel-10, /,
    );
    expect(composeBodies()).toEqual([]);
  });
});

describeWithRealBodies('image-builder-bot CLI on the real service’s compose answers', () => {
  it.each([
    ['vsphere', 'b7193673-8dcc-4a5f-ac30-e9f4940d8346', 'vSphere disk (vmdk)'],
    ['image-installer', '4873fd0f-1851-4b9f-b4fe-4639fce90794', 'Installer ISO (iso)'],
    ['oci', 'ea23cfd6-fd8b-43ed-adfc-9f76bb8487ef', 'Oracle Cloud image (qcow2)'],
  ])(
    'status shows a successful %s compose as ready, with its download link, and exits 0',
    async (_type, id, headline) => {
      const body = frontendComposeStatus(id);
      service.addCompose({ id, request: body.request, script: [body.image_status] });
      const { code, stdout } = await cli(['status', id]);
      expect(stdout).toContain(`Compose ${id} is ready: ${headline} ready to download`);
      expect(stdout).toContain(
        `Download: ${(body.image_status.upload_status as { options: { url: string } }).options.url}`,
      );
      expect(stdout).toContain('Available until 3 Dec 2026 10:00 +00:00 (7 days after the build)');
      expect(code).toBe(0);
    },
  );

  it('status names an image-mode compose by its bootc reference', async () => {
    const id = 'a8f5e2d1-9c3b-4f6a-b7e8-1d2c3f4a5b6c';
    const body = frontendComposeStatus(id);
    service.addCompose({ id, request: body.request, script: [body.image_status] });
    const { code, stdout } = await cli(['status', id]);
    expect(stdout).toContain('Distribution: rhel-bootc:9.7');
    expect(stdout).toContain('curl -fLo rhel-bootc-9.7-x86_64-a8f5e2d1.qcow2');
    expect(stdout).not.toContain('unknown');
    expect(code).toBe(0);
  });

  it('--wait ends at an error on an empty status, with its reason and details, and exits 1', async () => {
    const failed = (crcHandlerBody('failed compose with simple error') as { image_status: ImageStatusBody })
      .image_status;
    service.script('next', ['pending', { status: 'building', progress: { done: 1, total: 2 } }, failed]);
    const { code, stdout } = await cli(['compose', 'guest-image', '--distribution', 'rhel-9', '--wait']);
    expect(stdout).toContain('failed: 1 pigeon');
    expect(stdout).toContain('  many pigeons');
    expect(code).toBe(1);
  });
});

describe('the CLI in a terminal, against a service that answers hostile text', () => {
  // An OSC that retitles the window, BEL, a clear-screen CSI, a C1 CSI (U+009B) and NEL (U+0085).
  const HOSTILE = 'web\u001b]0;pwned\u0007\u001b[2J\u009b31mred\u0085next';
  // Any control character (C0, DEL, C1) but the line feed.
  const TERMINAL_CONTROL = /(?!\n)\p{Cc}/u;
  const root = path.resolve(__dirname, '..');
  // The CLI reads a .env where it starts: not from the checkout, where a developer may keep one for `npm start`.
  let emptyFolder: string;
  beforeAll(() => {
    emptyFolder = mkdtempSync(path.join(os.tmpdir(), 'ibb-cli-'));
  });
  afterAll(() => rmSync(emptyFolder, { recursive: true, force: true }));

  /** `image-builder-bot …` as a process, its output as a terminal would receive it. */
  function runProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(
      process.execPath,
      ['--require', path.join(root, 'test/support/registerTs.cjs'), path.join(root, 'src/cli.ts'), ...args],
      {
        cwd: emptyFolder,
        // The CLI keeps the distributions it is given in a cache folder: this test's, never the user's.
        env: { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: emptyFolder, ...env() },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const azureRequest = (imageName: string) => ({
    distribution: 'rhel-9',
    image_name: imageName,
    image_requests: [
      {
        architecture: 'x86_64',
        image_type: 'azure',
        upload_request: {
          type: 'azure',
          options: {
            tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
            subscription_id: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
            resource_group: 'images',
            image_name: imageName,
          },
        },
      },
    ],
  });

  it('prints no escape sequence, BEL or C1 control from image names, reasons, descriptions or errors', async () => {
    await service.close();
    service = await startFakeImageBuilder({
      now: () => NOW,
      distributions: [{ name: 'rhel-9', description: `Red Hat Enterprise Linux ${HOSTILE}` }],
    });
    const ready = service.addCompose({ request: azureRequest(HOSTILE), script: ['success'] });
    const failed = service.addCompose({
      request: azureRequest('plain'),
      script: [
        {
          status: 'failure',
          error: { id: 10, reason: HOSTILE, details: [{ id: 9, reason: HOSTILE, details: HOSTILE }] },
        },
      ],
    });

    const runs = {
      list: await runProcess(['list']),
      listJson: await runProcess(['list', '--json']),
      ready: await runProcess(['status', ready]),
      failed: await runProcess(['status', failed]),
      distributions: await runProcess(['distributions']),
    };
    service.fail(1, 403, serviceErrors(403, `Quota exceeded ${HOSTILE}`), { method: 'POST' });
    const refused = await runProcess(['compose', 'aws', '--distribution', 'rhel-9', '--share', '123456789012']);

    expect(runs.list.stdout).toContain('web�]0;pwned��[2J�31mred�next');
    expect(JSON.parse(runs.listJson.stdout)).toContainEqual(expect.objectContaining({ image_name: HOSTILE }));
    expect(runs.ready.stdout).toContain('Image: web�]0;pwned');
    expect(runs.failed.stdout).toContain('failed: web�]0;pwned');
    expect(runs.distributions.stdout).toMatch(/^rhel-9\s+Red Hat Enterprise Linux web�/m);
    expect(refused.stderr).toContain('Quota exceeded web�]0;pwned');
    for (const [name, run] of Object.entries({ ...runs, refused })) {
      expect({
        name,
        stdout: TERMINAL_CONTROL.exec(run.stdout)?.[0],
        stderr: TERMINAL_CONTROL.exec(run.stderr)?.[0],
      }).toEqual({
        name,
        stdout: undefined,
        stderr: undefined,
      });
    }
  }, 60_000);
});

describe('image-builder-bot blueprints', () => {
  /*
   * The fake Image Builder has no GET /blueprints yet: a loopback server answers it, as the service writes its
   * pages, while the fake issues the token.
   */
  async function blueprintService(answer: (url: string) => { status: number; body: unknown }) {
    const seen: string[] = [];
    const server = createHttpServer((request, response) => {
      seen.push(request.url ?? '');
      const { status, body } = answer(request.url ?? '');
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      env: env({ IMAGE_BUILDER_URL: `http://127.0.0.1:${port}/api/image-builder/v1` }),
      seen,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  const ORGANISATION = [
    blueprintItem({ name: 'rhel9-golden', version: 7 }),
    blueprintItem({ id: '4a5b8c1e-0d4f-4b1a-9e3c-2f7a6b5c4d3e', name: 'web-base', version: 12 }),
  ];

  it("lists the organisation's blueprints with version, last change and id, or as JSON", async () => {
    const service = await blueprintService(() => ({ status: 200, body: blueprintsPage(ORGANISATION, 2) }));
    try {
      const { code, stdout } = await cli(['blueprints'], service.env);
      expect(code).toBe(0);
      expect(stdout.split('\n')).toEqual([
        'NAME          VERSION  CHANGED               ID',
        'rhel9-golden  7        2026-11-30T09:12:44Z  677b010b-e95e-4694-9813-d11d847f1bfc',
        'web-base      12       2026-11-30T09:12:44Z  4a5b8c1e-0d4f-4b1a-9e3c-2f7a6b5c4d3e',
        '',
      ]);
      const json = await cli(['blueprints', '--json'], service.env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual(ORGANISATION);
      expect(service.seen).toEqual([
        expect.stringMatching(/^\/api\/image-builder\/v1\/blueprints\?/),
        expect.anything(),
      ]);
    } finally {
      await service.close();
    }
  });

  it('says when the organisation has none', async () => {
    const service = await blueprintService(() => ({ status: 200, body: blueprintsPage([], 0) }));
    try {
      const { code, stdout } = await cli(['blueprints'], service.env);
      expect(code).toBe(0);
      expect(stdout).toContain('The organisation has no blueprints');
    } finally {
      await service.close();
    }
  });

  it('reports a refusal in one line on standard error and exits 1', async () => {
    const refusal = { errors: [{ title: '403', detail: 'Organization not allowed to list blueprints' }] };
    const service = await blueprintService(() => ({ status: 403, body: refusal }));
    try {
      const { code, stdout, stderr } = await cli(['blueprints'], service.env);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^image-builder-bot: .*Organization not allowed to list blueprints/);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await service.close();
    }
  });
});

describe('image-builder-bot compose <cloud> --blueprint', () => {
  const GOLDEN_ID = '677b010b-e95e-4694-9813-d11d847f1bfc';
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0bNqkGeDUFJn6kB2Cq6o5bO8Yc1dPZk5PzPK2Iwn4 admin@example.com';
  const awsImage = (architecture: 'x86_64' | 'aarch64') => ({
    architecture,
    image_type: 'aws',
    upload_request: { type: 'aws' as const, options: { share_with_accounts: ['123456789012'] } },
  });

  beforeEach(async () => {
    await service.close();
    service = await startFakeImageBuilder({
      now: () => NOW,
      blueprints: [
        {
          id: GOLDEN_ID,
          name: 'rhel9-golden',
          distribution: 'rhel-9',
          image_requests: [awsImage('x86_64'), awsImage('aarch64')],
          customizations: { packages: ['aide'], users: [{ name: 'admin', groups: ['wheel'], ssh_key: KEY }] },
        },
      ],
    });
  });

  it('builds it with its own share targets in one request, for every saved image of the cloud', async () => {
    const { code, stdout } = await cli(['compose', 'aws', '--blueprint', 'RHEL9-Golden']);
    expect(code).toBe(0);
    expect(stdout).toContain('Submitted 2 composes of rhel9-golden v1, shared as saved in it');
    expect(service.blueprintComposeRequests(GOLDEN_ID).map((r) => r.body)).toEqual([{ image_types: ['aws'] }]);
  });

  it('builds it with the share options given as a POST /compose of its content', async () => {
    const args = [
      'compose',
      'gcp',
      '--blueprint',
      'rhel9-golden',
      '--targets',
      'mine',
      '--share',
      'user:a@example.com',
    ];
    const { code } = await cli(args);
    expect(code).toBe(0);
    const post = service.requests.find((r) => r.method === 'POST' && r.path.endsWith('/v1/compose'));
    expect(post?.body).toMatchObject({
      distribution: 'rhel-9',
      customizations: { packages: ['aide'], users: [{ name: 'admin', ssh_key: KEY }] },
      image_requests: [
        { image_type: 'gcp', upload_request: { options: { share_with_accounts: ['user:a@example.com'] } } },
      ],
    });
    expect(checkComposeRequest(post?.body)).toEqual({ valid: true, errors: [] });
  });

  it('names an unknown blueprint with the near ones, and builds nothing', async () => {
    const { code, stderr } = await cli(['compose', 'aws', '--blueprint', 'golden']);
    expect(code).toBe(2);
    expect(stderr).toContain('the organisation has no blueprint called “golden”. Did you mean “rhel9-golden”?');
    expect(service.blueprintComposeRequests()).toEqual([]);
  });
});
