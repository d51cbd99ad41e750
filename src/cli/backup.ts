import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, DEFAULT_DATABASE_URL } from '../config/config';
import { UsageError } from './errors';
import { DatabaseUrlError, PASSWORD_PARAMETERS, parseDatabaseUrl, type DatabaseLocation } from '../config/databaseUrl';
import { BackupError, backupSqlite } from '../store/backup';
import { printable, terminalJson } from './format';
import type { CliIo } from './program';

/*
 * `image-builder-bot backup <file>`: a consistent copy of the bot's SQLite database, safe while the bot runs. For
 * PostgreSQL it gives the pg_dump line instead: the server's own tool does it better than any copy made here.
 */

export interface BackupCliDeps {
  io: CliIo;
  /** DATABASE_URL as configured, or DEFAULT_DATABASE_URL when unset. */
  databaseUrl: string;
  /** Where relative paths start: the process's working directory. */
  workingDirectory: string;
}

export function backupCommand(program: Command, deps: BackupCliDeps): Command {
  return program
    .command('backup')
    .description("copy the bot's SQLite database to a new file, safely while the bot runs")
    .argument('<file>', 'the new file to write (it must not exist)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const location = databaseLocation(deps);
      if (location.kind === 'postgres') throw new UsageError(pgDumpAdvice(location, file));
      const destination = parseDatabaseUrl(file, deps.workingDirectory);
      if (destination.kind !== 'sqlite') throw new UsageError(`backup: ${file} is not a file name`);
      try {
        const copy = await backupSqlite({ source: location.path, destination: destination.path });
        if (opts.json) deps.io.stdout.write(`${terminalJson(JSON.stringify(copy, null, 2))}\n`);
        else
          deps.io.stdout.write(
            `Backed up ${printable(copy.source)} to ${printable(copy.destination)} ` +
              `(${copy.pages} pages, ${megabytes(copy.bytes)}); the copy passed SQLite's integrity check.\n`,
          );
      } catch (error) {
        if (!(error instanceof BackupError) || error.kind === 'failed') throw error;
        // Unset, DATABASE_URL is relative to wherever backup was run, likely not the folder the bot runs in.
        const unset = deps.databaseUrl === DEFAULT_DATABASE_URL && !existsSync(location.path);
        throw new UsageError(
          `backup: ${error.message}` +
            (unset
              ? `: unset, DATABASE_URL is ${DEFAULT_DATABASE_URL} in the working directory; run backup where the bot runs, or set DATABASE_URL as the bot has it`
              : ''),
        );
      }
    });
}

function databaseLocation(deps: BackupCliDeps): DatabaseLocation {
  try {
    return parseDatabaseUrl(deps.databaseUrl, deps.workingDirectory);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new ConfigError([error.message]);
    throw error;
  }
}

/** The pg_dump line for this database: no password in it anywhere (pg_dump asks, or reads PGPASSWORD or ~/.pgpass), no ?schema. */
export function pgDumpAdvice(location: Extract<DatabaseLocation, { kind: 'postgres' }>, file: string): string {
  const url = new URL(location.connectionString);
  url.password = '';
  for (const name of PASSWORD_PARAMETERS) url.searchParams.delete(name);
  // pg_dump refuses query parameters it does not know, and schema is the bot's own.
  url.searchParams.delete('schema');
  const schema = location.schema === undefined ? '' : ` --schema=${location.schema}`;
  return (
    'backup: DATABASE_URL names PostgreSQL, which the server backs up itself; run ' +
    `pg_dump --format=custom${schema} --file=${shellWord(file)} ${shellWord(url.toString())} ` +
    '(restore with pg_restore --clean --dbname=…)'
  );
}

const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
