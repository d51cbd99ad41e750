import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MINIMUM_NODE_VERSION, unsupportedNodeProblem } from '../src/platform/nodeVersion';

/*
 * On a Node older than the one it needs, the bot and the CLI say so in one line, before better-sqlite3 (which
 * crashes such a Node in native code) is loaded.
 */

const root = path.resolve(__dirname, '..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('unsupportedNodeProblem', () => {
  it.each(['22.13.0', '22.13.1', '22.20.0', '24.22.3', '25.0.0'])('accepts Node %s', (version) => {
    expect(unsupportedNodeProblem(version, '22.13.0')).toBeUndefined();
  });

  it.each(['20.19.5', '22.12.9', '21.7.3', '18.20.8'])('names the Node needed on Node %s', (version) => {
    expect(unsupportedNodeProblem(version, '22.13.0')).toBe(
      `Node.js 22.13.0 or newer is required, this is Node.js ${version}`,
    );
  });

  it('asks for the Node that package.json engines names', () => {
    expect(packageJson.engines.node).toBe(`>=${MINIMUM_NODE_VERSION}`);
  });

  it('is tested in CI on its own major, at a release it accepts', () => {
    const ciNode = /^readonly NODE_22_VERSION=(\d+\.\d+\.\d+)$/m.exec(
      readFileSync(path.join(root, '.ci/run'), 'utf8'),
    )?.[1];
    expect(ciNode?.split('.')[0]).toBe(MINIMUM_NODE_VERSION.split('.')[0]);
    expect(unsupportedNodeProblem(ciNode!)).toBeUndefined();
  });
});

describe.each([
  ['the bot', 'src/index.ts'],
  ['the CLI', 'src/cli.ts'],
])('%s on Node 20', (_name, entry) => {
  it('exits with one line naming the Node it needs, before loading better-sqlite3', () => {
    // Node 20 pretended: the version check reads process.versions.node, and loading better-sqlite3 would be seen.
    const pretendNode20 = `
      Object.defineProperty(process.versions, 'node', { value: '20.19.5' });
      const Module = require('node:module');
      const load = Module._load;
      Module._load = function (request, ...rest) {
        if (request === 'better-sqlite3') process.stderr.write('better-sqlite3 was loaded\\n');
        return load.call(this, request, ...rest);
      };
      require(${JSON.stringify(path.join(root, entry))});
    `;
    const result = spawnSync(
      process.execPath,
      ['--require', './test/support/registerTs.cjs', '-e', pretendNode20, 'list'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(result.stderr).toBe(
      `image-builder-bot: Node.js ${MINIMUM_NODE_VERSION} or newer is required, this is Node.js 20.19.5\n`,
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
  });
});
