import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageVersion } from '../src/platform/version';

/*
 * `npx image-builder-bot` right after `npm ci`, as the README's quick start has it: in a copy of the checkout with no
 * dist/ and an empty npm cache (npx remembers a bin it could not link), offline, so npx can only run the package's
 * own bin and never look the name up in the registry.
 */

const ROOT = path.resolve(__dirname, '..');
const CHECKOUT_FILES = ['package.json', 'bin', 'src', 'tsconfig.json', 'tsconfig.build.json'];

let checkout: string;
beforeAll(() => {
  checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'ibb-npx-'));
  for (const name of CHECKOUT_FILES) fs.cpSync(path.join(ROOT, name), path.join(checkout, name), { recursive: true });
  // What npm ci installs, without installing it again.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
});
afterAll(() => fs.rmSync(checkout, { recursive: true, force: true }));

function npx(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npx', ['--offline', ...args], {
    cwd: checkout,
    env: {
      // This test's Node first: the npx on PATH may belong to an older one.
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: checkout,
      npm_config_cache: path.join(checkout, '.npm-cache'),
      npm_config_update_notifier: 'false',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('runs the CLI on the first npx after npm ci, building it first, and at once afterwards', async () => {
  expect(fs.existsSync(path.join(checkout, 'dist'))).toBe(false);
  const first = await npx(['image-builder-bot', '--version']);
  expect(first).toEqual({
    code: 0,
    // The build speaks on standard error: standard output is the command's, for scripts.
    stdout: `${packageVersion()}\n`,
    stderr: expect.stringContaining('building dist/ from src/ first'),
  });
  expect(fs.existsSync(path.join(checkout, 'dist', 'cli.js'))).toBe(true);

  const again = await npx([
    'image-builder-bot',
    'compose',
    'aws',
    '--distribution',
    'rhel-9',
    '--share',
    '1',
    '--dry-run',
  ]);
  expect(again.code).toBe(2);
  expect(again.stderr).not.toContain('building');
  expect(again.stderr).toContain('--share: “1” is not an AWS account id');
}, 180_000);
