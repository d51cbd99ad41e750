import { Command, CommanderError, Option } from 'commander';
import type { Clock } from '../platform/clock';
import { lookUpOutcome, type FinishedOutcome } from '../compose/outcome';
import {
  buildDispatchers,
  ConfigError,
  databaseUrlSetting,
  parseCoreConfig,
  type CoreConfig,
  type Environment,
} from '../config/config';
import { imageBuilderFromConfig } from '../imageBuilder/fromConfig';
import { isFinalStatus } from '../compose/status';
import {
  composeRequestSchema,
  createPackageChecker,
  isImageBuilderError,
  unknownPackagesMessage,
  type ComposeStatus,
  type ImageBuilderClient,
  type PackageChecker,
} from '../imageBuilder';
import { createLogger, redactCapabilities } from '../platform/logger';
import { packageVersion } from '../platform/version';
import {
  architecturesBuilding,
  buildComposeRequest,
  LOGIN_FIELD_IDS,
  loginFields,
  commonFields,
  newestFirst,
  PACKAGES_FIELD_ID,
  packagesField,
  providers,
  registrationField,
  validateOrder,
  type FieldSpec,
  type LaunchSettings,
  type Provider,
  type Registration,
} from '../providers';
import { FALLBACK_DISTRIBUTIONS } from '../imageBuilder/distributionCatalog';
import type { Distribution } from '../imageBuilder';
import { auditCommand } from './audit';
import { backupCommand } from './backup';
import { composeWithMyTargets, composeWithOwnTargets, findBlueprint } from './blueprintBuild';
import { UsageError } from './errors';
import { COMPOSE_ID } from '../shared/ids';
import { quoted } from '../shared/text';
import { readCachedDistributions, saveCachedDistributions } from './distributionCache';
import {
  blueprintsText,
  composesText,
  distributionsText,
  outcomeText,
  printable,
  printableLines,
  statusText,
  terminalJson,
} from './format';

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
  /** Where the CLI keeps the distributions the service last offered (for --dry-run); none when absent. */
  cacheDirectory?: string;
}

class FailedBuild extends Error {}

const DEFAULT_WAIT_INTERVAL_SECONDS = 15;

/** What every command is given: the dependencies, the Image Builder session (opened on first use), the output. */
interface CliContext {
  deps: CliDeps;
  imageBuilder: () => ImageBuilderSession;
  print: (text: string) => void;
  printJson: (value: unknown) => void;
  warn: (text: string) => void;
}

interface ImageBuilderSession {
  api: ImageBuilderClient;
  config: CoreConfig;
  packages: PackageChecker;
  close(): Promise<void>;
}

/** No Slack form waits here, but a hung lookup must not hold the command forever. */
const CLI_PACKAGE_CHECK_DEADLINE_MS = 10_000;

function openImageBuilder(deps: CliDeps): ImageBuilderSession {
  const config = parseCoreConfig(deps.env);
  const logger = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    secrets: config.secrets,
    destination: deps.io.stderr,
  });
  const dispatchers = buildDispatchers(config);
  const api = imageBuilderFromConfig(config, { dispatcher: dispatchers.imageBuilder, logger });
  return {
    config,
    api,
    packages: createPackageChecker({
      imageBuilder: api,
      logger,
      clock: deps.clock,
      deadlineMs: CLI_PACKAGE_CHECK_DEADLINE_MS,
    }),
    close: () => dispatchers.close(),
  };
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  let session: ImageBuilderSession | undefined;
  const cli: CliContext = {
    deps,
    // Configuration is read only when a command needs Image Builder, so `--help` works without any.
    imageBuilder: () => (session ??= openImageBuilder(deps)),
    // Human text is made printable line by line as it leaves, whatever built it: it carries the service's words.
    print: (text) => void io.stdout.write(`${printableLines(text.endsWith('\n') ? text.slice(0, -1) : text)}\n`),
    // JSON goes to scripts and CI logs: the activation keys a compose request carries (ours, or the service's copy of
    // one made in the console) are taken out as from the bot's own log lines.
    printJson: (value) => void io.stdout.write(`${terminalJson(redactCapabilities(JSON.stringify(value, null, 2)))}\n`),
    warn: (text) => void io.stderr.write(`${printableLines(text)}\n`),
  };
  const { warn } = cli;

  const program = new Command('image-builder-bot')
    .description('Build cloud OS images with Red Hat Image Builder.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)');
  addQueryCommands(program, cli);
  const compose = program.command('compose').description('submit a compose for a cloud target');
  for (const provider of providers) addComposeCommand(compose, provider, cli);
  auditCommand(program, {
    io,
    clock: deps.clock,
    databaseUrl: databaseUrlSetting(deps.env),
    workingDirectory: deps.workingDirectory,
  });
  backupCommand(program, { io, databaseUrl: databaseUrlSetting(deps.env), workingDirectory: deps.workingDirectory });

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
    await session?.close();
  }
}

