import { subDays } from 'date-fns/subDays';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { ComposeRequest } from '../imageBuilder';
import { registrable, type ShareTarget } from '../providers';
import type { ApprovalAsked, AuditLog, BuildRequest, BuildRequestStore, NewBuildRequest } from '../store/store';
import type { ApprovalPolicy, RegistrationAsked, RegistrationRule } from '../policy';

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
  /** Who may approve what, and which requests wait for it; undefined: nothing waits, the refusals stand. */
  readonly approvals: ApprovalPolicy | undefined;
}

/** How a request would wait for approval: why (possibly no reason yet: only a limit may add one), and until when. */
export interface ApprovalHold {
  approval: ApprovalAsked;
  expiresAt: Date;
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

const ALLOWED: Decision = Object.freeze({ allowed: true });
const refuse = (reason: string): Decision => ({ allowed: false, reason });

/** Why a request can no longer be decided on, from where it stands. */
function decidedAlready(request: BuildRequest): string {
  if (request.decision === 'approved') return `<@${request.decidedBy}> approved it already.`;
  if (request.decision === 'denied') return `<@${request.decidedBy}> denied it already.`;
  if (request.decision === 'expired') return 'It waited too long and was dropped.';
  return 'It is not waiting for approval yet; try again in a few seconds.';
}

export type EntryPoint = 'command' | 'modal' | 'rebuild button' | 'new image button' | 'approval';

export interface Gatekeeper {
  mayRequest(userId: string, channelId: string | null, entryPoint: EntryPoint): Promise<Decision>;
  /** The same question for display only (App Home shows why); nothing is recorded. */
  wouldAllow(userId: string, channelId: string | null): Promise<Decision>;
  /** Share targets of a submitted request: field errors for the modal. Checked at submission, where the values are final. */
  checkOrder(
    userId: string,
    channelId: string | null,
    targets: readonly ShareTarget[],
  ): Promise<{ fieldErrors?: Record<string, string>; awaits?: string[] }>;
  /**
   * How a request made here would wait for approval, with `awaits` (what checkOrder said) and the channel's own rule
   * among its reasons; undefined when the policy has no approvals.
   */
  approvalHold(
    channelId: string | null,
    awaits: readonly string[],
    targets: readonly ShareTarget[],
  ): ApprovalHold | undefined;
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
    hold?: ApprovalHold,
  ): Promise<{ request: BuildRequest; created: boolean } | { refused: string }>;
  /**
   * Whether this person may decide on this waiting request now: an approver, not its requester, and the policy still
   * allowing what it asks (its requester may still request there; its share targets allowed, or allowed to wait for
   * approval). Limits are not counted again: a request held over them waited for exactly this yes.
   */
  mayDecide(userId: string, request: BuildRequest, decision: 'approved' | 'denied'): Promise<Decision>;
  /** The policy's approvals, for showing what waits and for whom. */
  readonly approvals: ApprovalPolicy | undefined;
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
      if (fieldErrors && policy.approvals?.outsideSharing) {
        return {
          awaits: [
            `It shares outside what this channel allows (policy approvals.outside_sharing): ${Object.values(fieldErrors).join(' ')}`,
          ],
        };
      }
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

    approvalHold: (channelId, awaits, targets) =>
      approvalHoldOf(policy.approvals, clock, { channelId, awaits, targets }),

    async mayDecide(userId, request, decision) {
      const decided = await decisionAllowed(policy, userId, request, decision);
      if (!decided.allowed) {
        await refused(userId, request.approval?.channelId ?? null, 'approval', decided.reason, {
          requestId: request.id,
          decision,
        });
      }
      return decided;
    },

    get approvals() {
      return policy.approvals;
    },

    async saveWithinLimits(request, channelId, hold) {
      const userId = request.requesterId;
      // "Per day" is the last 24 hours rather than the calendar day, which has no single meaning across a team's
      // time zones.
      const saved = await deps.store.insertWithinLimits(request, {
        since: subDays(clock.now(), 1),
        refusal: (counts) => {
          const limits = policy.checkLimits(userId, { inFlight: counts.inFlight, today: counts.since });
          return limits.allowed ? undefined : limits.reason;
        },
        ...(hold && policy.approvals?.overLimits
          ? { waitInstead: { approval: hold.approval, expiresAt: hold.expiresAt } }
          : {}),
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

/** Whether `userId` may decide on `request` now (Gatekeeper.mayDecide), without recording anything. */
async function decisionAllowed(
  policy: RequestPolicy,
  userId: string,
  request: BuildRequest,
  decision: 'approved' | 'denied',
): Promise<Decision> {
  const approvals = policy.approvals;
  const asked = request.approval;
  if (!asked) return refuse('This request does not wait for approval.');
  if (!approvals) {
    return refuse(
      'The policy no longer has approvals, so nothing can be approved; the request ends when its time is up.',
    );
  }
  const approver = await approvals.mayApprove(userId);
  if (!approver.allowed) return approver;
  if (userId === request.requesterId) return refuse('You cannot decide on your own request; another approver must.');
  if (request.state !== 'awaiting-approval') return refuse(decidedAlready(request));
  if (decision === 'denied') return ALLOWED;
  const requester = await policy.mayRequest(request.requesterId, asked.policyChannel);
  if (!requester.allowed) {
    return refuse(`The policy no longer lets <@${request.requesterId}> ask for this: ${requester.reason}`);
  }
  const blueprint = request.blueprint && policy.mayBuildBlueprint(asked.policyChannel, request.blueprint.name);
  if (blueprint && !blueprint.allowed) return refuse(`The policy no longer allows this request: ${blueprint.reason}`);
  const refused = policy.checkShareTargets(asked.policyChannel, asked.shareTargets as ShareTarget[]);
  if (refused && !approvals.outsideSharing) {
    return refuse(`The policy no longer allows this request: ${Object.values(refused).join(' ')}`);
  }
  // A blueprint's registration is the blueprint's own; a plain image's was the requester's choice, judged again.
  const registration =
    !request.blueprint &&
    policy.checkRegistration(asked.policyChannel, {
      registrable: registrable(request.distribution),
      register: registersAtFirstBoot(request.composeRequest),
      configured: true,
    });
  if (registration && !registration.allowed) {
    return refuse(`The policy no longer allows this request: ${registration.reason}`);
  }
  return ALLOWED;
}

/** Whether a stored compose request registers the image with Red Hat (customizations.subscription). */
function registersAtFirstBoot(composeRequest: string): boolean {
  const body = JSON.parse(composeRequest) as ComposeRequest;
  return body.customizations?.subscription !== undefined;
}

/** How a request made in `channelId` would wait (Gatekeeper.approvalHold); undefined without approvals. */
function approvalHoldOf(
  approvals: ApprovalPolicy | undefined,
  clock: Clock,
  asked: { channelId: string | null; awaits: readonly string[]; targets: readonly ShareTarget[] },
): ApprovalHold | undefined {
  if (!approvals) return undefined;
  const required = approvals.requiredHere(asked.channelId);
  return {
    approval: {
      reasons: [...(required ? [required] : []), ...asked.awaits],
      approvers: approvals.approvers,
      channelId: approvals.channel,
      policyChannel: asked.channelId,
      shareTargets: asked.targets.map(({ fieldId, kind, value }) => ({ fieldId, kind, value })),
    },
    expiresAt: new Date(clock.now().getTime() + approvals.expireAfterMs),
  };
}
