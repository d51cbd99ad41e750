import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import { createPolicy, type PolicyDocument } from '../policy';
import type { AuditLog, BuildRequestStore } from '../store/store';
import { createGatekeeper, type Gatekeeper } from './authorization';

/**
 * The policy file put to work: user-group membership is asked of Slack through the lookups client (the policy
 * caches the answers), and every refusal the gate makes is recorded in the audit log.
 */
export function createPolicyGate(deps: {
  document: PolicyDocument;
  lookups: Pick<WebClient, 'usergroups'>;
  store: Pick<AuditLog, 'appendAudit'> & Pick<BuildRequestStore, 'insertWithinLimits'>;
  clock: Clock;
  logger: Logger;
}): Gatekeeper {
  const { lookups, store, clock, logger } = deps;
  const policy = createPolicy(deps.document, {
    usergroupMembers: async (usergroup) => (await lookups.usergroups.users.list({ usergroup })).users ?? [],
    clock,
    logger: logger.child({ component: 'policy' }),
  });
  return createGatekeeper({ policy, audit: store, store, clock, logger });
}
