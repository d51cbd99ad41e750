import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The shells a pasted command must survive: /bin/sh (dash here) and bash. */
export const SHELLS = ['/bin/sh', 'bash'] as const;

export interface ShellRun {
  /** The words the shell passed to the program, program first. */
  argv: string[];
  /** Files that appeared in the (empty) working directory: evidence that something executed. */
  created: string[];
}

/**
 * Runs a printed command line through a real shell with its program replaced by `printf '%s\0'`, in an empty
 * directory, and reports exactly which arguments the program would have received.
 */
export function runWithPrintf(command: string, shell: string = SHELLS[0]): ShellRun {
  const program = /^[a-z][a-z0-9-]*(?= )/.exec(command)?.[0];
  if (!program) throw new Error(`Not a command line starting with a plain program name: ${command}`);
  const directory = mkdtempSync(path.join(tmpdir(), 'provider-shell-'));
  try {
    const result = spawnSync(shell, ['-c', `printf '%s\\0'${command.slice(program.length)}`], {
      cwd: directory,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: directory },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`${shell} exited ${result.status}: ${result.stderr}`);
    const words = result.stdout.split('\0');
    words.pop(); // printf's output ends with the terminator of the last word
    return { argv: [program, ...words], created: readdirSync(directory) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
