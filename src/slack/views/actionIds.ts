import type { types } from '@slack/bolt';
import { plainText } from './text';

/* The interactive elements the bot renders; each has one listener in src/slack/listeners/actions. */

export const ACTION_IDS = {
  /** value: the id of the request to build again. */
  rebuild: 'rebuild',
  /** value: a provider id; opens that cloud's modal. */
  newImage: 'new_image',
  /** Forgets the user's remembered form values. */
  clearDefaults: 'clear_defaults',
  /** value: the id of a request waiting for approval; approves it. */
  approve: 'approve_request',
  /** value: the id of a request waiting for approval; opens the modal that denies it. */
  deny: 'deny_request',
} as const;

export const rebuildButton = (requestId: string): types.Button => ({
  type: 'button',
  action_id: ACTION_IDS.rebuild,
  text: plainText('Rebuild'),
  value: requestId,
});

export const rebuildActions = (requestId: string): types.ActionsBlock => ({
  type: 'actions',
  block_id: `rebuild:${requestId}`.slice(0, 255),
  elements: [rebuildButton(requestId)],
});
