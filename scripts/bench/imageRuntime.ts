import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Env } from 'dockerfile-ast';

/*
 * The runtime the container image starts the bot with, read from the Dockerfile so that the bench measures the bot
 * that ships: the runtime stage's NODE_OPTIONS and GLIBC_TUNABLES (a setting added there is measured here, not a
 * copy of it), and its Node.js release, installed outside the repository by scripts/lib/image-node.sh as CI does.
 */

/** The ENV of the Dockerfile's runtime stage (its last), read by the parser test/dockerfile.test.ts uses too. */
function runtimeStageEnv(root: string): Map<string, string> {
  const instructions = DockerfileParser.parse(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).getInstructions();
  const lastFrom = instructions.findLastIndex((instruction) => instruction.getKeyword() === 'FROM');
  const env = new Map<string, string>();
  for (const instruction of instructions.slice(lastFrom + 1)) {
    if (instruction.getKeyword() !== 'ENV') continue;
    for (const property of (instruction as Env).getProperties()) env.set(property.getName(), property.getValue() ?? '');
  }
  return env;
}

/** The flags of the Dockerfile's NODE_OPTIONS. */
export function imageNodeOptions(root: string): string[] {
  const options = runtimeStageEnv(root).get('NODE_OPTIONS');
  if (options === undefined)
    throw new Error('the Dockerfile sets no NODE_OPTIONS: the bench would not start the bot as the image does');
  return options.split(/\s+/).filter(Boolean);
}

/**
 * The environment the image gives the process below the bot's own settings: glibc's malloc tunables
 * (GLIBC_TUNABLES), which decide how much freed native memory goes back to the system.
 */
export function imageProcessEnv(root: string): Record<string, string> {
  const tunables = runtimeStageEnv(root).get('GLIBC_TUNABLES');
  return tunables === undefined ? {} : { GLIBC_TUNABLES: tunables };
}

export type ImageNode = { node: string; version: string } | { error: string };

/** The image's Node.js binary (installed into the cache on first use), or why it could not be had. */
export function imageNode(root: string): ImageNode {
  const script = [
    'set -euo pipefail',
    'repo="$1"',
    'log() { printf "%s\\n" "$*" >&2; }',
    'fail() { log "$*"; exit 1; }',
    'source "$repo/scripts/lib/image-node.sh"',
    'use_image_node >&2',
    'printf "%s\\n" "$node_home/bin/node"',
  ].join('\n');
  try {
    const node = execFileSync('bash', ['-c', script, 'image-node', root], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    return { node, version };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return { error: stderr ? stderr.split('\n').at(-1)! : String(error) };
  }
}
