import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DockerfileParser,
  type Env,
  type From,
  type Instruction,
  type JSONInstruction,
  type Label,
} from 'dockerfile-ast';
import { DEFAULT_HEALTH_PORT, parseBotConfig } from '../src/config/config';
import { parseDatabaseUrl } from '../src/config/databaseUrl';
import { unsupportedNodeProblem } from '../src/platform/nodeVersion';
import { deploymentMemoryLimit } from '../scripts/bench/memoryLimit';

/*
 * No Docker engine runs in CI, so the image definition is checked as text: the Dockerfile through a real parser,
 * .dockerignore through Docker's matching rules. scripts/verify-runtime-stage.sh runs what the runtime stage runs.
 */

const repoRoot = path.resolve(__dirname, '..');
const readRepoFile = (file: string) => fs.readFileSync(path.join(repoRoot, file), 'utf8');

const dockerfile = DockerfileParser.parse(readRepoFile('Dockerfile'));
const packageJson = JSON.parse(readRepoFile('package.json')) as { main: string; license: string };

interface Stage {
  from: From;
  instructions: Instruction[];
}

/** The instructions of each stage, in order, each stage starting at its FROM. */
function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === 'FROM') stages.push({ from: instruction as From, instructions: [] });
    else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const stages = stagesOf(dockerfile.getInstructions());
const buildStage = stages[0]!;
const runtimeStage = stages.at(-1)!;

const instructionsIn = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const shellOf = (stage: Stage) => instructionsIn(stage, 'RUN').map((run) => run.getArgumentsContent() ?? '');
const jsonArgs = (instruction: Instruction) =>
  (instruction as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());

function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const instruction of instructionsIn(stage, 'ENV')) {
    for (const property of (instruction as Env).getProperties()) env.set(property.getName(), property.getValue() ?? '');
  }
  return env;
}

const runtimeEnv = envOf(runtimeStage);
const runtimeUser = instructionsIn(runtimeStage, 'USER').at(-1)?.getArgumentsContent() ?? '';
const [runtimeUid, runtimeGid] = runtimeUser.split(':');
const nodeVersions = stages.map((stage) => /^(\d+)\.\d+\.\d+-/.exec(stage.from.getImageTag() ?? '')?.[1]);

