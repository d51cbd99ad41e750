import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { AuditLog } from '../store/store';
import type { SlackIdentity } from './slackIdentity';
import { noticeModal } from './views/composeModal';

/*
 * Only the people of the workspace the bot is installed in (or of its Enterprise Grid organisation, for an org-wide
 * install) may use it, plus the teams the policy lists under external_teams. In a Slack Connect channel people of
 * other organisations can run the command and click the buttons; without this they could order and share images.
 * Checked once for every payload, before any listener, so no entry point can forget it.
 */

export interface ActorTeam {
  teamId?: string;
  enterpriseId?: string;
}

type Payload = Record<string, unknown>;
/** Events have no ack of their own: Bolt acknowledges them before any middleware. */
type Acknowledge = (response?: unknown) => Promise<void>;
const record = (value: unknown): Payload | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Payload) : undefined;
const id = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The team of whoever acted, for the payloads a person sends: a slash command's `team_id` (its `user_team_id`
 * when Slack adds one), an interactive payload's `user.team_id` (the person's own team in a Slack Connect channel)
 * or else `team.id`. Undefined for events, which name the installing workspace rather than the person.
 */
export function actorTeamOf(body: unknown): ActorTeam | undefined {
  const payload = record(body);
  if (!payload) return undefined;
  if (typeof payload.command === 'string') {
    const teamId = id(payload.user_team_id) ?? id(payload.team_id);
    const enterpriseId = id(payload.enterprise_id);
    return { ...(teamId ? { teamId } : {}), ...(enterpriseId ? { enterpriseId } : {}) };
  }
  if (payload.type === 'event_callback' || typeof payload.type !== 'string') return undefined;
  const team = record(payload.team);
  const teamId = id(record(payload.user)?.team_id) ?? id(team?.id);
  const enterpriseId = id(record(payload.enterprise)?.id) ?? id(team?.enterprise_id);
  return { ...(teamId ? { teamId } : {}), ...(enterpriseId ? { enterpriseId } : {}) };
}

/** Whether the actor belongs to the installation, or to a team the policy lets in. */
export function isAllowedTeam(actor: ActorTeam, home: SlackIdentity, externalTeams: ReadonlySet<string>): boolean {
  if (home.isEnterpriseInstall && home.enterpriseId !== undefined && actor.enterpriseId === home.enterpriseId)
    return true;
  if (home.teamId !== undefined && actor.teamId === home.teamId) return true;
  return [actor.teamId, actor.enterpriseId].some((team) => team !== undefined && externalTeams.has(team));
}

/** What the person refused reads (plain text: a modal's field errors show no markup). */
export function outsiderMessage(actor: ActorTeam): string {
  const team = actor.teamId ?? actor.enterpriseId;
  return (
    'This image builder is for the people of the Slack workspace it is installed in, and your workspace is not one of ' +
    `them. If you should use it, ask its admins to add your workspace${team ? ` (${team})` : ''} to external_teams in its policy.`
  );
}

export function teamBoundary(deps: {
  /** The installation, known once the bot has started. */
  home: () => SlackIdentity | undefined;
  externalTeams: readonly string[];
  audit: Pick<AuditLog, 'appendAudit'>;
  clock: Clock;
  logger: Logger;
}): Middleware<AnyMiddlewareArgs> {
  const externalTeams = new Set(deps.externalTeams);
  return async (args) => {
    const actor = actorTeamOf(args.body);
    const home = deps.home();
    if (!actor || (home && isAllowedTeam(actor, home, externalTeams))) {
      await args.next();
      return;
    }
    const body = args.body as Payload;
    const userId = id(body.user_id) ?? id(record(body.user)?.id) ?? null;
    const message = outsiderMessage(actor);
    const entryPoint =
      typeof body.command === 'string' ? 'command' : body.type === 'view_submission' ? 'modal' : String(body.type);
    deps.logger.info(
      { user: userId, team: actor.teamId, enterprise: actor.enterpriseId, entryPoint },
      'refused a person of another organisation',
    );
    const ack = (args as { ack?: Acknowledge }).ack ?? (async () => undefined);
    await refuse({ ack, client: args.client, logger: deps.logger }, body, message);
    await deps.audit
      .appendAudit({
        at: deps.clock.now(),
        kind: 'refused',
        actorId: userId,
        requestId: null,
        channelId: id(body.channel_id) ?? id(record(body.channel)?.id) ?? null,
        detail: {
          entryPoint,
          reason: message,
          ...(actor.teamId ? { team: actor.teamId } : {}),
          ...(actor.enterpriseId ? { enterprise: actor.enterpriseId } : {}),
        },
      })
      .catch((error: unknown) => deps.logger.error({ err: error }, 'could not record a refusal in the audit log'));
  };
}

/** The answer each kind of payload allows: an ephemeral reply, a modal error, or a notice for a button. */
async function refuse(
  { ack, client, logger }: { ack: Acknowledge; client: WebClient; logger: Logger },
  body: Payload,
  message: string,
): Promise<void> {
  if (typeof body.command === 'string') {
    await ack({ response_type: 'ephemeral', text: message });
    return;
  }
  if (body.type === 'view_submission') {
    const blocks = record(body.view)?.blocks;
    const input = Array.isArray(blocks)
      ? blocks.map(record).find((block) => block?.type === 'input' && id(block.block_id))
      : undefined;
    await ack(
      input
        ? { response_action: 'errors', errors: { [String(input.block_id)]: message } }
        : { response_action: 'update', view: noticeModal('Not available', message) },
    );
    return;
  }
  await ack();
  const triggerId = id(body.trigger_id);
  if (body.type === 'block_actions' && triggerId) {
    await client.views
      .open({ trigger_id: triggerId, view: noticeModal('Not available', message) })
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'could not tell a person of another organisation why nothing happened'),
      );
  }
}
