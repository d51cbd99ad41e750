import type { SlashCommand } from '@slack/bolt';
import pino, { type Logger } from 'pino';
import type { Clock } from '../../../src/platform/clock';
import type { DistributionCatalog } from '../../../src/imageBuilder/distributionCatalog';
import type { PackageCheck } from '../../../src/imageBuilder/packageCheck';
import {
  composeStatusSchema,
  type ComposesItem,
  type ComposeStatus,
  type CredentialsHealth,
  type ImageBuilderClient,
} from '../../../src/imageBuilder';
import { DEFAULT_LAUNCH_DEFAULTS, type DistributionChoice, type OfferedArchitecture } from '../../../src/providers';
import {
  imageBuilderCommand,
  type ImageBuilderCommandDeps,
} from '../../../src/slack/listeners/commands/imageBuilderCommand';
import { composeSubmission, type ComposeSubmissionDeps } from '../../../src/slack/listeners/views/composeSubmission';
import type { Responder } from '../../../src/slack/responseUrl';
import { openSqliteStore } from '../../../src/store/sqlite';
import type { Store } from '../../../src/store/store';
import { createPolicy, OPEN_POLICY } from '../../../src/policy';
import { createGatekeeper, type RequestPolicy } from '../../../src/slack/authorization';
import { blocksText, isObject, withSlackIds, type JsonObject } from '../../../src/demo/fakes/blockKit';
import { newTriggerId } from '../../../src/demo/fakes/slackIds';
import {
  slashCommandBody,
  submitModalBody,
  type FillValue,
  type OpenedView,
  type SlackUserInput,
} from '../../support/slackRequests';
import { useTempFolder } from '../../tracking/helpers';

/*
 * The listeners called directly, with the arguments Bolt would give them: `ack`, a `client` whose Web API calls are
 * jest fns, and payloads shaped like Slack's, built from the view the listener itself opened. `order()` reads the
 * fakes' calls in sequence, so a test can say what happened before what (the acknowledgement before views.open).
 */

