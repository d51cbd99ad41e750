import { createHmac } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isObject, STATEFUL_ELEMENT_TYPES, type JsonObject } from './fakes/blockKit';
import type { FakeTrafficObserver } from './fakes/observer';
import { newTriggerId } from './fakes/slackIds';

/*
 * Requests exactly as Slack sends them to an app in HTTP mode: signed POSTs to /slack/events, form-encoded for slash
 * commands and `payload=<json>` for interactivity, JSON for the Events API. Interactive payloads are built from what
 * the app actually rendered (the view it opened, the message it posted), so a test can only fill inputs and press
 * buttons that exist, and Slack's client-side rules (required inputs, length limits) apply as they would for a user.
 */

export const DEFAULT_TEAM = { id: 'T1', domain: 'fake-workspace' } as const;
const DEFAULT_APP_ID = 'A1';
/** Slack still sends the deprecated verification token; Bolt ignores it in favour of the signature. */
const VERIFICATION_TOKEN = 'deprecated-verification-token';

export interface SlackRequestBody {
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
  /** The raw body, exactly what is signed and sent. */
  text: string;
  /** The slash command fields, or the interactive / event payload, for a test to read (e.g. its trigger_id). */
  payload: JsonObject;
}

export interface SignedPostOptions {
  /** x-slack-request-timestamp, in seconds; now by default. */
  timestamp?: number;
  /** Set on Slack's redeliveries of events (x-slack-retry-num, x-slack-retry-reason). */
  retryNum?: number;
  retryReason?: string;
  /** Sees the app's answer (the tests' secret sentinel). */
  observer?: FakeTrafficObserver;
}

export interface AppAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body as JSON, or undefined when it was empty or not JSON. */
  json: unknown;
  /** How long the app took to answer: Slack gives up after 3 s. */
  elapsedMs: number;
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret. */
export function slackSignature(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** POSTs `body` to the app's /slack/events (when `appUrl` has no path) signed with `signingSecret`. A string body is sent form-encoded. */
export function signedPost(
  appUrl: string,
  signingSecret: string,
  body: string | SlackRequestBody,
  options: SignedPostOptions = {},
): Promise<AppAnswer> {
  const url = new URL(appUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/slack/events';
  const text = typeof body === 'string' ? body : body.text;
  const contentType = typeof body === 'string' ? 'application/x-www-form-urlencoded' : body.contentType;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    accept: 'application/json,*/*',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(signingSecret, timestamp, text),
  };
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = options.retryReason ?? 'http_timeout';
  }
  const started = performance.now();
  // node:http rather than fetch: it keeps working while a test runs jest's fake timers.
  return new Promise<AppAnswer>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answerText = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = answerText === '' ? undefined : (JSON.parse(answerText) as unknown);
        } catch {
          json = undefined;
        }
        const answer = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: answerText,
          json,
          elapsedMs: performance.now() - started,
        };
        options.observer?.answerToSlack(answer, `the answer to POST ${url.pathname}`);
        resolve(answer);
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

const formBody = (fields: Record<string, string>): SlackRequestBody => ({
  contentType: 'application/x-www-form-urlencoded',
  text: new URLSearchParams(fields).toString(),
  payload: fields,
});

const interactiveBody = (payload: JsonObject): SlackRequestBody => ({
  contentType: 'application/x-www-form-urlencoded',
  text: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  payload,
});

// ---------------------------------------------------------------------------------------------------------------
// Slash commands

export interface SlashCommandInput {
  /** Where the app may answer; use the fake Slack's `responseUrl(id)`. */
  response_url: string;
  command?: string;
  text?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  /** A fresh trigger (valid for 3 s at the fake Slack) by default. */
  trigger_id?: string;
  api_app_id?: string;
  enterprise_id?: string;
  enterprise_name?: string;
}