/** The commands that only ask: `distributions`, `blueprints`, `status`, `list`. */
function addQueryCommands(program: Command, cli: CliContext) {
  const { print, printJson } = cli;
  program
    .command('distributions')
    .description('list the distributions this account may build')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const distributions = newestFirst(await cli.imageBuilder().api.getDistributions());
      rememberDistributions(cli, distributions);
      if (opts.json) printJson(distributions);
      else print(distributionsText(distributions));
    });

  program
    .command('blueprints')
    .description("list the organisation's blueprints (saved in the Image Builder console), the last saved first")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const blueprints = await cli.imageBuilder().api.listBlueprints();
      if (opts.json) printJson(blueprints);
      else print(blueprintsText(blueprints));
    });

  program
    .command('status')
    .description('show where a compose is, and how to use it once it is ready')
    .argument('<compose-id>', 'the compose id')
    .option('--json', 'print JSON')
    .action(async (given: string, opts: { json?: boolean }) => {
      // Checked before any credential is read or request made, so a pasted fragment is named as what it is.
      const composeId = given.trim().toLowerCase();
      if (!COMPOSE_ID.test(composeId)) {
        throw new UsageError(
          `status: ${quoted(given)} is not a compose id; one looks like 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d.`,
        );
      }
      const { api, config } = cli.imageBuilder();
      const status = await api.getCompose(composeId);
      const outcome = await lookUpOutcome(api, { composeId, status }, config.launch, cli.deps.clock.now());
      report(cli, composeId, status, outcome, opts.json);
    });

  program
    .command('list')
    .description('list the composes of the last 14 days, newest first')
    .option('--limit <n>', 'how many', parseLimit, 10)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const { api } = cli.imageBuilder();
      const page = await api.listComposes({ limit: opts.limit });
      const items = await Promise.all(
        page.data.map(async (item) => ({
          ...item,
          status: await api.getCompose(item.id).then(
            (s) => s.image_status.status,
            () => 'unknown',
          ),
        })),
      );
      if (opts.json) printJson(items);
      else print(composesText(items));
    });
}

function addComposeCommand(parent: Command, provider: Provider, cli: CliContext) {
  // Registration is always a flag (--no-register): whether it is set up is known once the configuration is read.
  const fields: FieldSpec[] = [
    ...commonFields(provider, { distributions: [] }),
    registrationField(),
    ...provider.fields,
    ...loginFields(),
    packagesField,
  ];
  const command = parent
    .command(provider.id)
    .description(`build ${provider.image.article} ${provider.image.one}`)
    .option('--wait', 'follow the build to the end and print how to use it')
    .option(
      '--interval <seconds>',
      'seconds between status checks with --wait',
      parsePositive,
      DEFAULT_WAIT_INTERVAL_SECONDS,
    )
    .option(
      '--dry-run',
      'check everything locally and print the request body instead of sending it (no credentials, no network)',
    )
    .option(
      '--distributions <names>',
      'with --dry-run: the distributions to check against, instead of the last list Image Builder gave ' +
        '(repeatable, or comma-separated)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--json', 'print JSON')
    .option('--blueprint <name>', "build the organisation's blueprint of this name (its distribution and content)")
    .addOption(
      new Option(
        '--targets <whose>',
        "with --blueprint: the blueprint's own share targets, or mine (the share options given here)",
      )
        .choices(['blueprint', 'mine'])
        .default('blueprint'),
    );
  addFieldOptions(command, fields);
  command.action(async (opts: ComposeOptions) => {
    const raw: Record<string, string | string[] | undefined> = {};
    for (const field of fields) raw[field.id] = flagValue(field, opts);
    if (opts.blueprint !== undefined) return composeBlueprintOrder(cli, provider, fields, raw, opts);
    if (opts.dryRun) return dryRun(cli, provider, fields, raw, opts);
    if (opts.distributions) throw new UsageError('--distributions goes with --dry-run only.');
    return composePlainImage(cli, provider, fields, raw, opts);
  });
}

