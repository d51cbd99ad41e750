import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../platform/clock';
import { composeDistribution, lookUpOutcome } from '../../../compose/outcome';
import type { DistributionCatalog } from '../../../imageBuilder/distributionCatalog';
import {
  isImageBuilderError,
  storedComposeRequestSchema,
  type ImageBuilderClient,
  type StoredComposeRequest,
} from '../../../imageBuilder';
import {
  getProvider,
  providerForImageType,
  providers,
  readLaunchSettings,
  type LaunchDefaults,
  type Provider,
  type Registration,
} from '../../../providers';
import type { AuditLog, BuildRequest, BuildRequestStore, UserDefaultsStore } from '../../../store/store';
import { maySeeBuild, type Gatekeeper } from '../../authorization';
import type { AuditSubcommandArgs } from './auditCommand';
import { blueprintsSubcommand, type BlueprintsSubcommandDeps } from './blueprintsCommand';
import type { BlueprintChoiceDeps } from '../../blueprintChoice';
import { openComposeForm } from '../../composeForm';
import { buildSubcommand } from './buildCommand';
import { approvalsSubcommand } from './approvalsCommand';
import { errorSentence } from '../../errorMessages';
import { respondOrLog, type Responder } from '../../responseUrl';
import { toBuildView } from '../../thread/projection';
import { composeStatusReply, recentBuildsReply, usageMessage } from '../../views/commandReplies';
import { COMPOSE_ID } from '../../../shared/ids';
import { truncate } from '../../../shared/text';
import { inlineText } from '../../views/text';

export interface ImageBuilderCommandDeps {
  catalog: DistributionCatalog;
  /** The organisation's blueprints, kept in memory (imageBuilder/blueprintCatalog.ts). */
  blueprints: BlueprintsSubcommandDeps['blueprints'] & BlueprintChoiceDeps['blueprints'];
  imageBuilder: Pick<ImageBuilderClient, 'getCompose' | 'listAllComposes' | 'credentialsHealth' | 'getBlueprint'>;
  store: BuildRequestStore & UserDefaultsStore & Pick<AuditLog, 'appendAudit'>;
  gate: Gatekeeper;
  /** `/image-builder audit [days]`, for admins; called after the ack. */
  auditReport: (args: AuditSubcommandArgs) => Promise<void>;
  launch: LaunchDefaults;
  /** The bot's registration with Red Hat, when set up: RHEL forms offer it. */
  registration?: Registration;
  clock: Clock;
  logger: Logger;
  respond: Responder;
}

const RECENT_LIMIT = 10;

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
type Subcommand = (deps: ImageBuilderCommandDeps, args: CommandArgs, rest: string[]) => Promise<void>;

/**
 * `/image-builder <cloud> | status <id> | list | blueprints | approvals | forget | audit | help`. Every branch acknowledges first: opening the
 * modal must happen within the trigger's 3 seconds, and nothing here waits for Image Builder before that.
 */
export function imageBuilderCommand(deps: ImageBuilderCommandDeps) {
  return async (args: CommandArgs) => {
    // Slack always sends `text`; a request without it is answered with the usage, not an error.
    const [word = '', ...rest] = (args.command.text ?? '').trim().split(/\s+/);
    const provider = word ? getProvider(word) : undefined;
    if (provider) return openForm(deps, args, provider);
    const subcommand = SUBCOMMANDS.get(word.toLowerCase());
    if (subcommand) return subcommand(deps, args, rest);
    return usage(deps, args, word);
  };
}

/** A Map, as the word is whatever was typed: an object would answer "constructor" or "__proto__" with its own. */
const SUBCOMMANDS: ReadonlyMap<string, Subcommand> = new Map<string, Subcommand>([
  ['status', statusSubcommand],
  ['list', listSubcommand],
  ['blueprints', blueprintsSubcommand],
  ['forget', forgetSubcommand],
  ['approvals', approvalsSubcommand],
  [
    'build',
    (deps, args, rest) => buildSubcommand({ ...deps, defaults: deps.store, blueprintChoice: deps })(args, rest),
  ],
  [
    'audit',
    async (deps, { command, ack, client }, rest) => {
      await ack();
      await deps.auditReport({ command, args: rest, client });
    },
  ],
]);

