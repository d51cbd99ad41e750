import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPolicy, OPEN_POLICY, POLICY_FILE_MAX_BYTES, PolicyError } from '../../src/policy';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'policy-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function write(name: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, content);
  return file;
}

async function failureOf(file: string): Promise<PolicyError> {
  try {
    await loadPolicy({ kind: 'file', file });
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('the policy was accepted');
}

describe('loading the policy file', () => {
  it('runs the open policy when it is chosen', async () => {
    await expect(loadPolicy({ kind: 'open' })).resolves.toBe(OPEN_POLICY);
    expect(OPEN_POLICY).toEqual({ admins: [], limits: {} });
  });

  it('reads a file and remembers where it came from', async () => {
    const file = await write('policy.yaml', '\uFEFFadmins: [U0123ABCD]\n');
    await expect(loadPolicy({ kind: 'file', file })).resolves.toEqual({
      source: file,
      admins: ['U0123ABCD'],
      limits: {},
    });
  });

  it('says when the file does not exist', async () => {
    const file = path.join(directory, 'missing.yaml');
    const error = await failureOf(file);
    expect(error).toMatchObject({ kind: 'missing', file, problems: ['it does not exist'] });
    expect(error.message).toBe(`Cannot use the policy file ${file} (POLICY_FILE):\n  - it does not exist`);
  });

  it('says when the name is a directory', async () => {
    await expect(failureOf(directory)).resolves.toMatchObject({
      kind: 'unreadable',
      problems: ['it is a directory, not a file'],
    });
  });

  // Root reads anything, so the permission check only means something for other users.
  const asRoot = process.getuid?.() === 0;
  (asRoot ? it.skip : it)(
    `says when the file cannot be read${asRoot ? ' (skipped: running as root, which reads any file)' : ''}`,
    async () => {
      const file = await write('secret.yaml', 'admins: []\n');
      await chmod(file, 0o000);
      await expect(failureOf(file)).resolves.toMatchObject({
        kind: 'unreadable',
        problems: ['it cannot be read: permission denied'],
      });
    },
  );

  it('refuses a huge file without reading it whole', async () => {
    const file = await write('huge.yaml', `admins: [${'"U0123ABCD", '.repeat(POLICY_FILE_MAX_BYTES / 8)}]\n`);
    await expect(failureOf(file)).resolves.toMatchObject({
      kind: 'unreadable',
      problems: ['it is larger than 256 KiB, far more than any policy needs; is this the right file?'],
    });
  });

  it('accepts a large policy just under the limit', async () => {
    const accounts = Array.from({ length: 12_000 }, (_, i) => `"${String(i).padStart(12, '0')}"`);
    const text = `sharing:\n  "*":\n    aws_accounts: [${accounts.join(', ')}]\n`;
    expect(text.length).toBeLessThan(POLICY_FILE_MAX_BYTES);
    const policy = await loadPolicy({ kind: 'file', file: await write('large.yaml', text) });
    expect(policy.sharing?.get('*')?.awsAccounts).toHaveLength(12_000);
  });

  it('refuses a file that is not UTF-8 text', async () => {
    const file = await write(
      'latin1.yaml',
      Uint8Array.from([0x61, 0x64, 0x6d, 0x69, 0x6e, 0x73, 0x3a, 0x20, 0xe9, 0x0a]),
    );
    await expect(failureOf(file)).resolves.toMatchObject({ kind: 'unreadable', problems: ['it is not UTF-8 text'] });
  });

  it('reports syntax and schema problems with the file name', async () => {
    const file = await write('policy.yaml', 'admins: [nobody]\n');
    const error = await failureOf(file);
    expect(error.kind).toBe('invalid');
    expect(error.message).toBe(
      `Cannot use the policy file ${file} (POLICY_FILE):\n  - line 1: admins[0]: "nobody" is not a Slack user id (U… or W…, e.g. U0123ABCD)`,
    );
  });
});