/** One option per field: `--<flag> <value>`, repeatable for lists, `--no-<flag>` for a box. */
function addFieldOptions(command: Command, fields: readonly FieldSpec[]) {
  for (const field of fields) {
    if (field.kind === 'checkbox') {
      command.addOption(new Option(`--no-${field.cli.flag}`, field.cli.description));
      continue;
    }
    // Required here means no default either: --arch is required in the form, which preselects one, as the CLI does.
    const notes = [
      ...(field.required && field.default === undefined ? ['required'] : []),
      ...(field.cli.repeatable ? ['repeatable, or comma-separated'] : []),
    ];
    const option = new Option(
      `--${field.cli.flag} <value>`,
      field.cli.description + (notes.length ? ` (${notes.join('; ')})` : ''),
    );
    if (field.cli.repeatable) option.argParser((value: string, previous: string[] = []) => [...previous, value]);
    // A multi-select's values are checked by its validation, which names the closest choices to a typo.
    if (field.options?.length && field.kind === 'select') option.choices(field.options.map((o) => o.value));
    command.addOption(option);
  }
}

/** A plain image: checked, narrowed by what the service builds, its packages looked up, then sent. */
async function composePlainImage(
  cli: CliContext,
  provider: Provider,
  fields: readonly FieldSpec[],
  raw: Record<string, string | string[] | undefined>,
  opts: ComposeOptions,
) {
  // What can be told without the service first, so a typo is never hidden behind a credential or network problem.
  const distribution = typeof raw.distribution === 'string' ? raw.distribution : undefined;
  validOrder(provider, fields, raw, { distributions: distribution ? [distribution] : [] });
  const session = cli.imageBuilder();
  const { api, config } = session;
  const distributions = newestFirst(await api.getDistributions());
  rememberDistributions(cli, distributions);
  // Not knowing narrows nothing; the service has the last word when the compose is submitted.
  const offered =
    distribution && distributions.some((d) => d.name === distribution)
      ? await api.getArchitectures(distribution).catch(() => undefined)
      : undefined;
  const architectures = architecturesBuilding(provider, offered);
  const order = validOrder(provider, fields, raw, {
    distributions: distributions.map((d) => d.name),
    registrationConfigured: config.registration !== undefined,
    ...(offered ? { architecturesOf: (d: string) => (d === distribution ? offered : undefined) } : {}),
    ...(architectures ? { architectures } : {}),
  });
  await refuseUnknownPackages(cli, session.packages, order);
  const body = composeBody(provider, order, config.registration);
  await submitAndFollow(cli, session, { body, ...followed(provider, order) }, opts);
}

/** --package names the distribution does not have are a usage error; a lookup that could not finish, a warning. */
async function refuseUnknownPackages(cli: CliContext, checker: PackageChecker, order: ReturnType<typeof validOrder>) {
  const { distribution, architecture, packages } = order;
  const result = await checker.check({ distribution, architecture, names: packages });
  if (result.kind === 'unknown') {
    throw new UsageError(`--package: ${unknownPackagesMessage(result.unknown, distribution)}`);
  }
  if (result.kind === 'unchecked') cli.warn('Could not look the packages up in Image Builder; sending them unchecked.');
}

/** What a submission says of where the image goes, and what its result's commands use (never sent). */
function followed(provider: Provider, order: ReturnType<typeof validOrder>) {
  return {
    shareSummary: provider.shareSummary(order.options),
    launchSettings: provider.launchSettings?.(order.options) ?? {},
  };
}

