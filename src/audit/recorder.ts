import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { AuditEvent, AuditLog, BuildRequest } from '../store/store';
import type { BuildResult } from './audit';

/*
 * What the bot itself records of a build's life (the listeners and the gate record what people ask and what is
 * refused). Each image of a blueprint order is recorded on its own row: `submitted` once per compose. A failure to
 * record is logged and never stops the build.
 */

export interface BuildAudit {
  submitted(request: BuildRequest): void;
  finished(request: BuildRequest, outcome: BuildResult): void;
  reminded(request: BuildRequest): void;
  expired(request: BuildRequest): void;
  /** Nobody decided on a request that waited for approval, in time. */
  approvalExpired(request: BuildRequest): void;
}

export function createBuildAudit(deps: {
  store: Pick<AuditLog, 'appendAudit'>;
  clock: Clock;
  logger: Logger;
}): BuildAudit {
  const { store, clock, logger } = deps;
  const record = (kind: AuditEvent['kind'], request: BuildRequest, detail: Record<string, unknown>) =>
    void store
      .appendAudit({
        at: clock.now(),
        kind,
        actorId: null,
        requestId: request.id,
        channelId: request.channelId,
        // Every event of a blueprint's image names the blueprint and the version built ("rhel9-golden v5").
        detail: request.blueprint
          ? { ...detail, blueprint: `${request.blueprint.name} v${request.blueprint.version}` }
          : detail,
      })
      .catch((error: unknown) =>
        logger.error({ err: error, requestId: request.id, kind }, 'could not write the audit log'),
      );
  return {
    submitted: (request) =>
      record('submitted', request, {
        composeId: request.composeId,
        provider: request.provider,
        shareSummary: request.shareSummary,
      }),
    finished: (request, outcome) =>
      record(outcome === 'rejected' ? 'rejected' : 'finished', request, {
        outcome,
        composeId: request.composeId,
        ...(request.rejection ? { rejection: JSON.parse(request.rejection) as unknown } : {}),
        ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
      }),
    reminded: (request) => record('reminded', request, { expiresAt: request.expiresAt?.toISOString() }),
    expired: (request) => record('expired', request, { expiresAt: request.expiresAt?.toISOString() }),
    approvalExpired: (request) =>
      record('approval-expired', request, { waitedUntil: request.approvalExpiresAt?.toISOString() }),
  };
}