async function openForm(deps: ImageBuilderCommandDeps, { command, ack, client }: CommandArgs, provider: Provider) {
  await ack();
  try {
    const decision = await deps.gate.mayRequest(command.user_id, command.channel_id, 'command');
    if (!decision.allowed) {
      await respondOrLog(deps.respond, deps.logger, command.response_url, decision.reason);
      return;
    }
    await openComposeForm(
      client,
      command.trigger_id,
      {
        catalog: deps.catalog,
        defaults: deps.store,
        blueprintChoice: deps,
        registration: deps.registration,
        gate: deps.gate,
      },
      {
        provider,
        userId: command.user_id,
        context: { provider: provider.id, channelId: command.channel_id, responseUrl: command.response_url },
      },
    );
  } catch (error) {
    // Already acknowledged, so without a word here the command would just seem to do nothing.
    deps.logger.warn(
      { err: error, requester: command.user_id, provider: provider.id },
      'could not open the compose form',
    );
    await respondOrLog(
      deps.respond,
      deps.logger,
      command.response_url,
      'I could not open the form; run the command again.',
    );
  }
}

async function statusSubcommand(deps: ImageBuilderCommandDeps, { command, ack }: CommandArgs, rest: string[]) {
  const composeId = rest[0] ?? '';
  if (!COMPOSE_ID.test(composeId)) {
    await ack({
      response_type: 'ephemeral',
      text: `Give the compose id, a UUID such as \`${command.command} status 123e4567-e89b-12d3-a456-426655440000\`.`,
    });
    return;
  }
  await ack();
  // Whoever the policy refuses learns nothing of anyone's builds, as from every other entry point.
  const decision = await deps.gate.mayRequest(command.user_id, command.channel_id, 'command');
  if (!decision.allowed) {
    await respondOrLog(deps.respond, deps.logger, command.response_url, decision.reason);
    return;
  }
  // Image Builder's ids are lower case; its list (which holds created_at) is matched on the id exactly.
  const asker = { userId: command.user_id, inChannel: command.channel_id };
  await deps.respond(command.response_url, await statusReply(deps, composeId.toLowerCase(), asker));
}

async function listSubcommand(deps: ImageBuilderCommandDeps, { command, ack, client }: CommandArgs) {
  await ack();
  const decision = await deps.gate.mayRequest(command.user_id, command.channel_id, 'command');
  if (!decision.allowed) {
    await respondOrLog(deps.respond, deps.logger, command.response_url, decision.reason);
    return;
  }
  const asker = { userId: command.user_id, inChannel: command.channel_id };
  let rows: BuildRequest[];
  try {
    const recent = await deps.store.listRecent({
      requesterId: command.user_id,
      channelId: command.channel_id,
      limit: RECENT_LIMIT,
    });
    // Asked for here is not followed here: a build whose thread is in its requester's DM is theirs alone.
    rows = recent.filter((row) => maySeeBuild(row, asker));
  } catch (error) {
    deps.logger.error({ err: error, requester: command.user_id }, 'could not read recent builds');
    await deps.respond(command.response_url, 'I could not read the list of builds just now; try again in a minute.');
    return;
  }
  const builds = await Promise.all(
    rows.map(async (row) => ({
      view: toBuildView(row),
      createdAt: row.createdAt,
      threadUrl: await permalink(client, row.threadChannelId, row.parentTs),
    })),
  );
  await deps.respond(command.response_url, recentBuildsReply(command.command, builds, deps.clock.now()));
}

async function forgetSubcommand(deps: ImageBuilderCommandDeps, { command, ack }: CommandArgs) {
  await ack();
  const removed = await deps.store.clearDefaults(command.user_id);
  await deps.store.appendAudit({
    at: deps.clock.now(),
    kind: 'defaults-cleared',
    actorId: command.user_id,
    requestId: null,
    channelId: command.channel_id,
    detail: { removed },
  });
  await respondOrLog(
    deps.respond,
    deps.logger,
    command.response_url,
    removed > 0
      ? 'Done: your next forms start empty.'
      : 'There was nothing to forget: no form values of yours are remembered.',
  );
}