/** The form Slack posts for `/image-builder <text>`, every field Slack sends. */
export function slashCommandBody(input: SlashCommandInput): SlackRequestBody {
  const fields: Record<string, string> = {
    token: VERIFICATION_TOKEN,
    team_id: input.team_id ?? DEFAULT_TEAM.id,
    team_domain: input.team_domain ?? DEFAULT_TEAM.domain,
    ...(input.enterprise_id
      ? { enterprise_id: input.enterprise_id, enterprise_name: input.enterprise_name ?? 'Fake Enterprise' }
      : {}),
    channel_id: input.channel_id ?? 'C1',
    channel_name: input.channel_name ?? 'builds',
    user_id: input.user_id ?? 'U1',
    user_name: input.user_name ?? 'alice',
    command: input.command ?? '/image-builder',
    text: input.text ?? '',
    api_app_id: input.api_app_id ?? DEFAULT_APP_ID,
    is_enterprise_install: 'false',
    response_url: input.response_url,
    trigger_id: input.trigger_id ?? newTriggerId(),
  };
  return formBody(fields);
}

// ---------------------------------------------------------------------------------------------------------------
// Users

export type SlackUserInput = string | { id: string; name?: string; team_id?: string };

function slackUser(user: SlackUserInput): JsonObject {
  const { id, name, team_id } = typeof user === 'string' ? { id: user, name: undefined, team_id: undefined } : user;
  const username = name ?? id.toLowerCase();
  return { id, username, name: username, team_id: team_id ?? DEFAULT_TEAM.id };
}

// ---------------------------------------------------------------------------------------------------------------
// Modals

/** A view as the app opened it (the fake Slack's `views()` or the `view` of a views.open answer). */
export interface OpenedView extends JsonObject {
  id: string;
  blocks: unknown[];
}

/** A value for one input: text, an option value (or its text) for selects and radio buttons, a list for multi-selects and checkboxes, null to leave it empty. */
export type FillValue = string | number | string[] | null;

export type StateValues = Record<string, Record<string, JsonObject>>;

interface StatefulElement {
  blockId: string;
  actionId: string;
  element: JsonObject;
  /** For input blocks: whether Slack lets the user submit with it empty. */
  required: boolean;
  label: string;
}

function statefulElements(view: OpenedView): StatefulElement[] {
  const found: StatefulElement[] = [];
  for (const block of view.blocks) {
    if (!isObject(block) || typeof block.block_id !== 'string') continue;
    const candidates =
      block.type === 'input'
        ? [block.element]
        : block.type === 'actions'
          ? Array.isArray(block.elements)
            ? block.elements
            : []
          : block.type === 'section'
            ? [block.accessory]
            : [];
    for (const element of candidates) {
      if (
        !isObject(element) ||
        !STATEFUL_ELEMENT_TYPES.has(String(element.type)) ||
        typeof element.action_id !== 'string'
      )
        continue;
      const label = isObject(block.label) && typeof block.label.text === 'string' ? block.label.text : block.block_id;
      found.push({
        blockId: block.block_id,
        actionId: element.action_id,
        element,
        required: block.type === 'input' && block.optional !== true,
        label,
      });
    }
  }
  return found;
}

function optionsOf(element: JsonObject): JsonObject[] {
  if (Array.isArray(element.options)) return element.options.filter(isObject);
  if (Array.isArray(element.option_groups)) {
    return element.option_groups.flatMap((g: unknown) =>
      isObject(g) && Array.isArray(g.options) ? g.options.filter(isObject) : [],
    );
  }
  return [];
}

const optionText = (option: JsonObject) =>
  isObject(option.text) && typeof option.text.text === 'string' ? option.text.text : '';

/** The option as Slack reports a selection: the option object as rendered, its text marked as emoji-enabled. */
function chooseOption(element: JsonObject, wanted: string, where: string): JsonObject {
  const options = optionsOf(element);
  const option = options.find((o) => o.value === wanted) ?? options.find((o) => optionText(o) === wanted);
  if (!option) {
    throw new Error(
      `${where} has no option ${JSON.stringify(wanted)}; it offers ${options.map((o) => JSON.stringify(o.value)).join(', ') || 'nothing'}`,
    );
  }
  return { ...option, text: isObject(option.text) ? { emoji: true, ...option.text } : option.text };
}

