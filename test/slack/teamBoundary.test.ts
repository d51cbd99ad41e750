import { actorTeamOf, isAllowedTeam } from '../../src/slack/teamBoundary';
import type { SlackIdentity } from '../../src/slack/slackIdentity';

/* Who acted, read from each kind of payload, and whether their team may use the bot. */

const WORKSPACE: SlackIdentity = {
  botUserId: 'UBOT',
  botId: 'BBOT',
  teamId: 'T1',
  enterpriseId: 'E1',
  isEnterpriseInstall: false,
};
const ORG_WIDE: SlackIdentity = { botUserId: 'UBOT', botId: 'BBOT', enterpriseId: 'E1', isEnterpriseInstall: true };
const none = new Set<string>();

it('reads the actor’s own team: user.team_id on interactive payloads, team_id on commands; events name no actor', () => {
  expect(actorTeamOf({ type: 'block_actions', user: { id: 'U9', team_id: 'T9' }, team: { id: 'T1' } })).toEqual({
    teamId: 'T9',
  });
  expect(actorTeamOf({ type: 'view_submission', user: { id: 'U9' }, team: { id: 'T1', enterprise_id: 'E1' } })).toEqual(
    {
      teamId: 'T1',
      enterpriseId: 'E1',
    },
  );
  expect(actorTeamOf({ command: '/image-builder', team_id: 'T9', enterprise_id: 'E9' })).toEqual({
    teamId: 'T9',
    enterpriseId: 'E9',
  });
  expect(actorTeamOf({ type: 'event_callback', team_id: 'T1', event: { type: 'app_home_opened' } })).toBeUndefined();
});

it('lets in the installing workspace only, the whole organisation for an org-wide install, and listed teams', () => {
  expect(isAllowedTeam({ teamId: 'T1', enterpriseId: 'E1' }, WORKSPACE, none)).toBe(true);
  // Another workspace of the same organisation: the bot was installed in T1 only.
  expect(isAllowedTeam({ teamId: 'T2', enterpriseId: 'E1' }, WORKSPACE, none)).toBe(false);
  expect(isAllowedTeam({ teamId: 'T2', enterpriseId: 'E1' }, ORG_WIDE, none)).toBe(true);
  expect(isAllowedTeam({ teamId: 'T9', enterpriseId: 'E9' }, ORG_WIDE, none)).toBe(false);
  expect(isAllowedTeam({ teamId: 'T9' }, WORKSPACE, new Set(['T9']))).toBe(true);
  expect(isAllowedTeam({ teamId: 'T8', enterpriseId: 'E9' }, WORKSPACE, new Set(['E9']))).toBe(true);
  expect(isAllowedTeam({}, WORKSPACE, none)).toBe(false);
});
