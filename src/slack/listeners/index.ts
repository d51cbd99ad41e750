import type { App } from '@slack/bolt';
import { COMPOSE_MODAL_CALLBACK_ID } from '../views/composeModal';
import { imageBuilderCommand, type ImageBuilderCommandDeps } from './commands/imageBuilderCommand';
import { composeSubmission, type ComposeSubmissionDeps } from './views/composeSubmission';

export type ListenerDeps = ImageBuilderCommandDeps & ComposeSubmissionDeps;

/** Every listener the app has, grouped by kind; each callback lives in its own file. */
export function registerListeners(app: App, command: string, deps: ListenerDeps): void {
  app.command(command, imageBuilderCommand(deps));
  app.view({ callback_id: COMPOSE_MODAL_CALLBACK_ID, type: 'view_submission' }, composeSubmission(deps));
}