describe('the Dockerfile', () => {
  it('builds in one stage and runs from another that copies the result', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const buildName = buildStage.from.getBuildStage();
    expect(buildName).toBeTruthy();
    const copiedFromBuild = dockerfile.getCOPYs().filter((copy) => copy.getFromFlag()?.getValue() === buildName);
    expect(copiedFromBuild.length).toBeGreaterThan(0);
  });

  it('bases every stage on the same pinned Node 24 release of Debian bookworm-slim, never Alpine', () => {
    for (const { from } of stages) {
      expect(from.getRegistry()).toBeNull();
      expect(from.getImageName()).toBe('node');
      // An exact x.y.z: a floating tag would change the Node under the native module from one build to the next.
      expect(from.getImageTag()).toMatch(/^24\.\d+\.\d+-bookworm-slim$/);
      expect(from.getImage()).not.toMatch(/alpine/i);
      // Beside the tag, the digest scripts/pin-base-image.sh writes: the whole index, so every architecture is pinned.
      const digest = from.getImageDigest();
      if (digest !== null) expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    // The build stage installs and checks node_modules on the Node the runtime stage runs: same tag, same digest.
    expect(new Set(stages.map(({ from }) => from.getImage())).size).toBe(1);
  });

  it('runs a Node release the bot accepts (package.json engines)', () => {
    const version = /^(\d+\.\d+\.\d+)-/.exec(runtimeStage.from.getImageTag() ?? '')?.[1];
    expect(version).toBeDefined();
    expect(unsupportedNodeProblem(version!)).toBeUndefined();
  });

  it('reads the Node release from FROM lines pinned by digest, as scripts/pin-base-image.sh writes them', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const pinned = readRepoFile('Dockerfile').replace(
      /^(FROM\s+node:[^\s@]+)(@sha256:[0-9a-f]{64})?/gm,
      `$1@${digest}`,
    );
    const [build, runtime] = stagesOf(DockerfileParser.parse(pinned).getInstructions());
    expect(build?.from.getImageDigest()).toBe(digest);
    expect(runtime?.from.getImageTag()).toBe(runtimeStage.from.getImageTag());
    // The scripts that install the image's Node (test-on-node24.sh, verify-runtime-stage.sh) read the same lines.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ibb-dockerfile-'));
    try {
      fs.writeFileSync(path.join(scratch, 'Dockerfile'), pinned);
      const read = spawnSync(
        'bash',
        [
          '-c',
          'fail() { echo "$*" >&2; exit 1; }; repo="$1"; source "$2"; image_node_version',
          '-',
          scratch,
          path.join(repoRoot, 'scripts/lib/image-node.sh'),
        ],
        { encoding: 'utf8' },
      );
      expect(read.stderr).toBe('');
      expect(read.stdout.trim()).toBe(/^(\d+\.\d+\.\d+)-/.exec(runtimeStage.from.getImageTag() ?? '')?.[1]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('compiles nothing: the better-sqlite3 of the lockfile ships prebuilt Node-API binaries and runs no install script', () => {
    const lock = JSON.parse(readRepoFile('package-lock.json')) as {
      packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
    };
    const sqlite = lock.packages['node_modules/better-sqlite3'];
    // 13 is the first Node-API release: one binary for every Node, inside the package (12 compiled or downloaded one
    // per Node ABI).
    expect(Number(sqlite?.version?.split('.')[0])).toBeGreaterThanOrEqual(13);
    expect(sqlite?.hasInstallScript).not.toBe(true);
    // Its package still carries binding.gyp, for which npm would run `node-gyp rebuild` (a minute of compiling) were
    // it allowed to: package.json's allowScripts says no.
    const { allowScripts } = JSON.parse(readRepoFile('package.json')) as { allowScripts?: Record<string, boolean> };
    expect(allowScripts?.['better-sqlite3']).toBe(false);
    for (const stage of stages) {
      const words = shellOf(stage).join(' ').split(/\s+/);
      expect(words.filter((word) => ['python3', 'make', 'g++', 'gcc', 'build-essential'].includes(word))).toEqual([]);
      expect([...envOf(stage).keys()].filter((name) => /^npm_config_(build_from_source|nodedir)$/i.test(name))).toEqual(
        [],
      );
    }
  });

  it('installs from the lockfile, then ships only the production dependencies', () => {
    const buildShell = shellOf(buildStage);
    const install = buildShell.findIndex((command) => /\bnpm ci\b/.test(command));
    const compile = buildShell.findIndex((command) => /\bnpm run build\b/.test(command));
    const prune = buildShell.findIndex((command) => /\bnpm (prune|ci)\b[^&]*--omit=dev/.test(command));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(install);
    expect(prune).toBeGreaterThan(compile);
    expect(shellOf(runtimeStage).join('\n')).not.toMatch(/\bnpm (ci|install|i)\b/);
    const copiedFromBuild = instructionsIn(runtimeStage, 'COPY').map((copy) => copy.getArgumentsContent() ?? '');
    for (const part of ['node_modules', 'dist', 'package.json']) {
      expect(copiedFromBuild.some((args) => args.includes(`/app/${part}`))).toBe(true);
    }
  });

  it('runs as a numeric, non-root user in group 0', () => {
    expect(runtimeUid).toMatch(/^\d+$/);
    expect(Number(runtimeUid)).toBeGreaterThan(0);
    expect(runtimeGid).toBe('0');
    expect(shellOf(runtimeStage).join('\n')).toMatch(new RegExp(`useradd\\b.*--uid ${runtimeUid}\\b.*--gid 0\\b`));
  });

  it('lets group 0 write the data folder, before VOLUME freezes it, so an arbitrary UID can run the bot', () => {
    const runs = instructionsIn(runtimeStage, 'RUN');
    const preparesData = runs.find((run) => /\/data\b/.test(run.getArgumentsContent() ?? ''));
    expect(preparesData).toBeDefined();
    const shell = preparesData!.getArgumentsContent() ?? '';
    expect(shell).toMatch(/(chown \S*:0|chgrp 0) \/data\b/);
    expect(shell).toMatch(/chmod \S*\bg=u\b\S* \/data\b/);
    const volume = instructionsIn(runtimeStage, 'VOLUME')[0];
    expect(volume?.getArgumentsContent()).toMatch(/(^|\s|")\/data("|\s|$)/);
    const order = runtimeStage.instructions;
    expect(order.indexOf(preparesData!)).toBeLessThan(order.indexOf(volume!));
  });

  it('leaves the application files to root, readable by group 0 and not writable by the bot', () => {
    for (const copy of instructionsIn(runtimeStage, 'COPY')) {
      expect((copy as JSONInstruction).getFlags().map((flag) => flag.getName())).not.toContain('chown');
    }
    expect(shellOf(runtimeStage).join('\n')).not.toMatch(/\b(chown|chmod)\b[^&]*\/app\b/);
  });

  it('keeps the database on the /data volume, in a form the bot accepts', () => {
    const databaseUrl = runtimeEnv.get('DATABASE_URL');
    expect(databaseUrl).toBeDefined();
    expect(parseDatabaseUrl(databaseUrl!, '/app')).toEqual({ kind: 'sqlite', path: '/data/image-builder-bot.sqlite' });
    expect(runtimeEnv.get('NODE_ENV')).toBe('production');
  });

  describe("sizes Node's memory to the container's", () => {
    const flags = (runtimeEnv.get('NODE_OPTIONS') ?? '').split(/\s+/).filter(Boolean);
    const value = (name: string) => {
      const given = flags.filter((flag) => flag.startsWith(`${name}=`));
      return given.length === 1 ? Number(given[0]!.slice(name.length + 1)) : undefined;
    };

    it('gives Node only flags it accepts, or the container would not start', () => {
      const started = spawnSync(process.execPath, [...flags, '-e', ''], { encoding: 'utf8' });
      expect(started.stderr).toBe('');
      expect(started.status).toBe(0);
    });

    it("caps the old space at a share of the container's limit that leaves room for the rest of the process", () => {
      // A fixed size stays put when an operator changes the Pod's limit, and 256 MB of heap alone filled the 256Mi
      // the Deployment gives, leaving nothing for the rest of the process.
      expect(value('--max-old-space-size')).toBeUndefined();
      const percentage = value('--max-old-space-size-percentage');
      expect(percentage).toBeGreaterThan(0);
      const semiSpaceMb = value('--max-semi-space-size');
      // Node 24 otherwise grows its young generation to ~30 MB and keeps it.
      expect(semiSpaceMb).toBeGreaterThan(0);
      const limitMb = deploymentMemoryLimit(repoRoot) / 1024 ** 2;
      // Besides the heap, the bot idles with ~57 MB of node's own pages and up to ~25 MB of native memory on Node 24
      // (npm run bench, startup), and the young generation takes up to three semi-spaces.
      const restMb = 57 + 25 + 3 * semiSpaceMb!;
      expect((limitMb * percentage!) / 100 + restMb).toBeLessThanOrEqual(limitMb);
    });
  });

  describe("keeps glibc's malloc returning freed native memory to the system", () => {
    const tunables = new Map(
      (runtimeEnv.get('GLIBC_TUNABLES') ?? '').split(':').map((tunable) => tunable.split('=') as [string, string]),
    );
    // The image's glibc (Debian bookworm's 2.36) lists the tunables it took; glibc ignores a misspelt one silently.
    const loader = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find((file) => fs.existsSync(file));
    const listed = loader ? spawnSync(loader, ['--list-tunables'], { encoding: 'utf8' }) : undefined;
    const readsTunables = listed?.status === 0 && listed.stdout.includes('glibc.malloc.');

    it("fixes the mmap threshold low, so that the compilers' large blocks go back to the system when freed", () => {
      // Raised dynamically, it let a thread's arena keep ~10 MB that V8's compilers had freed (npm run bench, startup).
      const threshold = Number(tunables.get('glibc.malloc.mmap_threshold'));
      expect(threshold).toBeGreaterThan(0);
      expect(threshold).toBeLessThanOrEqual(64 * 1024);
    });

    (readsTunables ? it : it.skip)(
      `spells every tunable as glibc reads it${readsTunables ? '' : ' (skipped: no glibc loader here lists its tunables)'}`,
      () => {
        const taken = spawnSync(loader!, ['--list-tunables'], {
          encoding: 'utf8',
          env: { GLIBC_TUNABLES: runtimeEnv.get('GLIBC_TUNABLES') },
        });
        for (const [name, value] of tunables) {
          // Sizes are listed in hexadecimal, counts in decimal.
          const shown = `(0x${Number(value).toString(16)}|${Number(value)})`;
          expect(taken.stdout).toMatch(new RegExp(`^${name.replaceAll('.', '\\.')}: ${shown} `, 'm'));
        }
      },
    );
  });

  it('exposes the ports the bot listens on by default: /slack/events and, apart, health and metrics on every address', () => {
    const defaults = parseBotConfig({
      SLACK_BOT_TOKEN: 'xoxb-dockerfile-test',
      SLACK_SIGNING_SECRET: 'dockerfile-test-secret',
      IMAGE_BUILDER_OFFLINE_TOKEN: 'dockerfile-test-token',
      POLICY_FILE: 'open',
    });
    const exposed = instructionsIn(runtimeStage, 'EXPOSE').map((expose) => expose.getArgumentsContent());
    expect(exposed).toEqual([`${defaults.port} ${defaults.health.port}`]);
    expect(runtimeEnv.get('PORT')).toBe(String(defaults.port));
    expect(runtimeEnv.get('HEALTH_PORT')).toBe(String(defaults.health.port));
    // Probes reach a pod on its own address, not on its loopback.
    expect(runtimeEnv.get('HEALTH_HOST')).toBe('0.0.0.0');
  });

  it('checks health with node itself against /healthz on the configured HEALTH_PORT', () => {
    const [healthcheck] = dockerfile.getHEALTHCHECKs();
    expect(healthcheck?.getSubcommand()?.getValue()).toBe('CMD');
    const command = JSON.parse((healthcheck!.getArgumentsContent() ?? '').replace(/^CMD\s+/, '')) as string[];
    expect(command[0]).toBe('node');
    const script = command.join(' ');
    expect(script).toContain('/healthz');
    expect(script).toContain('process.env.HEALTH_PORT');
    expect(script).toContain(`||${DEFAULT_HEALTH_PORT})`);
    expect(script).not.toMatch(/\b(curl|wget)\b/);
  });

  it('starts the package main under an init that forwards SIGTERM', () => {
    const cmd = instructionsIn(runtimeStage, 'CMD').at(-1);
    expect(cmd && jsonArgs(cmd)).toEqual(['node', packageJson.main]);
    expect(packageJson.main).toBe('dist/index.js');
    const entrypoint = instructionsIn(runtimeStage, 'ENTRYPOINT').at(-1);
    expect(entrypoint && jsonArgs(entrypoint)).toEqual(['/usr/bin/tini', '--']);
    expect(shellOf(runtimeStage).join('\n')).toMatch(/apt-get install\b.*\btini\b/);
    expect(instructionsIn(runtimeStage, 'STOPSIGNAL').map((i) => i.getArgumentsContent())).toEqual(['SIGTERM']);
  });

  it('labels the image with OCI metadata', () => {
    const labels = new Map(
      instructionsIn(runtimeStage, 'LABEL').flatMap((label) =>
        (label as Label).getProperties().map((p) => [p.getName(), p.getValue()?.replace(/^"(.*)"$/, '$1')] as const),
      ),
    );
    expect(labels.get('org.opencontainers.image.title')).toBe('image-builder-bot');
    expect(labels.get('org.opencontainers.image.licenses')).toBe(packageJson.license);
    expect(labels.get('org.opencontainers.image.base.name')).toBe(`docker.io/library/${runtimeStage.from.getImage()}`);
  });

  it('tests on the Node major the image runs', () => {
    const script = readRepoFile('scripts/test-on-node24.sh');
    const scriptMajor = /^readonly NODE_MAJOR=(\d+)$/m.exec(script)?.[1];
    expect(scriptMajor).toBeDefined();
    expect(nodeVersions).toEqual(stages.map(() => scriptMajor));
  });
});

/**
 * Whether Docker leaves `file` (a slash-separated path from the context root) out of the build context. Follows
 * moby's patternmatcher: the last pattern that matches the path or one of its parent folders decides, `!` lets a
 * path back in, `*` and `?` stay within one path segment and `**` spans any number of them.
 */
function dockerIgnores(dockerignore: string, file: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!');
      const pattern = path.posix.normalize((exclusion ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, '');
      return { exclusion, regex: globToRegex(pattern) };
    });
  const segments = file.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const { exclusion, regex } of patterns) {
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !exclusion;
  }
  return ignored;
}

function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(.*/)?';
      } else {
        source += '.*';
      }
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