/** Sends the compose and, with --wait, follows it to the end. */
async function submitAndFollow(
  cli: CliContext,
  { api, config }: Pick<ImageBuilderSession, 'api' | 'config'>,
  submission: {
    body: Parameters<ImageBuilderClient['createCompose']>[0];
    shareSummary: string;
    launchSettings: LaunchSettings;
  },
  opts: ComposeOptions,
) {
  const { body, shareSummary, launchSettings } = submission;
  const submittedAt = cli.deps.clock.now();
  const { id } = await api.createCompose(body);
  if (!opts.wait) {
    if (opts.json) cli.printJson({ id, request: body });
    else
      cli.print(
        `Submitted compose ${printable(id)} (${shareSummary}).\nFollow it with: image-builder-bot status ${printable(id)}`,
      );
    return;
  }
  if (!opts.json) cli.warn(`Submitted compose ${id}; waiting for it to finish.`);
  const status = await waitForFinal(cli, api, id, opts.interval * 1000, !opts.json);
  const outcome = await lookUpOutcome(
    api,
    { composeId: id, status, submittedAt, launchSettings },
    config.launch,
    cli.deps.clock.now(),
  );
  report(cli, id, status, outcome, Boolean(opts.json));
}

/** `--blueprint`: the organisation's blueprint, with its own share targets or the ones the flags give. */
async function composeBlueprintOrder(
  cli: CliContext,
  provider: Provider,
  fields: readonly FieldSpec[],
  raw: Record<string, string | string[] | undefined>,
  opts: ComposeOptions,
) {
  if (opts.dryRun)
    throw new UsageError('--blueprint cannot go with --dry-run: the blueprint is read from Image Builder.');
  if (raw.distribution !== undefined) throw new UsageError('--distribution: a blueprint builds its own distribution.');
  if (raw[PACKAGES_FIELD_ID] !== undefined) throw new UsageError('--package: a blueprint installs its own packages.');
  if (raw[LOGIN_FIELD_IDS.sshKey] !== undefined || raw[LOGIN_FIELD_IDS.userName] !== undefined) {
    throw new UsageError('--ssh-key and --user are for plain images: a blueprint brings its own users.');
  }
  const session = cli.imageBuilder();
  const found = await findBlueprint(session.api, opts.blueprint as string);
  const named = `${found.item.name} v${found.item.version}`;
  if (opts.targets === 'mine') {
    const distribution = found.detail.distribution ?? '';
    const order = validOrder(provider, fields, { ...raw, distribution }, { distributions: [distribution] });
    const body = composeWithMyTargets(found, composeRequestSchema.parse(composeBody(provider, order)));
    const { shareSummary, launchSettings } = followed(provider, order);
    return submitAndFollow(cli, session, { body, shareSummary: `${named}, ${shareSummary}`, launchSettings }, opts);
  }
  const ids = await composeWithOwnTargets(session.api, found, provider);
  if (opts.json) cli.printJson({ blueprint: found.item, composes: ids });
  else
    cli.print(
      `Submitted ${ids.length} compose${ids.length === 1 ? '' : 's'} of ${printable(named)}, shared as saved in it:\n` +
        ids.map((id) => `  ${printable(id)}`).join('\n') +
        '\nFollow them with: image-builder-bot status <id>',
    );
}

interface ComposeOptions extends Record<string, unknown> {
  blueprint?: string;
  targets?: 'blueprint' | 'mine';
  wait?: boolean;
  interval: number;
  dryRun?: boolean;
  distributions?: string[];
  json?: boolean;
}

/** The order the flags describe, or every bad flag in one usage error. */
function validOrder(
  provider: Provider,
  fields: readonly FieldSpec[],
  raw: Record<string, string | string[] | undefined>,
  context: Parameters<typeof validateOrder>[2],
) {
  const order = validateOrder(provider, raw, context);
  if (order.ok) return order.value;
  const byFlag = new Map(fields.map((f) => [f.id, f.cli.flag]));
  throw new UsageError(
    Object.entries(order.errors)
      .map(([id, message]) => `--${byFlag.get(id) ?? id}: ${message}`)
      .join('\n'),
  );
}

