import { subDays } from 'date-fns';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { ShareTarget } from '../providers';
import type { AuditLog, BuildRequest, BuildRequestStore, NewBuildRequest } from '../store/store';
import type { RegistrationAsked, RegistrationRule } from '../policy';

/*
 * Every entry point — the command, the modal's submission, the Rebuild and New image buttons, App Home — asks here,
 * on the server side and for the user who clicked (never the one who first asked), before it acts. A refusal is
 * recorded in the audit log with its reason and where it happened.
 */

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** What the Slack layer needs of the policy (src/policy implements it). */
export interface RequestPolicy {
  mayRequest(userId: string, channelId: string | null): Promise<Decision>;
  /** Per-field messages for share targets this channel does not allow. */
  checkShareTargets(channelId: string | null, targets: readonly ShareTarget[]): Record<string, string> | undefined;
  checkLimits(userId: string, counts: { inFlight: number; today: number }): Decision;
  isAdmin(userId: string): boolean;
  readonly adminConfigured: boolean;
  /** Whether this channel (null: outside any) may build the blueprint of this name, matched without regard to case. */
  mayBuildBlueprint(channelId: string | null, blueprintName: string): Decision;
  /** Of `blueprints`, those this channel may build. */
  buildableBlueprints<T extends { name: string }>(channelId: string | null, blueprints: readonly T[]): T[];
  /** Whether this channel's rule allows registering (or not registering) a RHEL image as asked. */
  checkRegistration(channelId: string | null, asked: RegistrationAsked): Decision;
  /** This channel's registration rule, if one applies. */
  registrationRule(channelId: string | null): RegistrationRule | undefined;
}

/**
 * A reason as plain text, for where Slack shows no markup (a modal's field errors): the policy names people, groups
 * and channels with Slack's mention syntax, which would otherwise show as written, `<@U0123ABCD>`.
 */