const asList = (value: FillValue): string[] => (value === null ? [] : Array.isArray(value) ? value : [String(value)]);

function elementState(element: JsonObject, fill: FillValue | undefined, where: string): JsonObject {
  const type = String(element.type);
  const filled = fill !== undefined;
  const one = (key: string, initialKey: string) => ({
    type,
    [key]: filled ? (fill === null ? null : String(fill)) : (element[initialKey] ?? null),
  });
  switch (type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input':
      return one('value', 'initial_value');
    case 'static_select':
    case 'external_select':
    case 'radio_buttons':
      return {
        type,
        selected_option: filled
          ? fill === null
            ? null
            : chooseOption(element, String(fill), where)
          : (element.initial_option ?? null),
      };
    case 'multi_static_select':
    case 'multi_external_select':
    case 'checkboxes':
      return {
        type,
        selected_options: filled
          ? asList(fill).map((v) => chooseOption(element, v, where))
          : (element.initial_options ?? []),
      };
    case 'users_select':
      return one('selected_user', 'initial_user');
    case 'conversations_select':
      return one('selected_conversation', 'initial_conversation');
    case 'channels_select':
      return one('selected_channel', 'initial_channel');
    case 'multi_users_select':
      return { type, selected_users: filled ? asList(fill) : (element.initial_users ?? []) };
    case 'multi_conversations_select':
      return { type, selected_conversations: filled ? asList(fill) : (element.initial_conversations ?? []) };
    case 'multi_channels_select':
      return { type, selected_channels: filled ? asList(fill) : (element.initial_channels ?? []) };
    case 'datepicker':
      return one('selected_date', 'initial_date');
    case 'timepicker':
      return one('selected_time', 'initial_time');
    case 'datetimepicker':
      return {
        type,
        selected_date_time: filled ? (fill === null ? null : Number(fill)) : (element.initial_date_time ?? null),
      };
    default:
      throw new Error(`${where}: fillModal does not know how to fill a ${type}`);
  }
}

const isEmptyState = (state: JsonObject) =>
  Object.entries(state).every(
    ([key, value]) => key === 'type' || value === null || value === '' || (Array.isArray(value) && value.length === 0),
  );

/**
 * `view.state.values` as Slack would send it after a user filled the modal: every stateful element of the view, with
 * its initial value unless `fills` (keyed by action_id or block_id) sets it. Throws, as the Slack client would refuse
 * to submit, when a fill names nothing in the view, a required input is empty or a text breaks its length limits.
 */
export function fillModal(view: OpenedView, fills: Record<string, FillValue> = {}): StateValues {
  return stateValues(view, fills, true);
}

function stateValues(view: OpenedView, fills: Record<string, FillValue>, asSubmitted: boolean): StateValues {
  const elements = statefulElements(view);
  const unknown = Object.keys(fills).filter((key) => !elements.some((e) => e.actionId === key || e.blockId === key));
  if (unknown.length > 0) {
    const available = elements.map((e) => `${e.actionId} (block ${e.blockId}, "${e.label}")`).join(', ');
    throw new Error(`The modal has no input ${unknown.join(', ')}; it has: ${available || 'no inputs'}`);
  }
  const values: StateValues = {};
  for (const { blockId, actionId, element, required, label } of elements) {
    const key = Object.hasOwn(fills, actionId) ? actionId : Object.hasOwn(fills, blockId) ? blockId : undefined;
    const where = `Input "${label}" (block ${blockId}, action ${actionId})`;
    const state = elementState(element, key === undefined ? undefined : fills[key], where);
    if (asSubmitted && required && isEmptyState(state))
      throw new Error(`${where} is required: Slack would not let the user submit it empty`);
    if (asSubmitted && typeof state.value === 'string' && element.type === 'plain_text_input') {
      const { min_length: min, max_length: max } = element;
      if (typeof min === 'number' && state.value.length > 0 && state.value.length < min)
        throw new Error(`${where} needs at least ${min} characters`);
      if (typeof max === 'number' && state.value.length > max)
        throw new Error(`${where} allows at most ${max} characters`);
    }
    values[blockId] = { ...values[blockId], [actionId]: state };
  }
  return values;
}