export const NOW = new Date('2025-03-01T12:00:00.000Z');
export const CHANNEL = 'C012BUILDS';
export const USER = 'U012ALICE';
export const RESPONSE_URL = 'https://hooks.slack.com/commands/T1/1234/abcdef';
const TEAM_DOMAIN = 'fake-workspace';
/** What the catalog offers in these tests: not the fallback list, so a modal showing these read it from the catalog. */
export const OFFERED: readonly DistributionChoice[] = [
  { name: 'rhel-9.6', description: 'Red Hat Enterprise Linux (RHEL) 9.6' },
  { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
  { name: 'centos-9', description: 'CentOS Stream 9' },
];

export type CommandArgs = Parameters<ReturnType<typeof imageBuilderCommand>>[0];
export type SubmissionArgs = Parameters<ReturnType<typeof composeSubmission>>[0];
type AckArgument = Parameters<CommandArgs['ack']>[0] | Parameters<SubmissionArgs['ack']>[0];

export const silentLogger = (): Logger => pino({ level: 'silent' });

/** A logger whose lines a test can read. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

export const fixedClock: Clock = { now: () => NOW };

export function fixedCatalog(
  distributions: readonly DistributionChoice[] = OFFERED,
  architectures: Readonly<Record<string, readonly OfferedArchitecture[]>> = {},
): DistributionCatalog {
  return {
    current: () => distributions,
    architecturesOf: (distribution) => architectures[distribution],
    refresh: jest.fn(async () => undefined),
    stop: jest.fn(),
  };
}

/** Every Image Builder method as a jest fn; none answers unless a test says how. */
export function fakeImageBuilder() {
  const unexpected = (name: string) => () => Promise.reject(new Error(`unexpected Image Builder call ${name}`));
  return {
    createCompose: jest.fn(unexpected('createCompose')),
    getCompose: jest.fn((_id: string): Promise<ComposeStatus> => unexpected('getCompose')()),
    listComposes: jest.fn(unexpected('listComposes')),
    listAllComposes: jest.fn((): AsyncIterable<ComposesItem> => composesList([])),
    getDistributions: jest.fn(unexpected('getDistributions')),
    getArchitectures: jest.fn(unexpected('getArchitectures')),
    searchPackages: jest.fn(unexpected('searchPackages')),
    listBlueprints: jest.fn(unexpected('listBlueprints')),
    getBlueprint: jest.fn(unexpected('getBlueprint')),
    composeBlueprint: jest.fn(unexpected('composeBlueprint')),
    listBlueprintComposes: jest.fn(unexpected('listBlueprintComposes')),
    ready: jest.fn(unexpected('ready')),
    credentialsHealth: jest.fn((): CredentialsHealth => ({ state: 'unknown' })),
  } satisfies Record<keyof ImageBuilderClient, jest.Mock>;
}

export async function* composesList(items: readonly Partial<ComposesItem>[]): AsyncIterable<ComposesItem> {
  for (const item of items) yield { id: '', request: { image_requests: [] }, created_at: '', ...item } as ComposesItem;
}

/** A GET /composes/{id} answer, read through the client's own schema as the real client would. */
export const composeStatus = (raw: JsonObject): ComposeStatus => composeStatusSchema.parse(raw);

/** The listeners' Slack Web API client: views.open answers with the view as Slack would store it. */
export function fakeSlackClient() {
  let viewSequence = 0;
  const opened: OpenedView[] = [];
  const client = {
    views: {
      // Slack takes the view as an object or, as the API reference has it, a JSON-encoded string.
      open: jest.fn(async (args: { trigger_id: string; view: JsonObject | string }) => {
        viewSequence += 1;
        const view = asSlackStoresIt(postedView(args.view), `V0${String(viewSequence).padStart(9, '0')}`);
        opened.push(view);
        return { ok: true, view };
      }),
    },
    chat: {
      getPermalink: jest.fn(async ({ channel, message_ts }: { channel: string; message_ts: string }) => ({
        ok: true,
        channel,
        permalink: permalinkOf(channel, message_ts),
      })),
    },
  };
  return { client, opened };
}

/** A view argument as Slack reads it: the object itself, or its JSON encoding. */
export const postedView = (view: JsonObject | string): JsonObject =>
  typeof view === 'string' ? (JSON.parse(view) as JsonObject) : view;

export const permalinkOf = (channel: string, ts: string) =>
  `https://${TEAM_DOMAIN}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;

/** The view as views.open returns it and view_submission carries it: ids on every block, Slack's own fields. */
function asSlackStoresIt(view: JsonObject, id: string): OpenedView {
  return {
    ...view,
    id,
    team_id: 'T1',
    type: 'modal',
    blocks: withSlackIds(view.blocks) as unknown[],
    private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
    callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
    external_id: '',
    state: { values: {} },
    hash: '1740830400.00000001',
    clear_on_close: false,
    notify_on_close: false,
    root_view_id: id,
    previous_view_id: null,
    app_id: 'A1',
    app_installed_team_id: 'T1',
    bot_id: 'B1',
  };
}

/** An `ack`; `during` runs while Slack would still be waiting for it. */
export function fakeAck(during?: (answer: AckArgument) => unknown) {
  return jest.fn(async (answer?: AckArgument) => {
    await during?.(answer);
  });
}
export type FakeAck = ReturnType<typeof fakeAck>;

export function fakeResponder() {
  return jest.fn<ReturnType<Responder>, Parameters<Responder>>(async () => undefined);
}

/**
 * The names of the fakes in the order they were called, by jest's global invocation order, so it holds however a
 * test replaced a fake's implementation.
 */
function callOrder(named: Record<string, jest.Mock | readonly jest.Mock[]>): string[] {
  const invocations = Object.entries(named).flatMap(([name, mocks]) =>
    (Array.isArray(mocks) ? mocks : [mocks]).flatMap((mock: jest.Mock) =>
      mock.mock.invocationCallOrder.map((order) => ({ name, order })),
    ),
  );
  return invocations.sort((a, b) => a.order - b.order).map((i) => i.name);
}

/** A fresh SQLite file per test, closed and removed after it; `open` opens another one in the same folder. */
export function useSqliteStore() {
  const temp = useTempFolder();
  let store: Store | undefined;
  beforeEach(async () => {
    store = temp.closeLater(await openSqliteStore({ path: temp.file(), now: fixedClock.now }));
  });
  return {
    store: (): Store => {
      if (!store) throw new Error('the store opens in beforeEach');
      return store;
    },
    open: async (name: string, options: { busyTimeoutMs?: number } = {}) => {
      const path = temp.file(name);
      return { path, store: temp.closeLater(await openSqliteStore({ path, now: fixedClock.now, ...options })) };
    },
  };
}

/** Everything both listeners depend on, as fakes. */
export function listenerWorld(store: Store, policy: RequestPolicy = openPolicy()) {
  const imageBuilder = fakeImageBuilder();
  const slack = fakeSlackClient();
  const respond = fakeResponder();
  const onRequest = jest.fn();
  const acks: FakeAck[] = [];
  const deps: ImageBuilderCommandDeps & ComposeSubmissionDeps = {
    catalog: fixedCatalog(),
    blueprints: {
      list: () => ({ blueprints: [], stale: false }),
      find: () => undefined,
      search: () => [],
      closestNames: () => [],
    },
    packages: { check: jest.fn(async (): Promise<PackageCheck> => ({ kind: 'known' })) },
    imageBuilder,
    store,
    launch: DEFAULT_LAUNCH_DEFAULTS,
    clock: fixedClock,
    logger: silentLogger(),
    respond,
    onRequest,
    gate: createGatekeeper({ policy, audit: store, store, clock: fixedClock, logger: silentLogger() }),
    auditReport: jest.fn(async () => undefined),
  };
  /** What the listeners did, in order: `ack`, `views.open`, `imageBuilder.getCompose`, `respond`… */
  const order = () =>
    callOrder({
      ack: acks,
      'views.open': slack.client.views.open,
      'chat.getPermalink': slack.client.chat.getPermalink,
      respond,
      onRequest,
      ...Object.fromEntries(Object.entries(imageBuilder).map(([name, mock]) => [`imageBuilder.${name}`, mock])),
    });
  return { imageBuilder, client: slack.client, opened: slack.opened, respond, onRequest, acks, deps, order };
}
export type ListenerWorld = ReturnType<typeof listenerWorld>;

export interface CommandInput {
  user?: string;
  channel?: string;
  ack?: FakeAck;
}

/** Runs `/image-builder <text>` through the command listener as Bolt would, and returns its ack. */
export async function runCommand(world: ListenerWorld, text: string, input: CommandInput = {}) {
  const command = slashCommandBody({
    response_url: RESPONSE_URL,
    text,
    user_id: input.user ?? USER,
    channel_id: input.channel ?? CHANNEL,
    trigger_id: newTriggerId(),
  }).payload as unknown as SlashCommand;
  const ack = input.ack ?? fakeAck();
  world.acks.push(ack);
  const args = {
    command,
    body: command,
    payload: command,
    ack,
    client: world.client,
    respond: jest.fn(),
    say: jest.fn(),
    context: { isEnterpriseInstall: false },
    logger: world.deps.logger,
    next: jest.fn(),
  } as unknown as CommandArgs;
  await imageBuilderCommand(world.deps)(args);
  return { ack, command };
}

/** Opens `provider`'s form with the command, and returns the view as Slack would hold it. */
export async function openForm(
  world: ListenerWorld,
  provider: string,
  input: Omit<CommandInput, 'ack'> = {},
): Promise<OpenedView> {
  await runCommand(world, provider, input);
  const view = world.opened.at(-1);
  if (!view) throw new Error(`/image-builder ${provider} opened no form`);
  return view;
}

/** The view_submission Slack sends when `user` submits `view` filled with `fills`, through the listener. */
export async function submitForm(
  world: ListenerWorld,
  view: OpenedView,
  fills: Record<string, FillValue>,
  input: { user?: SlackUserInput; ack?: FakeAck } = {},
) {
  const body = submitModalBody(view, input.user ?? USER, fills).payload as unknown as SubmissionArgs['body'];
  return submitBody(world, body, input.ack);
}

export async function submitBody(world: ListenerWorld, body: SubmissionArgs['body'], ack = fakeAck()) {
  world.acks.push(ack);
  const args = {
    body,
    payload: body.view,
    view: body.view,
    ack,
    client: world.client,
    respond: jest.fn(),
    context: { isEnterpriseInstall: false },
    logger: world.deps.logger,
    next: jest.fn(),
  } as unknown as SubmissionArgs;
  await composeSubmission(world.deps)(args);
  return { ack, body };
}

/** The block ids of the view's input blocks: the only keys Slack can show an error on. */
export function inputBlockIds(view: { blocks: unknown[] }): string[] {
  return view.blocks.flatMap((b) =>
    isObject(b) && b.type === 'input' && typeof b.block_id === 'string' ? [b.block_id] : [],
  );
}

/** The values of a select input's options. */
export function optionValues(view: { blocks: unknown[] }, blockId: string): unknown[] {
  const block = view.blocks.find((b) => isObject(b) && b.block_id === blockId);
  const element = isObject(block) && isObject(block.element) ? block.element : {};
  return Array.isArray(element.options) ? element.options.map((o: unknown) => (isObject(o) ? o.value : undefined)) : [];
}

/** Text and block text of a message given to `respond` or `ack`, as one string to search. */
export function messageText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (!isObject(message)) return '';
  return `${typeof message.text === 'string' ? message.text : ''}\n${blocksText(message.blocks)}`;
}

/** The policy without a file: everyone may request, anywhere, with no limits. */
export function openPolicy(): RequestPolicy {
  return createPolicy(OPEN_POLICY, { usergroupMembers: async () => [], clock: fixedClock, logger: silentLogger() });
}

/** Where a message for the whole order goes: the first input of what is ordered, after "Start from". */
export function firstOrderField(view: { blocks: unknown[] }): string | undefined {
  return inputBlockIds(view).find((id) => id !== 'start_from');
}
