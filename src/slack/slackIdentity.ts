import { ErrorCode, type WebClient } from '@slack/web-api';

/*
 * Who the bot is, asked of Slack once at start before anything listens: the bot token's auth.test gives the bot's
 * own ids (Bolt needs them to ignore its own messages) and the installing workspace (only its people may use the
 * bot), and in Socket Mode the app-level token is tried once. A token Slack refuses ends the start with one line
 * naming its variable, rather than a stack trace or a connection retried for ever.
 */

export interface SlackIdentity {
  botUserId: string;
  botId: string;
  /** The workspace the bot is installed in (absent for an organisation-wide install). */
  teamId?: string;
  /** The Enterprise Grid organisation the install belongs to, if any. */
  enterpriseId?: string;
  /** Installed for the whole Enterprise Grid organisation rather than one workspace. */
  isEnterpriseInstall: boolean;
}

export type SlackTokenVariable = 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN';

/** Slack's answers that say the token itself will not do; anything else (network, rate limits) is not the token's fault. */
const REFUSALS: ReadonlySet<string> = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
  'team_disabled',
  'user_removed_from_team',
  'ekm_access_denied',
]);

export class SlackTokenError extends Error {
  constructor(
    readonly variable: SlackTokenVariable,
    /** Slack's error code, e.g. invalid_auth. */
    readonly slackError: string,
  ) {
    super(`${variable} was refused by Slack (${slackError})`);
    this.name = 'SlackTokenError';
  }
}

/** Slack's error code when `error` is Slack refusing the token, otherwise undefined. */
function refusal(error: unknown): string | undefined {
  const { code, data } = error as { code?: unknown; data?: { error?: unknown } };
  if (code !== ErrorCode.PlatformError || typeof data?.error !== 'string') return undefined;
  return REFUSALS.has(data.error) ? data.error : undefined;
}

async function asking<T>(variable: SlackTokenVariable, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = refusal(error);
    throw code ? new SlackTokenError(variable, code) : error;
  }
}

/** auth.test with the bot token (`client`'s own). Throws SlackTokenError when Slack refuses it. */
export async function verifyBotToken(client: WebClient): Promise<SlackIdentity> {
  const answer = await asking('SLACK_BOT_TOKEN', () => client.auth.test());
  const isEnterpriseInstall = answer.is_enterprise_install === true;
  if (!answer.user_id || !answer.bot_id || !(answer.team_id || (isEnterpriseInstall && answer.enterprise_id))) {
    throw new Error('Slack answered auth.test without the bot user, bot or team id; is SLACK_BOT_TOKEN a bot token?');
  }
  return {
    botUserId: answer.user_id,
    botId: answer.bot_id,
    ...(answer.team_id ? { teamId: answer.team_id } : {}),
    ...(answer.enterprise_id ? { enterpriseId: answer.enterprise_id } : {}),
    isEnterpriseInstall,
  };
}

/**
 * apps.connections.open with the app-level token (`client`'s own), once. The Socket Mode client would retry some refusals for ever
 * (not_allowed_token_type); the URL it returns is left unused (its ticket simply expires), the client asks for its own.
 */
export async function verifyAppToken(client: WebClient): Promise<void> {
  await asking('SLACK_APP_TOKEN', () => client.apps.connections.open());
}
