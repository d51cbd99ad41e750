import { createPolicy, parsePolicy } from '../../src/policy';
import { silentLogger } from '../../src/platform/logger';
import { createGatekeeper } from '../../src/slack/authorization';
import type { AuditEvent } from '../../src/store/store';

/* The gate's blueprint questions, for the person who acted: a refusal is recorded with where it happened. */

const clock = { now: () => new Date('2026-12-01T10:00:00Z') };

function gateFor(yaml: string) {
  const recorded: AuditEvent[] = [];
  const policy = createPolicy(parsePolicy(yaml, 'policy.yaml'), {
    usergroupMembers: async () => [],
    clock,
    logger: silentLogger(),
  });
  const gate = createGatekeeper({
    policy,
    audit: { appendAudit: async (event) => void recorded.push(event) },
    store: { insertWithinLimits: () => Promise.reject(new Error('not used')) },
    clock,
    logger: silentLogger(),
  });
  return { gate, recorded };
}

describe('the gate on blueprints', () => {
  it('records a refused blueprint with its name, the person and the channel, and nothing when allowed', async () => {
    const { gate, recorded } = gateFor('blueprints:\n  C0BUILDS1: [rhel9-golden]\n');
    await expect(gate.mayBuildBlueprint('U0ALICE01', 'C0BUILDS1', 'RHEL9-golden', 'command')).resolves.toEqual({
      allowed: true,
    });
    const refused = await gate.mayBuildBlueprint('U0ALICE01', 'C0BUILDS1', 'db-hardened', 'modal');
    expect(refused).toMatchObject({ allowed: false, reason: expect.stringContaining('“db-hardened”') });
    expect(recorded).toEqual([
      expect.objectContaining({
        kind: 'refused',
        actorId: 'U0ALICE01',
        channelId: 'C0BUILDS1',
        detail: expect.objectContaining({ entryPoint: 'modal', blueprint: 'db-hardened' }),
      }),
    ]);
  });

  it('filters a list to what the channel may build without recording anything', () => {
    const { gate, recorded } = gateFor('blueprints:\n  "*": [web-base]\n');
    const list = [{ name: 'rhel9-golden' }, { name: 'Web-Base' }];
    expect(gate.buildableBlueprints(null, list)).toEqual([{ name: 'Web-Base' }]);
    expect(recorded).toEqual([]);
  });
});