async function usage(deps: ImageBuilderCommandDeps, { command, ack }: CommandArgs, word: string) {
  // Cut between code points: half a surrogate pair would show as a broken character.
  const unknownWord =
    word && !['help', '-h', '--help'].includes(word.toLowerCase())
      ? `I don’t know “${truncate(word, 40)}”.`
      : undefined;
  // The bot stays ready while Red Hat refuses it (so help is answered); people are told here instead.
  const outage =
    deps.imageBuilder.credentialsHealth().state === 'refused'
      ? 'Image Builder is refusing the bot’s credentials right now, so new builds cannot be ordered until an admin fixes them.'
      : undefined;
  const note = [unknownWord, outage].filter(Boolean).join('\n') || undefined;
  await ack({ response_type: 'ephemeral', ...usageMessage(command.command, providers, note) });
}

/** Why someone is shown only a compose's status. */
const DETAILS_WITHHELD = {
  notOurs: 'The bot did not order this compose, so only its status is shown.',
  notYours: 'Its details are shown to whoever asked for it and to the people of the channel it is followed in.',
};

async function statusReply(
  deps: ImageBuilderCommandDeps,
  composeId: string,
  asker: { userId: string; inChannel: string },
) {
  try {
    const status = await deps.imageBuilder.getCompose(composeId);
    const request: StoredComposeRequest = status.request ?? storedComposeRequestSchema.parse({ image_requests: [] });
    const imageRequest = request.image_requests[0];
    const provider = providerForImageType(imageRequest?.image_type ?? '');
    const view = {
      requesterId: '',
      providerLabel: provider?.label ?? imageRequest?.image_type ?? 'unknown target',
      ...(provider ? { destination: provider.image.destination } : {}),
      distribution: composeDistribution(request),
      architecture: imageRequest?.architecture ?? 'unknown',
      shareSummary: '',
      composeId,
      phase: 'tracking' as const,
      status: status.image_status.status,
      ...(status.image_status.progress ? { progress: status.image_status.progress } : {}),
    };
    // Share targets, launch commands and download links are the build's own: only for those who may see it.
    const build = await deps.store.findByComposeId(composeId);
    if (!build || !maySeeBuild(build, asker)) {
      return composeStatusReply(
        composeId,
        view,
        undefined,
        deps.clock.now(),
        DETAILS_WITHHELD[build ? 'notYours' : 'notOurs'],
      );
    }
    // The bot's own record dates the build and holds its launch settings, as its thread shows them.
    const known = {
      ...(build.composeCreatedAt ? { createdAt: build.composeCreatedAt } : {}),
      ...(build.submittedAt ? { submittedAt: build.submittedAt } : {}),
      launchSettings: readLaunchSettings(build.launchSettings),
    };
    const outcome = await lookUpOutcome(
      deps.imageBuilder,
      { composeId, status, ...known },
      deps.launch,
      deps.clock.now(),
    );
    return composeStatusReply(composeId, view, outcome, deps.clock.now());
  } catch (error) {
    if (isImageBuilderError(error)) {
      // The service's words, escaped: this text is mrkdwn, and they must not mention anyone or make a link.
      const detail = error.detail ? ` ${inlineText(error.detail, 500)}` : '';
      switch (error.kind) {
        case 'not-found':
          return `Image Builder knows no compose \`${composeId}\` for our organisation; it may have been deleted.`;
        case 'forbidden':
          // The shared sentence speaks of quota and distributions, which is about building, not looking.
          return `Image Builder refused to show compose \`${composeId}\` to the bot’s account.${detail}`;
        default:
          return `${errorSentence(error.kind)}${detail}`;
      }
    }
    deps.logger.error({ err: error, composeId }, 'status lookup failed');
    return 'Something went wrong looking that up; the details are in the bot’s log.';
  }
}

async function permalink(client: AllMiddlewareArgs['client'], channel: string | null, ts: string | null) {
  if (!channel || !ts) return undefined;
  try {
    return (await client.chat.getPermalink({ channel, message_ts: ts })).permalink;
  } catch {
    return undefined;
  }
}
