import type { App } from '@slack/bolt';
import { registerListeners } from '../../../src/slack/listeners';
import { listenerWorld, openForm, useSqliteStore } from './support';

/* The routing Bolt is given: the command by its name, and the form the command opens back to its submission. */

const { store } = useSqliteStore();

it('routes the slash command, and the submission of the form it opens, to the listeners', async () => {
  const app = { command: jest.fn(), view: jest.fn(), action: jest.fn(), event: jest.fn(), options: jest.fn() };
  const world = listenerWorld(store());

  registerListeners(app as unknown as App, '/image-builder', { ...world.deps, publishHome: jest.fn() });

  expect(app.command).toHaveBeenCalledWith('/image-builder', expect.any(Function));
  const [[constraints, submissionListener]] = app.view.mock.calls as [[{ callback_id: string; type: string }, unknown]];
  expect(submissionListener).toEqual(expect.any(Function));
  const view = await openForm(world, 'aws');
  expect(constraints).toEqual({ callback_id: view.callback_id, type: 'view_submission' });
});