describe('the .dockerignore', () => {
  const dockerignore = readRepoFile('.dockerignore');

  it.each([
    '.env',
    '.env.local',
    '.env.example',
    'src/.env',
    'node_modules/zod/package.json',
    'src/node_modules/x/index.js',
    'dist/index.js',
    'test/dockerfile.test.ts',
    'coverage/lcov.info',
    'data/image-builder-bot.sqlite',
    'image-builder-bot.sqlite-wal',
    'src/leftover.sqlite',
    '.git/config',
    'scripts/verify-runtime-stage.sh',
  ])('keeps %s out of the build context', (file) => {
    expect(dockerIgnores(dockerignore, file)).toBe(true);
  });

  const copiedFromContext = dockerfile
    .getCOPYs()
    .filter((copy) => copy.getFromFlag() === null)
    .flatMap((copy) =>
      copy
        .getArguments()
        .slice(0, -1)
        .map((source) => source.getValue()),
    );
  const sourceFiles = (fs.readdirSync(path.join(repoRoot, 'src'), { recursive: true }) as string[])
    .map((file) => path.posix.join('src', file.split(path.sep).join('/')))
    .filter((file) => fs.statSync(path.join(repoRoot, file)).isFile());

  it.each(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.cjs'])(
    'sends %s, which the build reads',
    (file) => {
      expect(copiedFromContext).toContain(file);
      expect(dockerIgnores(dockerignore, file)).toBe(false);
    },
  );

  it('sends every source file, and everything else the Dockerfile copies from the context', () => {
    expect(sourceFiles.length).toBeGreaterThan(0);
    const leftOut = [...copiedFromContext, ...sourceFiles].filter((file) => dockerIgnores(dockerignore, file));
    expect(leftOut).toEqual([]);
  });
});
