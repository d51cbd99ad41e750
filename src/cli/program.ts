import { Command, CommanderError, Option } from 'commander';
import type { Clock } from '../platform/clock';
import { describeOutcome, findComposeCreatedAt, type ComposeOutcome } from '../compose/outcome';
import { buildDispatchers, ConfigError, databaseUrlSetting, parseCoreConfig, type CoreConfig, type Environment } from '../config/config';
import { imageBuilderFromConfig } from '../imageBuilder/fromConfig';
import {
  isFinalStatus,
  isImageBuilderError,
  type ComposeStatus,
  type ImageBuilderClient,
} from '../imageBuilder';
import { createLogger } from '../platform/logger';
import {
  architecturesBuilding,
  buildComposeRequest,
  commonFields,
  newestFirst,
  providers,
  validateOrder,
  type FieldSpec,
  type Provider,
} from '../providers';
import { auditCommand } from './audit';
import { composesText, distributionsText, outcomeText, printable, printableLines, statusText, terminalJson } from './format';

/*
 * `image-builder-bot`: the core without Slack, for whoever runs the bot (and for scripts, with --json).
 * Exit status: 0 done, 1 the request or the build failed, 2 bad usage or configuration.
 */

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export interface CliDeps {
  env: Environment;
  /** Where a relative DATABASE_URL starts from. */
  workingDirectory: string;
  io: CliIo;
  clock: Clock;
  sleep(ms: number): Promise<void>;
}

class UsageError extends Error {}
class FailedBuild extends Error {}

