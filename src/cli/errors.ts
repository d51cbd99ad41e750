/** Bad usage of a command: runCli prints its message and exits 2. */
export class UsageError extends Error {}
