import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../clock';
import { describeOutcome, findComposeCreatedAt } from '../../../composeOutcome';
import type { DistributionCatalog } from '../../../distributionCatalog';
import {
  isImageBuilderError,
  storedComposeRequestSchema,
  type ImageBuilderClient,
  type StoredComposeRequest,
} from '../../../imageBuilder';
import { getProvider, providerForImageType, providers, type LaunchDefaults } from '../../../providers';
import type { BuildRequestStore } from '../../../tracking/store';
import { errorSentence } from '../../errorMessages';
import type { Responder } from '../../responseUrl';
import { toBuildView } from '../../threadProjection';
import { composeStatusReply, recentBuildsReply, usageMessage } from '../../views/commandReplies';
import { composeModal } from '../../views/composeModal';

export interface ImageBuilderCommandDeps {
  catalog: DistributionCatalog;
  imageBuilder: Pick<ImageBuilderClient, 'getCompose' | 'listAllComposes'>;
  store: BuildRequestStore;
  launch: LaunchDefaults;
  clock: Clock;
  logger: Logger;
  respond: Responder;
}

const COMPOSE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RECENT_LIMIT = 10;

/**
 * `/image-builder <cloud> | status <id> | list | help`. Every branch acknowledges first: opening the modal must
 * happen within the trigger's 3 seconds, and nothing here waits for Image Builder before that.
 */
export function imageBuilderCommand(deps: ImageBuilderCommandDeps) {
  return async ({ command, ack, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    const [word = '', ...rest] = command.text.trim().split(/\s+/);
    const provider = word ? getProvider(word) : undefined;

    if (provider) {
      await ack();
      await client.views.open({
        trigger_id: command.trigger_id,
        view: composeModal({
          provider,
          distributions: deps.catalog.current(),
          context: { provider: provider.id, channelId: command.channel_id, responseUrl: command.response_url },
        }),
      });
      return;
    }

    if (word.toLowerCase() === 'status') {
      const composeId = rest[0] ?? '';
      if (!COMPOSE_ID.test(composeId)) {
        await ack({
          response_type: 'ephemeral',
          text: `Give the compose id, a UUID such as \`${command.command} status 123e4567-e89b-12d3-a456-426655440000\`.`,
        });
        return;
      }
      await ack();
      await deps.respond(command.response_url, await statusReply(deps, composeId));
      return;
    }

    if (word.toLowerCase() === 'list') {
      await ack();
      const rows = await deps.store.listRecent({
        requesterId: command.user_id,
        channelId: command.channel_id,
        limit: RECENT_LIMIT,
      });
      const builds = await Promise.all(
        rows.map(async (row) => ({
          view: toBuildView(row),
          createdAt: row.createdAt,
          threadUrl: await permalink(client, row.threadChannelId, row.parentTs),
        })),
      );
      await deps.respond(command.response_url, recentBuildsReply(builds, deps.clock.now()));
      return;
    }

    const note = word && !['help', '-h', '--help'].includes(word.toLowerCase()) ? `I don’t know “${word.slice(0, 40)}”.` : undefined;
    const usage = usageMessage(command.command, providers, note);
    await ack({ response_type: 'ephemeral', ...usage });
  };
}

async function statusReply(deps: ImageBuilderCommandDeps, composeId: string) {
  try {
    const status = await deps.imageBuilder.getCompose(composeId);
    const request: StoredComposeRequest = status.request ?? storedComposeRequestSchema.parse({ image_requests: [] });
    const imageRequest = request.image_requests[0];
    const provider = providerForImageType(imageRequest?.image_type ?? '');
    const view = {
      requesterId: '',
      providerLabel: provider?.label ?? imageRequest?.image_type ?? 'unknown target',
      distribution: request.distribution ?? 'unknown',
      architecture: imageRequest?.architecture ?? 'unknown',
      shareSummary: '',
      composeId,
      phase: 'tracking' as const,
      status: status.image_status.status,
      ...(status.image_status.progress ? { progress: status.image_status.progress } : {}),
    };
    const createdAt =
      status.image_status.status === 'success'
        ? await findComposeCreatedAt(deps.imageBuilder, composeId).catch(() => undefined)
        : undefined;
    const outcome = describeOutcome(
      { composeId, imageStatus: status.image_status, request, submittedAt: createdAt ?? deps.clock.now() },
      deps.launch,
    );
    // Without created_at the expiry would be a guess; say nothing rather than something wrong.
    const threadOutcome =
      outcome &&
      (outcome.kind === 'success'
        ? { kind: 'success' as const, result: createdAt ? outcome.result : { ...outcome.result, expiresAt: undefined } }
        : outcome);
    return composeStatusReply(composeId, view, threadOutcome, deps.clock.now());
  } catch (error) {
    if (isImageBuilderError(error)) {
      const detail = error.detail ? ` ${error.detail}` : '';
      return error.kind === 'not-found'
        ? `Image Builder knows no compose \`${composeId}\` for our organisation (it keeps the last 14 days).`
        : `${errorSentence(error.kind)}${detail}`;
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
