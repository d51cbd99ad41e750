import { viewProblems, withSlackIds, type JsonObject } from './blockKit';
import { invalid, refuse, stringArg, type WebApiMethod } from './slackReplies';
import { triggerIssuedAt } from './slackIds';
import type { FakeSlackViewRecord, SlackView, SlackWorkspace } from './slackWorkspace';

/*
 * The fake Slack's views.* methods: modals opened and pushed with a trigger (single use, valid for 3 s, as Slack
 * allows), updated by view id or external id with an optional hash, and App Homes published per user. A view is
 * stored as Slack returns it, with its ids, hash and empty state, so a test can submit what the app opened.
 */

export function viewMethods(workspace: SlackWorkspace): Record<string, WebApiMethod> {
  const views: ViewState = { workspace, usedTriggers: new Set(), sequence: 0 };
  return {
    'views.open': (args) => openModal(views, args),
    'views.push': (args) => openModal(views, args),
    'views.update': (args) => updateView(views, args),
    'views.publish': (args) => publishHome(views, args),
  };
}

interface ViewState {
  workspace: SlackWorkspace;
  usedTriggers: Set<string>;
  /** Numbers the view ids and hashes. */
  sequence: number;
}

function openModal(views: ViewState, args: JsonObject): JsonObject {
  const triggerId = takeTrigger(views, args);
  const view = buildView(views, args.view, 'modal');
  views.workspace.views.set(view.id, { view, history: [], triggerId });
  return { ok: true, view };
}

function updateView(views: ViewState, args: JsonObject): JsonObject {
  const record = findViewRecord(views.workspace, args);
  const hash = stringArg(args.hash);
  if (hash && hash !== record.view.hash) throw refuse('hash_conflict');
  const view = buildView(views, args.view, record.view.type, record.view);
  record.history.push(record.view);
  record.view = view;
  return { ok: true, view };
}

function publishHome(views: ViewState, args: JsonObject): JsonObject {
  const userId = stringArg(args.user_id);
  if (!userId) throw invalid('invalid_arguments', ['missing required field: user_id']);
  const { homeViews } = views.workspace;
  const existing = homeViews.get(userId);
  const hash = stringArg(args.hash);
  if (hash && existing && hash !== existing.view.hash) throw refuse('hash_conflict');
  const view = buildView(views, args.view, 'home', existing?.view);
  if (existing) {
    existing.history.push(existing.view);
    existing.view = view;
  } else {
    homeViews.set(userId, { view, history: [], userId });
  }
  return { ok: true, view };
}

function takeTrigger(views: ViewState, args: JsonObject): string {
  const triggerId = stringArg(args.trigger_id);
  if (!triggerId) throw invalid('invalid_arguments', ['missing required field: trigger_id']);
  const issuedAt = triggerIssuedAt(triggerId);
  if (issuedAt === undefined) throw refuse('invalid_trigger_id');
  if (views.usedTriggers.has(triggerId)) throw refuse('exchanged_trigger_id');
  if (views.workspace.now() - issuedAt > views.workspace.triggerLifetimeMs) throw refuse('expired_trigger_id');
  views.usedTriggers.add(triggerId);
  return triggerId;
}

/** The posted view as Slack stores and returns it; `base` is the view it replaces, whose ids it keeps. */
function buildView(views: ViewState, posted: unknown, expected: 'modal' | 'home', base?: SlackView): SlackView {
  const found = viewProblems(posted, expected);
  if (found.length > 0) throw invalid('invalid_arguments', found);
  const view = posted as JsonObject;
  const { workspace } = views;
  views.sequence += 1;
  const id = base?.id ?? `V${String(views.sequence).padStart(10, '0')}`;
  return {
    ...view,
    id,
    team_id: workspace.teamId,
    type: expected,
    title: view.title ?? null,
    close: view.close ?? null,
    submit: view.submit ?? null,
    blocks: withSlackIds(view.blocks) as unknown[],
    private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
    callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
    external_id: typeof view.external_id === 'string' ? view.external_id : '',
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
    state: { values: {} },
    hash: `${Math.floor(workspace.now() / 1000)}.${String(views.sequence).padStart(8, '0')}`,
    root_view_id: base?.root_view_id ?? id,
    previous_view_id: base?.previous_view_id ?? null,
    app_id: workspace.appId,
    app_installed_team_id: workspace.teamId,
    bot_id: workspace.botId,
  };
}

function findViewRecord(workspace: SlackWorkspace, args: JsonObject): FakeSlackViewRecord {
  const viewId = stringArg(args.view_id);
  const externalId = stringArg(args.external_id);
  if (!viewId && !externalId) throw invalid('invalid_arguments', ['must provide view_id or external_id']);
  const all = [...workspace.views.values(), ...workspace.homeViews.values()];
  const record = viewId ? all.find((r) => r.view.id === viewId) : all.find((r) => r.view.external_id === externalId);
  if (!record) throw refuse('not_found');
  return record;
}