const DEFAULT_WAIT_INTERVAL_SECONDS = 15;

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  let client: { api: ImageBuilderClient; config: CoreConfig; close(): Promise<void> } | undefined;
  // Configuration is read only when a command needs Image Builder, so `--help` works without any.
  const imageBuilder = () => {
    if (!client) {
      const config = parseCoreConfig(deps.env);
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, secrets: config.secrets, destination: io.stderr });
      const dispatchers = buildDispatchers(config);
      client = {
        config,
        api: imageBuilderFromConfig(config, { dispatcher: dispatchers.imageBuilder, logger }),
        close: () => dispatchers.close(),
      };
    }
    return client;
  };
  // Human text is made printable line by line as it leaves, whatever built it: it carries the service's words.
  const print = (text: string) => io.stdout.write(`${printableLines(text.endsWith('\n') ? text.slice(0, -1) : text)}\n`);
  const printJson = (value: unknown) => io.stdout.write(`${terminalJson(JSON.stringify(value, null, 2))}\n`);
  const warn = (text: string) => io.stderr.write(`${printableLines(text)}\n`);

  const program = new Command('image-builder-bot')
    .description('Build cloud OS images with Red Hat Image Builder.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)');

  program
    .command('distributions')
    .description('list the distributions this account may build')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const distributions = newestFirst(await imageBuilder().api.getDistributions());
      if (opts.json) printJson(distributions);
      else print(distributionsText(distributions));
    });

  const compose = program.command('compose').description('submit a compose for a cloud target');
  for (const provider of providers) addComposeCommand(compose, provider);

  program
    .command('status')
    .description('show where a compose is, and how to use it once it is ready')
    .argument('<compose-id>', 'the compose id')
    .option('--json', 'print JSON')
    .action(async (composeId: string, opts: { json?: boolean }) => {
      const { api, config } = imageBuilder();
      const status = await api.getCompose(composeId);
      const outcome = await outcomeOf(api, config, composeId, status);
      report(composeId, status, outcome, opts.json);
    });

  program
    .command('list')
    .description('list the composes of the last 14 days, newest first')
    .option('--limit <n>', 'how many', parseLimit, 10)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const { api } = imageBuilder();
      const page = await api.listComposes({ limit: opts.limit });
      const items = await Promise.all(
        page.data.map(async (item) => ({
          ...item,
          status: await api.getCompose(item.id).then((s) => s.image_status.status, () => 'unknown'),
        })),
      );
      if (opts.json) printJson(items);
      else print(composesText(items));
    });

  auditCommand(program, { io, clock: deps.clock, databaseUrl: databaseUrlSetting(deps.env), workingDirectory: deps.workingDirectory });

  function addComposeCommand(parent: Command, provider: Provider) {
    const fields: FieldSpec[] = [...commonFields(provider, { distributions: [] }), ...provider.fields];
    const command = parent
      .command(provider.id)
      .description(`build a ${provider.label} image`)
      .option('--wait', 'follow the build to the end and print how to use it')
      .option('--interval <seconds>', 'seconds between status checks with --wait', parsePositive, DEFAULT_WAIT_INTERVAL_SECONDS)
      .option('--json', 'print JSON');
    for (const field of fields) {
      const option = new Option(`--${field.cli.flag} <value>`, field.cli.description + (field.cli.repeatable ? ' (repeatable, or comma-separated)' : ''));
      if (field.cli.repeatable) option.argParser((value: string, previous: string[] = []) => [...previous, value]);
      if (field.options?.length) option.choices(field.options.map((o) => o.value));
      command.addOption(option);
    }
    command.action(async (opts: Record<string, unknown>) => {
      const { api, config } = imageBuilder();
      const raw: Record<string, string | string[] | undefined> = {};
      for (const field of fields) raw[field.id] = opts[camel(field.cli.flag)] as string | string[] | undefined;

      const distributions = newestFirst(await api.getDistributions()).map((d) => d.name);
      const distribution = typeof raw.distribution === 'string' ? raw.distribution : undefined;
      // Not knowing narrows nothing; the service has the last word when the compose is submitted.
      const offered = distribution && distributions.includes(distribution) ? await api.getArchitectures(distribution).catch(() => undefined) : undefined;
      const architectures = architecturesBuilding(provider, offered);
      const order = validateOrder(provider, raw, {
        distributions,
        ...(offered ? { architecturesOf: (d: string) => (d === distribution ? offered : undefined) } : {}),
        ...(architectures ? { architectures } : {}),
      });
      if (!order.ok) {
        const byFlag = new Map(fields.map((f) => [f.id, f.cli.flag]));
        throw new UsageError(
          Object.entries(order.errors)
            .map(([id, message]) => `--${byFlag.get(id) ?? id}: ${message}`)
            .join('\n'),
        );
      }
      const body = buildComposeRequest({
        provider,
        distribution: order.value.distribution,
        architecture: order.value.architecture,
        ...(order.value.imageName ? { imageName: order.value.imageName } : {}),
        imageDescription: 'Requested with the image-builder-bot CLI',
        options: order.value.options,
      });
      const submittedAt = deps.clock.now();
      const { id } = await api.createCompose(body);
      if (!opts.wait) {
        if (opts.json) printJson({ id, request: body });
        else print(`Submitted compose ${printable(id)} (${provider.shareSummary(order.value.options)}).\nFollow it with: image-builder-bot status ${printable(id)}`);
        return;
      }
      if (!opts.json) warn(`Submitted compose ${id}; waiting for it to finish.`);
      const status = await waitForFinal(api, id, (opts.interval as number) * 1000, !opts.json);
      const outcome = await outcomeOf(api, config, id, status, submittedAt);
      report(id, status, outcome, Boolean(opts.json));
    });
  }

  async function waitForFinal(api: ImageBuilderClient, id: string, intervalMs: number, narrate: boolean) {
    let last = '';
    for (;;) {
      let status: ComposeStatus | undefined;
      try {
        status = await api.getCompose(id);
      } catch (error) {
        // A build takes tens of minutes; a passing outage must not end the wait.
        if (!isImageBuilderError(error) || !error.retryable) throw error;
        if (narrate) warn(`  (Image Builder did not answer: ${printable(error.message)}; still waiting)`);
      }
      if (status) {
        const text = statusText(status.image_status);
        if (narrate && text !== last) warn(`  ${text}`);
        last = text;
        if (isFinalStatus(status.image_status.status)) return status;
      }
      await deps.sleep(intervalMs);
    }
  }

  async function outcomeOf(api: ImageBuilderClient, config: CoreConfig, id: string, status: ComposeStatus, submittedAt?: Date) {
    if (!isFinalStatus(status.image_status.status)) return undefined;
    const createdAt = await findComposeCreatedAt(api, id).catch(() => undefined);
    const outcome = describeOutcome(
      { composeId: id, imageStatus: status.image_status, request: status.request, ...(createdAt ? { createdAt } : {}), submittedAt: submittedAt ?? deps.clock.now() },
      config.launch,
    );
    // Without created_at or the submission time, an expiry would be a guess: leave it out.
    if (outcome?.kind === 'success' && !createdAt && !submittedAt) return { ...outcome, result: { ...outcome.result, expiresAt: undefined } };
    return outcome;
  }

  function report(id: string, status: ComposeStatus, outcome: ComposeOutcome | undefined, json?: boolean) {
    if (json) {
      printJson({
        id,
        status: status.image_status.status,
        ...(status.image_status.progress ? { progress: status.image_status.progress } : {}),
        ...(outcome?.kind === 'success' ? { result: outcome.result } : {}),
        ...(outcome?.kind === 'failure' ? { error: { reason: outcome.reason, details: outcome.details } } : {}),
      });
    } else {
      print(outcome ? outcomeText(id, outcome) : `Compose ${printable(id)}: ${statusText(status.image_status)}`);
    }
    if (outcome?.kind === 'failure') throw new FailedBuild();
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof FailedBuild) return 1;
    if (error instanceof UsageError || error instanceof ConfigError) {
      warn(`image-builder-bot: ${error.message}`);
      return 2;
    }
    warn(`image-builder-bot: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await client?.close();
  }
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CommanderError(2, 'commander.invalidArgument', `not a positive number: ${value}`);
  return n;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new CommanderError(2, 'commander.invalidArgument', `--limit must be 1 to 100`);
  return n;
}
