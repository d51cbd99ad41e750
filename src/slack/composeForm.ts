import type { View, WebClient } from '@slack/web-api';
import type { DistributionCatalog } from '../imageBuilder/distributionCatalog';
import type { Provider } from '../providers';
import type { UserDefaultsStore } from '../store/store';
import type { EntryPoint, Gatekeeper } from './authorization';
import { composeModal, noticeModal, type ComposeModalContext } from './views/composeModal';

/**
 * Opens a cloud's compose form, pre-filled with `initialValues` (a rebuild) or else with what this user last entered
 * for that cloud. Reads only local state (the distribution cache, the store), so it fits in the trigger's 3 seconds.
 */
export async function openComposeForm(
  client: Pick<WebClient, 'views'>,
  triggerId: string,
  deps: { catalog: DistributionCatalog; defaults: Pick<UserDefaultsStore, 'getDefaults'> },
  form: { provider: Provider; userId: string; context: ComposeModalContext; initialValues?: Record<string, string> },
): Promise<void> {
  const initialValues = form.initialValues ?? (await deps.defaults.getDefaults(form.userId, form.provider.id)) ?? {};
  const view = composeModal({
    provider: form.provider,
    distributions: deps.catalog.current(),
    architecturesOf: deps.catalog.architecturesOf,
    context: form.context,
    initialValues,
  });
  // Slack's views.open takes the view as a JSON-encoded string. The client's typings ask for the object, which it
  // would copy whole (for a debug line) and then encode on every command; encoded here, it is sent as it is.
  await client.views.open({ trigger_id: triggerId, view: JSON.stringify(view) as unknown as View });
}

/**
 * Whether this person may ask for an image from a button (channel null: from no channel, as in App Home); when
 * the policy says no, the trigger opens a notice saying why instead of the form.
 */
export async function mayOpenComposeForm(
  client: Pick<WebClient, 'views'>,
  triggerId: string,
  gate: Pick<Gatekeeper, 'mayRequest'>,
  asker: { userId: string; channelId: string | null; entryPoint: EntryPoint },
): Promise<boolean> {
  const decision = await gate.mayRequest(asker.userId, asker.channelId, asker.entryPoint);
  if (!decision.allowed)
    await client.views.open({ trigger_id: triggerId, view: noticeModal('Not allowed', decision.reason) });
  return decision.allowed;
}
