import type { SlashCommand } from '@slack/bolt';
import type { Logger } from 'pino';
import {
  auditFileName,
  auditJsonLines,
  DEFAULT_LOOKBACK,
  parseSince,
  sinceDate,
  summarizeAudit,
  type Lookback,
} from '../../../audit/audit';
import type { Clock } from '../../../platform/clock';
import type { AuditLog, AuditRecord } from '../../../store/store';
import { respondOrLog, type Responder } from '../../responseUrl';
import { auditReportMessage, type AuditFileDelivery } from '../../views/auditReport';
import type { SlackMessage } from '../../views/threadMessages';
import { inlineCode, inlineText } from '../../views/text';

export interface AuditSubcommandDeps {
  audit: Pick<AuditLog, 'listAudit'>;
  isAdmin(userId: string): boolean;
  /** Whether the policy names any admin: when none does, the refusal says how to name one. */
  adminConfigured: boolean;
  clock: Clock;
  logger: Logger;
  respond: Responder;
}

/** The Web API calls this subcommand makes; Bolt's `client` is one. */
export interface AuditSlackClient {
  chat: { postMessage(args: { channel: string; text: string }): Promise<{ channel?: string }> };
  files: {
    uploadV2(args: {
      channel_id: string;
      filename: string;
      title: string;
      content: string;
      initial_comment: string;
    }): Promise<unknown>;
  };
}

export interface AuditSubcommandArgs {
  command: Pick<SlashCommand, 'command' | 'user_id' | 'response_url'>;
  /** The words after `audit`. */
  args: readonly string[];
  client: AuditSlackClient;
}

/**
 * `/image-builder audit [days]`, for admins: the summary as an ephemeral answer, and the whole log as a JSON Lines
 * file in a DM with the admin (a file, because a channel message would show it to others and could not hold it).
 * Called after the command listener has acknowledged, so it answers through the response_url only.
 */
export function auditSubcommand(deps: AuditSubcommandDeps) {
  return async ({ command, args, client }: AuditSubcommandArgs): Promise<void> => {
    const logger = deps.logger.child({ requester: command.user_id, subcommand: 'audit' });
    const answer = (message: SlackMessage | string) =>
      respondOrLog(deps.respond, logger, command.response_url, message);

    if (!deps.isAdmin(command.user_id)) {
      logger.info('refused the audit report to someone who is not an admin');
      await answer(
        deps.adminConfigured
          ? 'The audit report is for the bot’s admins only.'
          : 'The audit report is for admins, and none are configured: admin-only commands need admins named in the policy file (POLICY_FILE).',
      );
      return;
    }

    // Joined, so that "7 days" reads as it would typed as one word.
    const parsed = parseSince(args.length > 0 ? args.join(' ') : DEFAULT_LOOKBACK);
    if (!parsed.ok) {
      const example = inlineCode(`${command.command} audit 30`, 100);
      await answer(
        `${inlineText(parsed.message, 500)} For example ${example} covers the last 30 days; 24h and 2w work too.`,
      );
      return;
    }
    const { lookback } = parsed;
    const now = deps.clock.now();
    const since = sinceDate(now, lookback);

    let events: AuditRecord[];
    try {
      events = await deps.audit.listAudit(since);
    } catch (error) {
      logger.error({ err: error }, 'could not read the audit log');
      await answer('I could not read the audit log just now; try again in a minute.');
      return;
    }

    const delivery: AuditFileDelivery =
      events.length === 0
        ? { kind: 'no-events' }
        : await sendLogFile(client, logger, { adminId: command.user_id, events, since, now, lookback });
    await answer(auditReportMessage({ summary: summarizeAudit(events, { since, now }), lookback, delivery }));
  };
}

interface LogFile {
  adminId: string;
  events: readonly AuditRecord[];
  since: Date;
  now: Date;
  lookback: Lookback;
}

/**
 * Posting to the admin's user id opens (or finds) the DM and answers with its D… id, which files.uploadV2 needs:
 * it shares files in conversations, not with users. A failure is logged and reported, never thrown: the summary
 * is still worth showing.
 */
async function sendLogFile(client: AuditSlackClient, logger: Logger, file: LogFile): Promise<AuditFileDelivery> {
  const filename = auditFileName(file.since, file.now);
  const events = file.events.length === 1 ? '1 event' : `${file.events.length} events`;
  try {
    const dm = await client.chat.postMessage({
      channel: file.adminId,
      text: `Here is the image-builder audit log you asked for: the last ${file.lookback.text}, ${events}.`,
    });
    if (!dm.channel) throw new Error('chat.postMessage answered without a channel id');
    await client.files.uploadV2({
      channel_id: dm.channel,
      filename,
      title: filename,
      content: auditJsonLines(file.events),
      initial_comment: 'One JSON object per line: at, kind, actor, request, channel, detail.',
    });
    return { kind: 'sent', filename };
  } catch (error) {
    logger.warn({ err: error }, 'could not send the audit log file to the admin’s DM');
    return { kind: 'failed' };
  }
}
