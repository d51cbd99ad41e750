// First: stops an older Node with a clear message before better-sqlite3 loads.
import '../platform/requireSupportedNode';
import { Command, CommanderError } from 'commander';
import { runDemo } from './demo';

/*
 * `npm run demo [-- --speed N]`: runDemo on this terminal. Exit 0 when the build was shown to its end, 1 when the
 * demo failed (it says why and prints the bot's log), 2 for bad usage.
 */

const program = new Command('npm run demo --')
  .description('the whole bot, with a stand-in Slack and a stand-in Image Builder on loopback')
  .option('--speed <n>', 'how many times faster than a build of about a minute', (value) => Number(value), 1)
  .exitOverride()
  .action(async (opts: { speed: number }) => {
    if (!(opts.speed > 0)) throw new CommanderError(2, 'demo.speed', '--speed must be a positive number');
    await runDemo({ speed: opts.speed, out: process.stdout });
  });

program.parseAsync(process.argv.slice(2), { from: 'user' }).then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    if (error instanceof CommanderError) {
      if (error.exitCode !== 0) process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else process.exitCode = 1;
  },
);
