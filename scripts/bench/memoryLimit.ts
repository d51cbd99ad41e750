import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/*
 * The bench runs the bot inside a memory cgroup limited like its container in deploy/base/deployment.yaml, so that
 * it is measured as it runs there: the image sizes V8's heap as a share of the memory the process may use (the
 * Dockerfile's NODE_OPTIONS), which on an unlimited bench machine would be gigabytes, and a bot that would be
 * OOM-killed in its Pod is killed here too, and reported.
 *
 * It takes root and a memory controller the bench may write to (cgroup v2, or v1's memory hierarchy), as on Linux CI
 * runners and containers run with privileges. Elsewhere the bench says why there is no limit and measures without.
 * Ours, not a library's: the tools that make cgroups (systemd-run, cgcreate, Docker) need a daemon or a package this
 * bench cannot count on; a cgroup is a folder and three files.
 */

/** The memory limit of the bot's container in the Deployment, in bytes. */
export function deploymentMemoryLimit(root: string): number {
  const file = path.join(root, 'deploy', 'base', 'deployment.yaml');
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const manifest = document.toJS() as DeploymentShape | null;
    if (manifest?.kind !== 'Deployment') continue;
    const container = manifest.spec?.template?.spec?.containers?.find((candidate) => candidate.name === 'bot');
    const limit = container?.resources?.limits?.memory;
    if (limit !== undefined) return quantityBytes(String(limit));
  }
  throw new Error(`${file}: no memory limit on the Deployment's bot container`);
}

interface DeploymentShape {
  kind?: string;
  spec?: {
    template?: {
      spec?: { containers?: { name?: string; resources?: { limits?: { memory?: string | number } } }[] };
    };
  };
}

const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

/** A Kubernetes memory quantity ("256Mi", "300M", "268435456") in bytes. */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a memory quantity the bench reads: ${quantity}`);
  return Math.round(Number(match[1]) * QUANTITY_UNITS[match[2] ?? '']!);
}

/** One process's cgroup, limited to the bytes it was made with. */
interface MemoryCgroup {
  /** The command and arguments that run `command args` inside the cgroup (the shell joins it, then execs). */
  wrap(command: string, args: string[]): [string, string[]];
  /** Processes of the cgroup the kernel has killed for going over the limit. */
  oomKills(): number;
  /** Removes the cgroup once its process has exited. */
  remove(): void;
}

interface Hierarchy {
  version: 1 | 2;
  /** The folder of this process's own cgroup in that hierarchy: new cgroups go under it. */
  parent: string;
}

/** The memory hierarchy this process is in, from /proc/self/mountinfo and /proc/self/cgroup. */
function memoryHierarchy(): Hierarchy | { error: string } {
  let mountinfo: string;
  let membership: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    membership = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return { error: 'no /proc/self/mountinfo (not Linux)' };
  }
  const mounts = mountinfo.split('\n').map((line) => {
    const [before, after = ''] = line.split(' - ');
    const fields = before!.split(' ');
    const [type, , options = ''] = after.split(' ');
    return { root: fields[3], point: fields[4], type, options: options.split(',') };
  });
  const groups = membership.split('\n').map((line) => {
    const [, controllers = '', group = ''] = line.split(':');
    return { controllers: controllers.split(','), group };
  });
  const v1 = mounts.find((mount) => mount.type === 'cgroup' && mount.options.includes('memory'));
  const v1Group = groups.find((entry) => entry.controllers.includes('memory'));
  if (v1?.point && v1Group) return { version: 1, parent: underMount(v1.point, v1.root, v1Group.group) };
  const v2 = mounts.find((mount) => mount.type === 'cgroup2');
  const v2Group = groups.find((entry) => entry.controllers.length === 1 && entry.controllers[0] === '');
  if (v2?.point && v2Group) {
    const parent = underMount(v2.point, v2.root, v2Group.group);
    const controllers = readOr(path.join(parent, 'cgroup.controllers'), '');
    if (controllers.split(/\s+/).includes('memory')) return { version: 2, parent };
    return { error: `cgroup v2 at ${v2.point} offers no memory controller to ${parent}` };
  }
  return { error: 'no cgroup memory controller is mounted' };
}

/** Where a cgroup path lies on disk, for a hierarchy mounted at `point` from `root` of it. */
function underMount(point: string, root: string | undefined, group: string): string {
  const relative = root && root !== '/' && group.startsWith(root) ? group.slice(root.length) : group;
  return path.join(point, relative);
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

let made = 0;

/** A new cgroup limited to `limitBytes` with no swap, or why the bench cannot make one here. */
function createMemoryCgroup(limitBytes: number): MemoryCgroup | { error: string } {
  const hierarchy = memoryHierarchy();
  if ('error' in hierarchy) return hierarchy;
  const folder = path.join(hierarchy.parent, `ibb-bench-${process.pid}-${made++}`);
  const files =
    hierarchy.version === 2
      ? { limit: 'memory.max', swap: 'memory.swap.max', swapValue: '0', events: 'memory.events' }
      : {
          limit: 'memory.limit_in_bytes',
          swap: 'memory.memsw.limit_in_bytes',
          swapValue: String(limitBytes),
          events: 'memory.oom_control',
        };
  try {
    if (hierarchy.version === 2) enableMemoryFor(hierarchy.parent);
    mkdirSync(folder);
    writeFileSync(path.join(folder, files.limit), String(limitBytes));
  } catch (error) {
    try {
      rmdirSync(folder);
    } catch {
      // It was not made.
    }
    return { error: `cannot make a memory cgroup under ${hierarchy.parent}: ${(error as Error).message}` };
  }
  try {
    // Without swap the limit is what the process may use, as in a Pod (the kubelet runs without swap by default).
    writeFileSync(path.join(folder, files.swap), files.swapValue);
  } catch {
    // No swap accounting on this kernel: there is no swap to limit either.
  }
  return {
    wrap: (command, args) => ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', folder, command, ...args]],
    oomKills: () => Number(/^oom_kill (\d+)$/m.exec(readOr(path.join(folder, files.events), ''))?.[1] ?? 0),
    remove: () => {
      try {
        rmdirSync(folder);
      } catch {
        // Still has a process, or already gone: the kernel frees an empty cgroup with its parent.
      }
    },
  };
}

/** In cgroup v2 a child gets the memory controller only if its parent hands it down. */
function enableMemoryFor(parent: string): void {
  const control = path.join(parent, 'cgroup.subtree_control');
  if (!readOr(control, '').split(/\s+/).includes('memory')) writeFileSync(control, '+memory');
}

export interface LimitedChild {
  child: ChildProcess;
  /** Why it runs without a memory limit; undefined when it runs within one. */
  unlimited?: string;
  /** Whether the kernel has killed it for going over the limit. */
  oomKilled(): boolean;
}

/** Spawns `command args` in a memory cgroup of its own limited to `limitBytes`, or without a limit where none can be made. */
export function spawnWithinMemory(
  limitBytes: number,
  command: string,
  args: string[],
  options: SpawnOptions,
): LimitedChild {
  const cgroup = createMemoryCgroup(limitBytes);
  if ('error' in cgroup)
    return { child: spawn(command, args, options), unlimited: cgroup.error, oomKilled: () => false };
  const child = spawn(...cgroup.wrap(command, args), options);
  let killsAtExit: number | undefined;
  child.once('exit', () => {
    killsAtExit = cgroup.oomKills();
    cgroup.remove();
  });
  return { child, oomKilled: () => (killsAtExit ?? cgroup.oomKills()) > 0 };
}