export function plainReason(reason: string): string {
  return reason
    .replace(/<@([UW][A-Z0-9]+)>/g, '@$1')
    .replace(/<!subteam\^([A-Z0-9]+)>/g, '@$1')
    .replace(/<#([CGD][A-Z0-9]+)>/g, '#$1');
}

/**
 * Whether someone may see all of a build (its share targets, image and download link): the requester, anyone when it
 * is followed in a public channel, and anyone shown to be in the channel of its thread (`inChannel`: where they
 * typed the command or pressed the button). A build whose channel's kind is not known counts as private.
 */
export function maySeeBuild(
  build: Pick<BuildRequest, 'requesterId' | 'threadChannelId' | 'threadChannelKind'>,
  viewer: { userId: string; inChannel?: string },
): boolean {
  if (build.requesterId === viewer.userId || build.threadChannelKind === 'public') return true;
  // The bot's DM with the requester is theirs alone, whoever else is "in" it.
  return (
    build.threadChannelKind !== 'dm' && viewer.inChannel !== undefined && viewer.inChannel === build.threadChannelId
  );
}

export type EntryPoint = 'command' | 'modal' | 'rebuild button' | 'new image button';

export interface Gatekeeper {
  mayRequest(userId: string, channelId: string | null, entryPoint: EntryPoint): Promise<Decision>;
  /** The same question for display only (App Home shows why); nothing is recorded. */
  wouldAllow(userId: string, channelId: string | null): Promise<Decision>;
  /** Share targets of a submitted request: field errors for the modal. Checked at submission, where the values are final. */
  checkOrder(
    userId: string,
    channelId: string | null,
    targets: readonly ShareTarget[],
  ): Promise<{ fieldErrors?: Record<string, string> }>;
  /** The policy's registration rule for this request, asked for the person who acted; a refusal is recorded. */
  checkRegistration(userId: string, channelId: string | null, asked: RegistrationAsked): Promise<Decision>;
  /**
   * The rule the form's "Register with Red Hat" box starts from (ticked where required, left out where forbidden).
   * For display only: the submission is checked with checkRegistration.
   */
  registrationRuleIn(channelId: string | null): RegistrationRule | undefined;
  /**
   * Saves a submitted request unless the requester's per-user limits refuse it. The store counts and inserts in
   * one step, so submissions made at once (from any replica) cannot all pass a limit; a re-delivered submission
   * returns its saved request, uncounted.
   */
  saveWithinLimits(
    request: NewBuildRequest,
    channelId: string | null,
  ): Promise<{ request: BuildRequest; created: boolean } | { refused: string }>;
  /** Whether a blueprint may be built here, asked for the person who acted; a refusal is recorded. */
  mayBuildBlueprint(
    userId: string,
    channelId: string | null,
    blueprintName: string,
    entryPoint: EntryPoint,
  ): Promise<Decision>;
  /** The blueprints this channel may build, for showing (a list or a select); nothing is recorded. */
  buildableBlueprints<T extends { name: string }>(channelId: string | null, blueprints: readonly T[]): T[];
  isAdmin(userId: string): boolean;
  readonly adminConfigured: boolean;
}

export function createGatekeeper(deps: {
  policy: RequestPolicy;
  audit: Pick<AuditLog, 'appendAudit'>;
  store: Pick<BuildRequestStore, 'insertWithinLimits'>;
  clock: Clock;
  logger: Logger;
}): Gatekeeper {
  const { policy, audit, clock, logger } = deps;

  async function refused(
    userId: string,
    channelId: string | null,
    entryPoint: EntryPoint,
    reason: string,
    detail = {},
  ) {
    logger.info({ requester: userId, channel: channelId, entryPoint, reason }, 'policy refused a request');
    await audit
      .appendAudit({
        at: clock.now(),
        kind: 'refused',
        actorId: userId,
        requestId: null,
        channelId,
        detail: { entryPoint, reason, ...detail },
      })
      .catch((error: unknown) => logger.error({ err: error }, 'could not record a refusal in the audit log'));
  }

  return {
    async mayRequest(userId, channelId, entryPoint) {
      const decision = await policy.mayRequest(userId, channelId);
      if (!decision.allowed) await refused(userId, channelId, entryPoint, decision.reason);
      return decision;
    },

    wouldAllow: (userId, channelId) => policy.mayRequest(userId, channelId),

    async checkOrder(userId, channelId, targets) {
      const fieldErrors = policy.checkShareTargets(channelId, targets);
      if (fieldErrors) {
        await refused(userId, channelId, 'modal', Object.values(fieldErrors).join(' '), {
          shareTargets: targets.map((t) => t.value),
        });
        return { fieldErrors };
      }
      return {};
    },

    registrationRuleIn: (channelId) => policy.registrationRule(channelId),

    async checkRegistration(userId, channelId, asked) {
      const decision = policy.checkRegistration(channelId, asked);
      if (!decision.allowed) await refused(userId, channelId, 'modal', decision.reason, { register: asked.register });
      return decision;
    },

    async saveWithinLimits(request, channelId) {
      const userId = request.requesterId;
      // "Per day" is the last 24 hours rather than the calendar day, which has no single meaning across a team's
      // time zones.
      const saved = await deps.store.insertWithinLimits(request, {
        since: subDays(clock.now(), 1),
        refusal: (counts) => {
          const limits = policy.checkLimits(userId, { inFlight: counts.inFlight, today: counts.since });
          return limits.allowed ? undefined : limits.reason;
        },
      });
      if ('refused' in saved) await refused(userId, channelId, 'modal', saved.refused);
      return saved;
    },

    async mayBuildBlueprint(userId, channelId, blueprintName, entryPoint) {
      const decision = policy.mayBuildBlueprint(channelId, blueprintName);
      if (!decision.allowed)
        await refused(userId, channelId, entryPoint, decision.reason, { blueprint: blueprintName });
      return decision;
    },

    buildableBlueprints: (channelId, blueprints) => policy.buildableBlueprints(channelId, blueprints),

    isAdmin: (userId) => policy.isAdmin(userId),
    get adminConfigured() {
      return policy.adminConfigured;
    },
  };
}