function composeBody(provider: Provider, order: ReturnType<typeof validOrder>, registration?: Registration) {
  return buildComposeRequest({
    provider,
    distribution: order.distribution,
    architecture: order.architecture,
    ...(order.imageName ? { imageName: order.imageName } : {}),
    imageDescription: 'Requested with the image-builder-bot CLI',
    options: order.options,
    packages: order.packages,
    ...(order.login ? { login: order.login } : {}),
    ...(order.register && registration ? { registration } : {}),
  });
}

/** A flag's value as the form would have it: `--no-register` unticks its box; left out, the box keeps its default. */
function flagValue(field: FieldSpec, opts: ComposeOptions): string | string[] | undefined {
  const given = opts[camel(field.cli.flag)];
  if (field.kind === 'checkbox') return given === false ? 'no' : undefined;
  return given as string | string[] | undefined;
}

function rememberDistributions(cli: CliContext, distributions: readonly Distribution[]) {
  const directory = cli.deps.cacheDirectory;
  if (directory) saveCachedDistributions(directory, distributions, cli.deps.clock.now());
}

/**
 * `--dry-run`: the same checks and the same body as a real submission, with the distributions given, or the ones
 * Image Builder last gave this CLI, or the bot's built-in list. Reads no credential and opens no connection.
 */
function dryRun(
  cli: CliContext,
  provider: Provider,
  fields: readonly FieldSpec[],
  raw: Record<string, string | string[] | undefined>,
  opts: ComposeOptions,
) {
  if (opts.wait) throw new UsageError('--wait cannot follow a dry run: nothing is submitted.');
  const given = opts.distributions
    ?.flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const cached = cli.deps.cacheDirectory ? readCachedDistributions(cli.deps.cacheDirectory) : undefined;
  const source = given?.length
    ? { names: given, words: 'the distributions given with --distributions' }
    : cached
      ? {
          names: cached.distributions.map((d) => d.name),
          words: `the distributions Image Builder offered this account on ${cached.savedAt.slice(0, 10)}`,
        }
      : {
          names: FALLBACK_DISTRIBUTIONS.map((d) => d.name),
          words:
            "the bot's built-in list of distributions (run `image-builder-bot distributions` once to check " +
            "against your account's)",
        };
  const body = composeBody(provider, validOrder(provider, fields, raw, { distributions: source.names }));
  if (opts.json) cli.printJson(body);
  else {
    cli.warn(`Dry run: nothing was sent. Checked against ${source.words}. POST /compose would carry:`);
    cli.printJson(body);
  }
}

async function waitForFinal(
  cli: CliContext,
  api: ImageBuilderClient,
  id: string,
  intervalMs: number,
  narrate: boolean,
) {
  let last = '';
  for (;;) {
    let status: ComposeStatus | undefined;
    try {
      status = await api.getCompose(id);
    } catch (error) {
      // A build takes tens of minutes; a passing outage must not end the wait.
      if (!isImageBuilderError(error) || !error.retryable) throw error;
      if (narrate) cli.warn(`  (Image Builder did not answer: ${printable(error.message)}; still waiting)`);
    }
    if (status) {
      const text = statusText(status.image_status);
      if (narrate && text !== last) cli.warn(`  ${text}`);
      last = text;
      if (isFinalStatus(status.image_status.status)) return status;
    }
    await cli.deps.sleep(intervalMs);
  }
}

function report(
  cli: CliContext,
  id: string,
  status: ComposeStatus,
  outcome: FinishedOutcome | undefined,
  json?: boolean,
) {
  if (json) {
    cli.printJson({
      id,
      status: status.image_status.status,
      ...(status.image_status.progress ? { progress: status.image_status.progress } : {}),
      ...(outcome?.kind === 'success' ? { result: outcome.result } : {}),
      ...(outcome?.kind === 'failure' ? { error: { reason: outcome.reason, details: outcome.details } } : {}),
    });
  } else {
    cli.print(outcome ? outcomeText(id, outcome) : `Compose ${printable(id)}: ${statusText(status.image_status)}`);
  }
  if (outcome?.kind === 'failure') throw new FailedBuild();
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CommanderError(2, 'commander.invalidArgument', `not a positive number: ${value}`);
  return n;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new CommanderError(2, 'commander.invalidArgument', `--limit must be 1 to 100`);
  return n;
}
