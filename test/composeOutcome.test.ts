import { composeDistribution, describeOutcome } from '../src/compose/outcome';
import { imageStatusSchema, storedComposeRequestSchema } from '../src/imageBuilder';
import { DEFAULT_LAUNCH_DEFAULTS } from '../src/providers';
import { HOSTILE_VALUES, SUBMITTED_AT } from './providers/support/fixtures';
import { runWithPrintf, SHELLS } from './providers/support/shell';

describe('what a compose was built from, as the service returns its request', () => {
  it.each([
    [{ distribution: 'rhel-9' }, 'rhel-9'],
    [{ distribution: 'rhel-9', bootc: { reference: 'registry.redhat.io/rhel9/rhel-bootc:9.7' } }, 'rhel-9'],
    [{ bootc: { reference: 'registry.redhat.io/rhel9/rhel-bootc:9.7' } }, 'rhel-bootc:9.7'],
    [{ bootc: { reference: 'quay.io/centos-bootc/centos-bootc:stream10@sha256:0123abcd' } }, 'centos-bootc:stream10'],
    [{ bootc: { reference: 'localhost/bootc' } }, 'bootc'],
    [{ bootc: { reference: '' } }, 'unknown'],
    [{ bootc: {} }, 'unknown'],
    [{}, 'unknown'],
  ])('%j is %s', (request, name) => {
    expect(composeDistribution(storedComposeRequestSchema.parse(request))).toBe(name);
  });
});

describe('how to log in, after the launch command', () => {
  const awsSuccess = imageStatusSchema.parse({
    status: 'success',
    upload_status: { status: 'success', type: 'aws', options: { ami: 'ami-0c830793775595d4b', region: 'us-east-1' } },
  });
  const withUsers = (users: unknown) =>
    storedComposeRequestSchema.parse({
      distribution: 'rhel-9',
      image_requests: [{ architecture: 'x86_64', image_type: 'aws', upload_request: { type: 'aws', options: {} } }],
      ...(users === undefined ? {} : { customizations: { users } }),
    });
  const launchCommands = (users: unknown) => {
    const outcome = describeOutcome(
      { composeId: '1a2b3c4d-0000', imageStatus: awsSuccess, request: withUsers(users), submittedAt: SUBMITTED_AT },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    if (outcome?.kind !== 'success') throw new Error('not a success');
    return outcome.result.launchCommands;
  };

  it('adds ssh <user>@ADDRESS after the launch command when the image has a user with a key', () => {
    const commands = launchCommands([{ name: 'jdoe', ssh_key: 'ssh-ed25519 AAAA', groups: ['wheel'] }]);
    expect(commands.map((c) => c.command)).toEqual([
      'aws ec2 run-instances --image-id ami-0c830793775595d4b --region us-east-1 --count 1 --instance-type t3.micro',
      'ssh jdoe@ADDRESS',
    ]);
    expect(commands[1]?.label).toBe('Then log in with your SSH key (ADDRESS: the instance’s public address)');
  });

  it('adds nothing when the image has no user', () => {
    expect(launchCommands(undefined)).toHaveLength(1);
    expect(launchCommands([])).toHaveLength(1);
  });

  it.each(HOSTILE_VALUES)('leaves a hostile user name %j from the service out of the result', (hostile) => {
    expect(launchCommands([{ name: hostile, ssh_key: 'ssh-ed25519 AAAA' }])).toHaveLength(1);
    expect(launchCommands([{ name: 'root', ssh_key: 'ssh-ed25519 AAAA' }])).toHaveLength(1);
  });

  it.each(SHELLS)('prints an ssh line that %s passes to ssh as it reads', (shell) => {
    const login = launchCommands([{ name: 'ops_1-a', ssh_key: 'ssh-ed25519 AAAA' }])[1];
    expect(runWithPrintf(login?.command ?? '', shell)).toEqual({ argv: ['ssh', 'ops_1-a@ADDRESS'], created: [] });
  });
});
