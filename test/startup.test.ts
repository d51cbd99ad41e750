import { spawnSync } from 'node:child_process';
import path from 'node:path';

/*
 * `npm start` with a bad environment, as an operator meets it: one message naming every problem, a non-zero exit,
 * and nothing contacted (the URLs below point at a closed port; reaching them would show up as a different error).
 */

const root = path.resolve(__dirname, '..');

function startBot(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--require', './test/support/registerTs.cjs', 'src/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

it('names every missing or malformed variable and exits before connecting to anything', () => {
  const result = startBot({
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    IMAGE_BUILDER_URL: 'http://127.0.0.1:9/api/image-builder/v1',
    POLL_INTERVAL_SECONDS: 'often',
    PORT: '70000',
    DATABASE_URL: 'mysql://db/bot',
  });
  expect(result.status).toBe(2);
  for (const name of [
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'POLL_INTERVAL_SECONDS',
    'PORT',
    'DATABASE_URL',
    'IMAGE_BUILDER_CLIENT_ID + IMAGE_BUILDER_CLIENT_SECRET',
  ]) {
    expect(result.stderr).toContain(name);
  }
  expect(result.stderr).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+/);
});

it('accepts Socket Mode without a signing secret', () => {
  const result = startBot({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'bad-token' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('SLACK_APP_TOKEN: must be an app-level token');
  expect(result.stderr).not.toContain('SLACK_SIGNING_SECRET');
});
