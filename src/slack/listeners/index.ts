import type { App, BlockAction, BlockButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock';
import type { Store } from '../../store/store';
import { createHomePublisher } from '../homePublisher';
import type { SlackIdentity } from '../slackIdentity';
import { teamBoundary } from '../teamBoundary';
import { ACTION_IDS } from '../views/actionIds';
import { START_FROM_ACTION_ID, TARGETS_ACTION_ID } from '../views/blueprintForm';
import { startFromAction } from './actions/startFrom';
import { startFromOptionsListener } from './options/startFromOptions';
import { COMPOSE_MODAL_CALLBACK_ID, FIELD_ACTION_ID } from '../views/composeModal';
import { COMMON_FIELD_IDS } from '../../providers';
import { distributionChosenAction } from './actions/distributionChosen';
import { clearDefaultsAction } from './actions/clearDefaults';
import { auditSubcommand } from './commands/auditCommand';
import { newImageAction } from './actions/newImage';
import { rebuildAction } from './actions/rebuild';
import { approveRequestAction } from './actions/approveRequest';
import { denyRequestAction } from './actions/denyRequest';
import { denySubmission } from './views/denySubmission';
import { DENY_MODAL_CALLBACK_ID } from '../views/approvalMessages';
import { imageBuilderCommand, type ImageBuilderCommandDeps } from './commands/imageBuilderCommand';
import { appHomeOpened } from './events/appHomeOpened';
import { composeSubmission, type ComposeSubmissionDeps } from './views/composeSubmission';
import type { HomePublisher } from '../homePublisher';

export type ListenerDeps = ImageBuilderCommandDeps & ComposeSubmissionDeps & { publishHome: HomePublisher };

/** Every listener the app has, grouped by kind; each callback lives in its own file. */
export function registerListeners(app: App, command: string, deps: ListenerDeps): void {
  const { store } = deps;
  app.command(command, imageBuilderCommand(deps));
  app.view({ callback_id: COMPOSE_MODAL_CALLBACK_ID, type: 'view_submission' }, composeSubmission(deps));
  app.action<BlockButtonAction>(ACTION_IDS.rebuild, rebuildAction({ ...deps, defaults: store, blueprintChoice: deps }));
  // One button per cloud: new_image:aws, new_image:gcp…
  app.action<BlockButtonAction>(new RegExp(`^${ACTION_IDS.newImage}:`), newImageAction({ ...deps, defaults: store }));
  app.action<BlockButtonAction>(
    ACTION_IDS.clearDefaults,
    clearDefaultsAction({ ...deps, defaults: store, audit: store }),
  );
  app.event('app_home_opened', appHomeOpened(deps));
  app.action<BlockAction>(
    { block_id: COMMON_FIELD_IDS.distribution, action_id: FIELD_ACTION_ID },
    distributionChosenAction(deps),
  );
  registerBlueprintListeners(app, deps);
  registerApprovalListeners(app, deps);
}

/** A waiting request's Approve and Deny, and the Deny modal's reason. */
function registerApprovalListeners(app: App, deps: ListenerDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.approve, approveRequestAction(deps));
  app.action<BlockButtonAction>(ACTION_IDS.deny, denyRequestAction(deps));
  app.view({ callback_id: DENY_MODAL_CALLBACK_ID, type: 'view_submission' }, denySubmission(deps));
}

/** The compose form's "Start from": choosing a blueprint or whose share targets, and searching many blueprints. */
function registerBlueprintListeners(app: App, deps: ListenerDeps): void {
  const chosen = startFromAction({ ...deps, blueprintChoice: deps });
  app.action<BlockAction>(START_FROM_ACTION_ID, chosen);
  app.action<BlockAction>(TARGETS_ACTION_ID, chosen);
  app.options<'block_suggestion'>(START_FROM_ACTION_ID, startFromOptionsListener(deps));
}

/**
 * The Slack app's behaviour on Bolt: people of other organisations are turned away first, then every listener,
 * with the App Home and the admins' audit report built on the same store and gate.
 */
export function mountListeners(
  app: App,
  deps: Omit<ListenerDeps, 'publishHome' | 'auditReport' | 'store'> & {
    store: Store;
    /** The slash command the app answers (SLACK_COMMAND; the manifest declares the same). */
    command: string;
    /** The installation, known once the bot has started. */
    home: () => SlackIdentity | undefined;
    externalTeams: readonly string[];
    clock: Clock;
    logger: Logger;
  },
): void {
  const { store, gate, clock, logger, respond } = deps;
  app.use(teamBoundary({ home: deps.home, externalTeams: deps.externalTeams, audit: store, clock, logger }));
  registerListeners(app, deps.command, {
    ...deps,
    publishHome: createHomePublisher({ store, gate, clock, logger }),
    auditReport: auditSubcommand({
      audit: store,
      isAdmin: (userId) => gate.isAdmin(userId),
      adminConfigured: gate.adminConfigured,
      clock,
      logger,
      respond,
    }),
  });
}
