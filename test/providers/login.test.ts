import { checkSshPublicKey, linuxUserNameOf, loginFormValues, validateLogin } from '../../src/providers/login';
import { ecdsaKey, ed25519Key, privateKeyPem, rsaKey, sshLine } from './support/sshKeys';

const ED25519 = ed25519Key('me@laptop');
const RSA_2048 = rsaKey(2048);

function refusal(text: string): string {
  const read = checkSshPublicKey(text);
  if (read.ok) throw new Error(`accepted ${text}`);
  return read.error;
}

describe('the SSH public key', () => {
  it.each([
    ['ssh-ed25519', ED25519],
    ['ecdsa-sha2-nistp256', ecdsaKey('nistp256')],
    ['ecdsa-sha2-nistp384', ecdsaKey('nistp384')],
    ['ecdsa-sha2-nistp521', ecdsaKey('nistp521')],
    ['ssh-rsa of 2048 bits', RSA_2048],
    ['ssh-rsa of 3072 bits', rsaKey(3072)],
  ])('accepts %s', (_, key) => {
    expect(checkSshPublicKey(key)).toEqual({ ok: true, value: key });
  });

  it('keeps the comment, and tidies the spacing around the parts', () => {
    const [type, blob] = ED25519.split(' ');
    expect(checkSshPublicKey(`  ${type}\t${blob}   work  laptop `)).toEqual({
      ok: true,
      value: `${type} ${blob} work laptop`,
    });
    expect(checkSshPublicKey(`${type} ${blob}`)).toEqual({ ok: true, value: `${type} ${blob}` });
  });

  it('refuses an RSA key under 2048 bits, saying how many it has', () => {
    expect(refusal(rsaKey(1024))).toMatch(/has 1024 bits; use one of 2048 bits or more/);
  });

  it('refuses a key whose blob is of another type than its label, or damaged', () => {
    const [, edBlob] = ED25519.split(' ');
    const [, rsaBlob] = RSA_2048.split(' ');
    expect(refusal(`ssh-rsa ${edBlob}`)).toMatch(/incomplete or damaged/);
    expect(refusal(`ssh-ed25519 ${rsaBlob!.slice(0, 40)}`)).toMatch(/incomplete or damaged/);
    expect(refusal(`ssh-ed25519 ${edBlob!.slice(0, -8)}`)).toMatch(/incomplete or damaged/);
    expect(refusal('ssh-ed25519 not*base64')).toMatch(/incomplete or damaged/);
    expect(refusal('ssh-ed25519')).toMatch(/incomplete or damaged/);
    // A curve named in the blob other than the one in the type.
    const wrongCurve = sshLine('ecdsa-sha2-nistp256', [
      Buffer.from([0, 0, 0, 8, ...Buffer.from('nistp384'), 0, 0, 0, 1, 4]),
    ]);
    expect(refusal(wrongCurve)).toMatch(/incomplete or damaged/);
  });

  it('refuses other key types, an options prefix and more than one line', () => {
    expect(refusal('ssh-dss AAAAB3NzaC1kc3MAAACBAP')).toMatch(/starts with ssh-ed25519/);
    expect(refusal(`no-pty,command="/bin/sh" ${ED25519}`)).toMatch(/Remove the options before the key type/);
    expect(refusal(`${ED25519}\n${RSA_2048}`)).toMatch(/one line/);
  });

  it('refuses a private key with a warning that it was not kept', () => {
    const pem = privateKeyPem();
    expect(refusal(pem)).toMatch(/PRIVATE key: it was not sent or kept.*treat this private key as exposed/);
    const openssh = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(refusal(openssh)).toMatch(/PRIVATE key/);
    // Flattened onto one line by a chat client, it is still recognised.
    expect(refusal(openssh.replaceAll('\n', ' '))).toMatch(/PRIVATE key/);
  });
});

describe('the login', () => {
  it('is absent when neither key nor name is given', () => {
    expect(validateLogin({ ssh_public_key: ' ', login_user: '' }, 'jdoe')).toEqual({ ok: true, value: undefined });
  });

  it('takes the user name given, or else the Slack name made a Linux one', () => {
    expect(validateLogin({ ssh_public_key: ED25519, login_user: 'ops_1' }, 'Jane')).toEqual({
      ok: true,
      value: { userName: 'ops_1', sshKey: ED25519 },
    });
    expect(validateLogin({ ssh_public_key: ED25519 }, 'Jane.Doe')).toEqual({
      ok: true,
      value: { userName: 'jane_doe', sshKey: ED25519 },
    });
  });

  it('refuses root, invalid names and a name without a key, on their fields', () => {
    expect(validateLogin({ ssh_public_key: ED25519, login_user: 'root' }, 'x')).toEqual({
      ok: false,
      errors: { login_user: expect.stringMatching(/root is not offered/) },
    });
    expect(validateLogin({ ssh_public_key: ED25519, login_user: 'Jane Doe' }, 'x')).toEqual({
      ok: false,
      errors: { login_user: expect.stringMatching(/lower-case letters/) },
    });
    expect(validateLogin({ login_user: 'jdoe' }, 'x')).toEqual({
      ok: false,
      errors: { ssh_public_key: expect.stringMatching(/Give the SSH public key/) },
    });
  });

  it.each([
    ['jdoe', 'jdoe'],
    ['Jane.Doe', 'jane_doe'],
    ['José Ortiz', 'jose_ortiz'],
    ['9lives', 'u9lives'],
    ['root', 'cloud-user'],
    ['Root', 'cloud-user'],
    ['日本', 'cloud-user'],
    ['', 'cloud-user'],
    [undefined, 'cloud-user'],
    ['a'.repeat(40), 'a'.repeat(32)],
    ["x'; rm -rf /", 'x_rm_-rf'],
  ])('makes the Slack name %p the user name %p', (slackName, userName) => {
    expect(linuxUserNameOf(slackName)).toBe(userName);
  });

  it('reads the key and name back from a stored request for Rebuild, and nothing from something else', () => {
    const customizations = { users: [{ name: 'jdoe', ssh_key: ED25519, groups: ['wheel'] }] };
    expect(loginFormValues(customizations)).toEqual({ ssh_public_key: ED25519, login_user: 'jdoe' });
    expect(loginFormValues({ users: [{ name: 'jdoe', password: 'x' }] })).toEqual({});
    expect(loginFormValues('users')).toEqual({});
    expect(loginFormValues(undefined)).toEqual({});
  });
});