/** The `view_submission` Slack posts when `user` presses the modal's submit button with `values` filled in. */
export function viewSubmissionBody(view: OpenedView, user: SlackUserInput, values: StateValues): SlackRequestBody {
  const teamId = typeof view.team_id === 'string' ? view.team_id : DEFAULT_TEAM.id;
  return interactiveBody({
    type: 'view_submission',
    team: { id: teamId, domain: DEFAULT_TEAM.domain },
    user: slackUser(user),
    api_app_id: typeof view.app_id === 'string' ? view.app_id : DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: newTriggerId(),
    view: { ...view, state: { values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  });
}

/** {@link viewSubmissionBody} of the view filled with {@link fillModal}. */
export function submitModalBody(
  view: OpenedView,
  user: SlackUserInput,
  fills: Record<string, FillValue> = {},
): SlackRequestBody {
  return viewSubmissionBody(view, user, fillModal(view, fills));
}

/** The `view_closed` Slack posts when the user cancels a modal opened with notify_on_close. */
export function viewClosedBody(view: OpenedView, user: SlackUserInput): SlackRequestBody {
  return interactiveBody({
    type: 'view_closed',
    team: { id: typeof view.team_id === 'string' ? view.team_id : DEFAULT_TEAM.id, domain: DEFAULT_TEAM.domain },
    user: slackUser(user),
    api_app_id: typeof view.app_id === 'string' ? view.app_id : DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    view,
    is_cleared: false,
    is_enterprise_install: false,
    enterprise: null,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Buttons and other block actions

/** A message as the app posted it (the fake Slack's `messages(channel)` items fit). */
export interface PostedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
}

export interface BlockActionInput {
  user: SlackUserInput;
  /** The action_id of the element pressed. */
  actionId: string;
  /** Narrows the search when the same action_id appears in several blocks. */
  blockId?: string;
  /** Where the element is: a message the app posted, or a view it opened. */
  source: { message: PostedMessage; responseUrl: string } | { view: OpenedView };
  /** For selects and overflow menus: the option value (or text) chosen. */
  selected?: string;
  /** For an external select: the option chosen, as the app's options listener answered it. */
  selectedOption?: JsonObject;
  /** For an element in a view: what the user had typed or chosen in the view's inputs so far. */
  fills?: Record<string, FillValue>;
  triggerId?: string;
}

/** The `block_actions` Slack posts when `user` presses a button (or picks an option) the app rendered. */
export function blockActionsBody(input: BlockActionInput): SlackRequestBody {
  const inMessage = 'message' in input.source;
  const blocks = inMessage
    ? ((input.source as { message: PostedMessage }).message.blocks ?? [])
    : (input.source as { view: OpenedView }).view.blocks;
  const matches: { blockId: string; element: JsonObject }[] = [];
  const seen: string[] = [];
  for (const block of blocks) {
    if (!isObject(block) || typeof block.block_id !== 'string') continue;
    const elements = [
      ...(Array.isArray(block.elements) ? (block.elements as unknown[]) : []),
      block.accessory,
      block.element,
    ].filter(isObject);
    for (const element of elements) {
      if (typeof element.action_id !== 'string') continue;
      seen.push(`${element.action_id} (block ${block.block_id})`);
      if (element.action_id === input.actionId && (input.blockId === undefined || input.blockId === block.block_id)) {
        matches.push({ blockId: block.block_id, element });
      }
    }
  }
  const [match] = matches;
  if (!match)
    throw new Error(
      `No element with action_id ${input.actionId} to press; the app rendered: ${seen.join(', ') || 'no interactive elements'}`,
    );
  if (matches.length > 1)
    throw new Error(`action_id ${input.actionId} appears in ${matches.length} blocks; pass blockId`);

  const { element, blockId } = match;
  const where = `Element ${input.actionId} (block ${blockId})`;
  const actionTs = (Date.now() / 1000).toFixed(6);
  const action: JsonObject = { type: element.type, action_id: input.actionId, block_id: blockId, action_ts: actionTs };
  if (element.type === 'button') {
    action.text = element.text;
    if (element.value !== undefined) action.value = element.value;
    if (element.style !== undefined) action.style = element.style;
  } else if (element.type === 'overflow' || element.type === 'static_select' || element.type === 'radio_buttons') {
    if (input.selected === undefined) throw new Error(`${where} is a ${String(element.type)}: pass selected`);
    action.selected_option = chooseOption(element, input.selected, where);
  } else if (element.type === 'external_select') {
    // Its options came from the app's options listener: pass the one chosen from what it answered.
    if (input.selectedOption === undefined) throw new Error(`${where} is an external_select: pass selectedOption`);
    action.selected_option = input.selectedOption;
  } else {
    throw new Error(`${where}: blockActionsBody does not know how to act on a ${String(element.type)}`);
  }

  const user = slackUser(input.user);
  const common = {
    type: 'block_actions',
    user,
    api_app_id: DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? newTriggerId(),
    team: { id: String(user.team_id), domain: DEFAULT_TEAM.domain },
    enterprise: null,
    is_enterprise_install: false,
    actions: [action],
  };
  if ('message' in input.source) {
    const { message, responseUrl } = input.source;
    return interactiveBody({
      ...common,
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: message.channel,
        is_ephemeral: false,
        ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      },
      channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'builds' },
      message: {
        type: 'message',
        user: 'UBOT',
        text: message.text,
        ts: message.ts,
        ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
        ...(message.blocks ? { blocks: message.blocks } : {}),
      },
      state: { values: {} },
      response_url: responseUrl,
    });
  }
  const { view } = input.source;
  return interactiveBody({
    ...common,
    container: { type: 'view', view_id: view.id },
    view: { ...view, state: { values: stateValues(view, input.fills ?? {}, false) } },
  });
}

/** The `block_suggestion` Slack posts while `user` types `value` into an external select of an open view. */
export function blockSuggestionBody(input: {
  user: SlackUserInput;
  view: OpenedView;
  blockId: string;
  actionId: string;
  value: string;
}): SlackRequestBody {
  const user = slackUser(input.user);
  return interactiveBody({
    type: 'block_suggestion',
    user,
    container: { type: 'view', view_id: input.view.id },
    api_app_id: DEFAULT_APP_ID,
    token: VERIFICATION_TOKEN,
    action_id: input.actionId,
    block_id: input.blockId,
    value: input.value,
    team: { id: String(user.team_id), domain: DEFAULT_TEAM.domain },
    enterprise: null,
    is_enterprise_install: false,
    view: { ...input.view, state: { values: {} } },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Events API

/** The JSON `event_callback` envelope Slack posts for an event such as app_home_opened. */
export function eventCallbackBody(
  event: JsonObject,
  options: { teamId?: string; botUserId?: string; eventId?: string } = {},
): SlackRequestBody {
  const teamId = options.teamId ?? DEFAULT_TEAM.id;
  const now = Date.now() / 1000;
  const payload: JsonObject = {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    api_app_id: DEFAULT_APP_ID,
    event: { event_ts: now.toFixed(6), ...event },
    type: 'event_callback',
    event_id:
      options.eventId ??
      `Ev${Math.floor(now * 1000)
        .toString(36)
        .toUpperCase()}`,
    event_time: Math.floor(now),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: options.botUserId ?? 'UBOT',
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
  return { contentType: 'application/json', text: JSON.stringify(payload), payload };
}

/** The app_home_opened event for `userId` opening the app's Home tab. */
export const appHomeOpenedEvent = (userId: string): JsonObject => ({
  type: 'app_home_opened',
  user: userId,
  channel: `D${userId}`,
  tab: 'home',
});
