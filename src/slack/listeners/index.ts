import type { App, BlockButtonAction } from '@slack/bolt';
import { ACTION_IDS } from '../views/actionIds';
import { COMPOSE_MODAL_CALLBACK_ID } from '../views/composeModal';
import { clearDefaultsAction } from './actions/clearDefaults';
import { newImageAction } from './actions/newImage';
import { rebuildAction } from './actions/rebuild';
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
  app.action<BlockButtonAction>(ACTION_IDS.rebuild, rebuildAction({ ...deps, defaults: store }));
  // One button per cloud: new_image:aws, new_image:gcp…
  app.action<BlockButtonAction>(new RegExp(`^${ACTION_IDS.newImage}:`), newImageAction({ ...deps, defaults: store }));
  app.action<BlockButtonAction>(ACTION_IDS.clearDefaults, clearDefaultsAction({ ...deps, defaults: store, audit: store }));
  app.event('app_home_opened', appHomeOpened(deps));
}
