import type { View, WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { DistributionCatalog } from '../imageBuilder/distributionCatalog';
import {
  CHECKBOX_TICKED,
  REGISTRATION_FIELD_ID,
  type Provider,
  type Registration,
  type RegistrationOffer,
} from '../providers';
import type { UserDefaultsStore } from '../store/store';
import type { EntryPoint, Gatekeeper } from './authorization';
import { blueprintOffer, formBlueprintOf, type BlueprintChoiceDeps } from './blueprintChoice';
import type { ChosenBlueprint } from './views/blueprintForm';
import { composeModal, noticeModal, openedFromAppHome, type ComposeModalContext } from './views/composeModal';

export interface ComposeFormDeps {
  catalog: DistributionCatalog;
  defaults: Pick<UserDefaultsStore, 'getDefaults'>;
  /** "Start from" a blueprint; left out, the form builds plain images only. */
  blueprintChoice?: BlueprintChoiceDeps;
  /** The bot's registration with Red Hat, when set up: RHEL forms offer it. */
  registration?: Registration;
  /** The policy's registration rule where the form is opened: ticked where required, not offered where forbidden. */
  gate: Pick<Gatekeeper, 'registrationRuleIn'>;
}

export interface ComposeForm {
  provider: Provider;
  context: ComposeModalContext;
  initialValues: Readonly<Record<string, string>>;
  /** The blueprint chosen (its detail read, or why it could not be). */
  chosen?: ChosenBlueprint;
}

/** The form as it stands: the same builder opens it and updates it when a blueprint is chosen. */
export function composeFormView(deps: Omit<ComposeFormDeps, 'defaults'>, form: ComposeForm): View {
  const policyChannel = openedFromAppHome(form.context) ? null : form.context.channelId;
  const blueprint = formBlueprintOf(form.chosen, form.provider);
  return composeModal({
    provider: form.provider,
    distributions: deps.catalog.current(),
    architecturesOf: deps.catalog.architecturesOf,
    context: { ...form.context, ...(blueprint ? { blueprint } : {}) },
    ...registrationOfForm(deps, policyChannel, form.initialValues),
    ...(deps.blueprintChoice
      ? { blueprints: { offer: blueprintOffer(deps.blueprintChoice, policyChannel), chosen: form.chosen } }
      : {}),
  });
}

/**
 * How the form offers registration here, and its values: a channel that requires it starts the box ticked whatever
 * was remembered or rebuilt (unticked, it would only be refused); one that forbids it has no box.
 */
function registrationOfForm(
  deps: Pick<ComposeFormDeps, 'registration' | 'gate'>,
  policyChannel: string | null,
  initialValues: Readonly<Record<string, string>>,
): { registration?: RegistrationOffer; initialValues: Readonly<Record<string, string>> } {
  if (deps.registration === undefined) return { initialValues };
  const rule = deps.gate.registrationRuleIn(policyChannel);
  if (rule === 'forbidden') return { initialValues };
  if (rule === 'required') {
    return { registration: 'required', initialValues: { ...initialValues, [REGISTRATION_FIELD_ID]: CHECKBOX_TICKED } };
  }
  return { registration: 'optional', initialValues };
}

/**
 * Opens a cloud's compose form, pre-filled with `initialValues` (a rebuild) or else with what this user last entered
 * for that cloud. Reads only local state (the distribution cache, the blueprint cache, the store), so it fits in the
 * trigger's 3 seconds. Answers the opened view's id and hash, for an update once a blueprint's detail is read.
 */
export async function openComposeForm(
  client: Pick<WebClient, 'views'>,
  triggerId: string,
  deps: ComposeFormDeps,
  form: Omit<ComposeForm, 'initialValues'> & { userId: string; initialValues?: Record<string, string> },
): Promise<{ viewId?: string; hash?: string }> {
  const initialValues = form.initialValues ?? (await deps.defaults.getDefaults(form.userId, form.provider.id)) ?? {};
  const view = composeFormView(deps, { ...form, initialValues });
  // Slack's views.open takes the view as a JSON-encoded string. The client's typings ask for the object, which it
  // would copy whole (for a debug line) and then encode on every command; encoded here, it is sent as it is.
  const opened = await client.views.open({ trigger_id: triggerId, view: JSON.stringify(view) as unknown as View });
  return { viewId: opened.view?.id, hash: opened.view?.hash };
}

/**
 * Replaces the open form (by its id, naming the hash it had): when the person changed it meanwhile, Slack refuses
 * this update (hash_conflict) and their later change wins; any other failure is logged, as the form still works.
 */
export async function updateComposeForm(
  client: Pick<WebClient, 'views'>,
  opened: { viewId?: string | undefined; hash?: string | undefined },
  view: View,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  if (!opened.viewId) return;
  await client.views
    .update({
      view_id: opened.viewId,
      ...(opened.hash ? { hash: opened.hash } : {}),
      view: JSON.stringify(view) as unknown as View,
    })
    .catch((error: unknown) => {
      if ((error as { data?: { error?: string } }).data?.error === 'hash_conflict') return;
      logger.warn({ err: error, viewId: opened.viewId }, 'could not update the compose form');
    });
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
