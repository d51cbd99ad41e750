import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { HTTPReceiverOptions } from '@slack/bolt';
import { WebClient, type AppsManifestCreateArguments } from '@slack/web-api';
import { Agent } from 'undici';
import { parseDocument } from 'yaml';
import { createApp } from '../src/app';
import { systemClock } from '../src/platform/clock';
import { parseBotConfig } from '../src/config/config';
import type { ImageBuilderClient } from '../src/imageBuilder';
import { silentLogger } from '../src/platform/logger';
import { createMetrics } from '../src/platform/metrics';
import { providers } from '../src/providers';
import type { Store } from '../src/store/store';
import { OPEN_POLICY } from '../src/policy';
import { usageMessage } from '../src/slack/views/commandReplies';
import { KNOWN_SECRETS } from './support/knownSecrets';

/*
 * The Slack app manifests must describe what the code does: every command, listener and Web API call the bot has
 * needs its declaration and scope, and nothing is declared that the code does not use (an unused scope is a
 * permission an admin is asked to grant for nothing). Registrations are read by building the real app around a
 * recording stand-in for Bolt's App; Web API calls are found in the source.
 */

type Manifest = AppsManifestCreateArguments['manifest'];

const root = path.resolve(__dirname, '..');
const MANIFEST_FILES = { socket: 'manifest.yml', http: 'manifest.http.yml' } as const;
const EXAMPLE_HOST = 'bot.example.com';

/*
 * Limits as Slack documents them for manifests: the field descriptions in @slack/web-api's Manifest type
 * (node_modules/@slack/web-api/dist/types/request/manifest.d.ts) and Slack's manifest JSON schema
 * (github.com/slackapi/manifest-schema, schemas/manifest.schema.1.0.0.json). The schema allows any characters in the
 * bot display name; the SDK documents only a-z 0-9 - _ . and we keep to the narrower rule.
 */
const LIMITS = {
  appName: 35,
  appDescription: 140,
  botDisplayName: 80,
  command: 32, // including the leading '/'
  commandDescription: 2000,
  usageHint: 1000,
} as const;
const BOT_DISPLAY_NAME = /^[a-z0-9._-]+$/;
const HEX_COLOR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

type TokenKind = 'bot' | 'app';

/**
 * The scopes each Web API method needs, from its page at https://docs.slack.dev/reference/methods/<method>. A method
 * the code calls that is missing here fails the test: look it up and add it, do not guess.
 */
const METHOD_SCOPES: Readonly<Record<string, { token: TokenKind; scopes: readonly string[] }>> = {
  'auth.test': { token: 'bot', scopes: [] },
  // Socket Mode opens its WebSocket with the app-level token (xapp-…), whose scope is granted when the token is
  // generated in the app's settings, not through oauth_config.
  'apps.connections.open': { token: 'app', scopes: ['connections:write'] },
  'chat.getPermalink': { token: 'bot', scopes: [] },
  'chat.postEphemeral': { token: 'bot', scopes: ['chat:write'] },
  // Posting to a user id lands in the app's Messages tab with the requester: chat:write is enough.
  'chat.postMessage': { token: 'bot', scopes: ['chat:write'] },
  'chat.update': { token: 'bot', scopes: ['chat:write'] },
  'chat.delete': { token: 'bot', scopes: ['chat:write'] },
  // Public channels; private ones cannot be joined, only invited to.
  'conversations.join': { token: 'bot', scopes: ['channels:join'] },
  // The scope of the conversation's type (channels:, groups:, im:, mpim:read). The bot needs only to recognise a
  // public channel; whatever Slack answers about another kind without its scope, the build counts as private.
  'conversations.info': { token: 'bot', scopes: ['channels:read'] },
  // uploadV2 calls files.getUploadURLExternal and files.completeUploadExternal, both files:write.
  'files.uploadV2': { token: 'bot', scopes: ['files:write'] },
  'usergroups.users.list': { token: 'bot', scopes: ['usergroups:read'] },
  'views.open': { token: 'bot', scopes: [] },
  'views.publish': { token: 'bot', scopes: [] },
  'views.push': { token: 'bot', scopes: [] },
  'views.update': { token: 'bot', scopes: [] },
};

/** Bot scopes each event subscription needs, from https://docs.slack.dev/reference/events/<event>. */
const EVENT_SCOPES: Readonly<Record<string, readonly string[]>> = {
  app_home_opened: [],
  app_mention: ['app_mentions:read'],
  'message.channels': ['channels:history'],
  'message.groups': ['groups:history'],
  'message.im': ['im:history'],
  'message.mpim': ['mpim:history'],
};

/** Calls the code makes without naming them: Bolt checks its bot token at start, Socket Mode opens its socket. */
const IMPLICIT_CALLS = {
  both: ['auth.test'],
  socket: ['apps.connections.open'],
  http: [],
} as const;

/** The slash command needs this scope, whatever the listener does. */
const COMMANDS_SCOPE = 'commands';

// ---------------------------------------------------------------------------------------------------------------
// What the code registers: the real createApp, with Bolt's App replaced by a recorder.

interface Registration {
  method: string;
  args: unknown[];
}

const mockRegistrations: Registration[][] = [];
const mockHttpReceiverOptions: HTTPReceiverOptions[] = [];

jest.mock('@slack/bolt', () => {
  const actual = jest.requireActual<typeof import('@slack/bolt')>('@slack/bolt');
  class RecordingApp {
    constructor() {
      const calls: Registration[] = [];
      mockRegistrations.push(calls);
      // Every method call is recorded, so a listener kind this test has not met yet is noticed rather than lost.
      return new Proxy(this, {
        get: (_target, method) =>
          method === 'then'
            ? undefined
            : (...args: unknown[]) => {
                calls.push({ method: String(method), args });
                return Promise.resolve();
              },
      });
    }
  }
  class RecordingHTTPReceiver extends actual.HTTPReceiver {
    constructor(options: HTTPReceiverOptions) {
      super(options);
      mockHttpReceiverOptions.push(options);
    }
  }
  return { ...actual, App: RecordingApp, HTTPReceiver: RecordingHTTPReceiver };
});

/** Methods of App that register nothing Slack needs to know about. */
const NOT_LISTENERS = new Set(['use', 'error', 'start', 'stop', 'init', 'processEvent']);
const INTERACTIVE = new Set(['view', 'action', 'shortcut', 'options']);
const KNOWN_LISTENERS = new Set(['command', 'event', 'message', ...INTERACTIVE]);

interface Registered {
  commands: string[];
  events: string[];
  /** `app.message` listeners, which need some message.* subscription. */
  messageListeners: number;
  interactive: Registration[];
  shortcuts: string[];
  unknown: string[];
  httpEndpoints: string[];
}

/** Stands in for whatever createApp must not reach at construction: any call it does make fails softly. */
function unreachable<T>(what: string): T {
  return new Proxy({}, { get: () => () => Promise.reject(new Error(`${what} is not available in this test`)) }) as T;
}

async function registeredBy(mode: 'socket' | 'http'): Promise<Registered> {
  const before = { apps: mockRegistrations.length, receivers: mockHttpReceiverOptions.length };
  const config = parseBotConfig({
    SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
    ...(mode === 'socket'
      ? { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN }
      : { SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET }),
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    IMAGE_BUILDER_URL: 'http://127.0.0.1:9/api/image-builder/v1',
    IMAGE_BUILDER_TOKEN_URL: 'http://127.0.0.1:9/token',
    IMAGE_BUILDER_CLIENT_ID: 'manifest-test',
    IMAGE_BUILDER_CLIENT_SECRET: KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET,
    PORT: '0',
    LOG_LEVEL: 'silent',
    POLICY_FILE: 'open',
  });
  const outbound = new Agent();
  const app = createApp({
    config,
    logger: silentLogger(),
    imageBuilder: unreachable<ImageBuilderClient>('Image Builder'),
    store: unreachable<Store>('the store'),
    policy: OPEN_POLICY,
    clock: systemClock,
    outbound,
    metrics: createMetrics({ defaultMetrics: false }),
    slackRetryConfig: { retries: 0 },
  });
  await app.stop();
  await outbound.close();

  const calls = mockRegistrations.slice(before.apps).flat();
  const of = (method: string) => calls.filter((c) => c.method === method);
  const receivers = mockHttpReceiverOptions.slice(before.receivers);
  return {
    commands: of('command').map((c) => nameOf(c.args[0], 'command')),
    events: of('event').map((c) => nameOf(c.args[0], 'event')),
    messageListeners: of('message').length,
    interactive: calls.filter((c) => INTERACTIVE.has(c.method)),
    shortcuts: of('shortcut').map((c) => callbackIdOf(c.args[0])),
    unknown: calls.map((c) => c.method).filter((m) => !KNOWN_LISTENERS.has(m) && !NOT_LISTENERS.has(m)),
    httpEndpoints: receivers.flatMap((r) => endpointsOf(r.endpoints)),
  };
}

function nameOf(pattern: unknown, kind: string): string {
  if (typeof pattern !== 'string')
    throw new Error(`a ${kind} listener matches ${String(pattern)}; the manifest needs exact names`);
  return pattern;
}

function callbackIdOf(constraint: unknown): string {
  const id =
    typeof constraint === 'object' && constraint !== null
      ? (constraint as { callback_id?: unknown }).callback_id
      : constraint;
  return nameOf(id, 'shortcut');
}

/** Bolt's HTTPReceiver serves /slack/events unless told otherwise. */
function endpointsOf(endpoints: HTTPReceiverOptions['endpoints']): string[] {
  if (endpoints === undefined) return ['/slack/events'];
  if (typeof endpoints === 'string') return [endpoints];
  return Array.isArray(endpoints) ? endpoints : Object.values(endpoints);
}

// ---------------------------------------------------------------------------------------------------------------
// What the code calls: `<anything>.<family>.<method>(` in src, where family.method is a method of the WebClient.

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function webApiMethod(client: WebClient, name: string): boolean {
  let node: unknown = client;
  for (const part of name.split('.')) {
    if ((typeof node !== 'object' && typeof node !== 'function') || node === null || !Object.hasOwn(node, part))
      return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'function';
}

function webApiCallsIn(files: readonly string[]): Map<string, string[]> {
  const client = new WebClient();
  const families = Object.keys(client).filter((key) => {
    const value = (client as unknown as Record<string, unknown>)[key];
    return (
      typeof value === 'object' &&
      value !== null &&
      Object.values(value).some((v) => typeof v === 'function' || typeof v === 'object')
    );
  });
  // Formatters may break a chain across lines (`client.conversations\n  .join(`), so dots may have space around them.
  const dotted = new RegExp(String.raw`\??\.\s*((?:${families.join('|')})(?:\s*\??\.\s*\w+)+)\s*\(`, 'g');
  const byName = /\bapiCall\(\s*['"`]([\w.]+)['"`]/g;
  const calls = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const [, written] of [...text.matchAll(dotted), ...text.matchAll(byName)]) {
      const name = written?.replace(/[\s?]/g, '');
      if (!name || !webApiMethod(client, name)) continue;
      calls.set(name, [...(calls.get(name) ?? []), path.relative(root, file)]);
    }
  }
  return calls;
}

// ---------------------------------------------------------------------------------------------------------------
// The manifests.

function loadManifest(file: string): { manifest: Manifest; text: string } {
  const text = readFileSync(path.join(root, file), 'utf8');
  const document = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: true });
  const problems = [...document.errors, ...document.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`${file}:\n${problems.join('\n')}`);
  return { manifest: document.toJS() as Manifest, text };
}

const URL_KEYS = new Set(['url', 'request_url', 'message_menu_options_url']);

/** Every URL-valued setting, with where it is. */
function urlsIn(value: unknown, at = ''): { at: string; url: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => urlsIn(item, `${at}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) =>
    URL_KEYS.has(key) && typeof v === 'string' ? [{ at: `${at}.${key}`, url: v }] : urlsIn(v, `${at}.${key}`),
  );
}

/** The manifest without what may differ between the modes: socket_mode_enabled and the URLs. */
function modeIndependent(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(modeIndependent);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !URL_KEYS.has(key) && key !== 'socket_mode_enabled')
      .map(([key, v]) => [key, modeIndependent(v)]),
  );
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

// ---------------------------------------------------------------------------------------------------------------

const manifests = {
  socket: loadManifest(MANIFEST_FILES.socket),
  http: loadManifest(MANIFEST_FILES.http),
};
const webApiCalls = webApiCallsIn(sourceFiles(path.join(root, 'src')));
let registered: Record<'socket' | 'http', Registered>;

beforeAll(async () => {
  registered = { socket: await registeredBy('socket'), http: await registeredBy('http') };
});

describe.each(['socket', 'http'] as const)('%s', (mode) => {
  const { manifest } = manifests[mode];
  const features = manifest.features ?? {};
  const settings = manifest.settings ?? {};
  const bot = () => registered[mode];

  it('finds every listener kind it knows how to check', () => {
    expect(bot().unknown).toEqual([]);
    expect(bot().commands.length).toBeGreaterThan(0);
  });

  it('declares exactly the slash commands the app listens to', () => {
    expect(sorted((features.slash_commands ?? []).map((c) => c.command))).toEqual(sorted(bot().commands));
  });

  it('enables interactivity exactly when the app has modals, buttons, shortcuts or menus', () => {
    expect(settings.interactivity?.is_enabled ?? false).toBe(bot().interactive.length > 0);
  });

  it('declares exactly the shortcuts the app listens to', () => {
    expect(sorted((features.shortcuts ?? []).map((s) => s.callback_id))).toEqual(sorted(bot().shortcuts));
  });

  it('subscribes to exactly the events the app listens to', () => {
    const subscribed: string[] = settings.event_subscriptions?.bot_events ?? [];
    const listenedTo = bot().events;
    expect(sorted(subscribed.filter((e) => !e.startsWith('message.')))).toEqual(
      sorted(listenedTo.filter((e) => e !== 'message')),
    );
    const wantsMessages = bot().messageListeners > 0 || listenedTo.includes('message');
    expect(subscribed.some((e) => e.startsWith('message.'))).toBe(wantsMessages);
    expect(settings.event_subscriptions?.user_events ?? []).toEqual([]);
  });

  it('requests exactly the bot scopes the code needs, and no user scopes', () => {
    const calls = [...webApiCalls.keys(), ...IMPLICIT_CALLS.both, ...IMPLICIT_CALLS[mode]];
    const unlisted = calls.filter((method) => !METHOD_SCOPES[method]);
    expect(unlisted).toEqual([]); // add each to METHOD_SCOPES from its documentation page
    const events: string[] = settings.event_subscriptions?.bot_events ?? [];
    expect(events.filter((event) => !EVENT_SCOPES[event])).toEqual([]); // likewise for EVENT_SCOPES

    const needed = [
      ...(bot().commands.length > 0 ? [COMMANDS_SCOPE] : []),
      ...calls.flatMap((method) => (METHOD_SCOPES[method]?.token === 'bot' ? METHOD_SCOPES[method].scopes : [])),
      ...events.flatMap((event) => EVENT_SCOPES[event] ?? []),
    ];
    expect(sorted(manifest.oauth_config?.scopes?.bot ?? [])).toEqual(sorted(needed));
    expect(manifest.oauth_config?.scopes?.user ?? []).toEqual([]);
    expect(manifest.oauth_config?.scopes?.bot_optional ?? []).toEqual([]);
  });

  it('stays within the lengths and characters Slack accepts', () => {
    const info = manifest.display_information;
    expect(info.name.length).toBeLessThanOrEqual(LIMITS.appName);
    expect(info.description?.length ?? 0).toBeLessThanOrEqual(LIMITS.appDescription);
    expect(info.background_color).toMatch(HEX_COLOR);
    const displayName = features.bot_user?.display_name ?? '';
    expect(displayName.length).toBeLessThanOrEqual(LIMITS.botDisplayName);
    expect(displayName).toMatch(BOT_DISPLAY_NAME);
    for (const command of features.slash_commands ?? []) {
      expect(command.command).toMatch(/^\/[a-z0-9_-]+$/);
      expect(command.command.length).toBeLessThanOrEqual(LIMITS.command);
      expect(command.description.length).toBeGreaterThan(0);
      expect(command.description.length).toBeLessThanOrEqual(LIMITS.commandDescription);
      expect(command.usage_hint?.length ?? 0).toBeLessThanOrEqual(LIMITS.usageHint);
    }
  });

  it('keeps the Messages tab open for the DM fallback, read-only unless the bot reads DMs', () => {
    // threadProjection posts to the requester's user id when it cannot post in the channel; Slack shows that
    // conversation in the app's Messages tab, so the tab must exist.
    expect(features.app_home?.messages_tab_enabled).toBe(true);
    const readsDMs = (settings.event_subscriptions?.bot_events ?? []).includes('message.im');
    expect(features.app_home?.messages_tab_read_only_enabled).toBe(!readsDMs);
  });

  it('shows the Home tab only when the bot publishes one', () => {
    const publishesHome = bot().events.includes('app_home_opened') || webApiCalls.has('views.publish');
    expect(features.app_home?.home_tab_enabled ?? false).toBe(publishesHome);
  });

  it('leaves org-wide deployment and token rotation off, which the bot does not support', () => {
    expect(settings.org_deploy_enabled).toBe(false);
    expect(settings.token_rotation_enabled).toBe(false);
  });
});

describe('Socket Mode manifest', () => {
  const { manifest } = manifests.socket;

  it('enables Socket Mode and names no URL', () => {
    expect(manifest.settings?.socket_mode_enabled).toBe(true);
    expect(urlsIn(manifest)).toEqual([]);
  });
});

describe('HTTP manifest', () => {
  const { manifest, text } = manifests.http;

  it('disables Socket Mode', () => {
    expect(manifest.settings?.socket_mode_enabled).toBe(false);
  });

  it('sends every request to the path the HTTP receiver serves, on a placeholder host the reader is told to replace', () => {
    const urls = urlsIn(manifest);
    expect(urls.length).toBeGreaterThan(0);
    const paths = registered.http.httpEndpoints;
    expect(paths).toEqual(['/slack/events']);
    for (const { at, url } of urls) {
      const parsed = new URL(url);
      expect({ at, protocol: parsed.protocol, host: parsed.host, path: parsed.pathname }).toEqual({
        at,
        protocol: 'https:',
        host: EXAMPLE_HOST,
        path: paths[0],
      });
    }
    expect(text).toMatch(new RegExp(String.raw`^#.*\breplace\b.*${EXAMPLE_HOST.replace(/\./g, '\\.')}`, 'im'));
  });

  it('gives every slash command, interactivity and the event subscriptions a request URL, and nothing else one', () => {
    for (const command of manifest.features?.slash_commands ?? []) expect(command.url).toBeDefined();
    if (manifest.settings?.interactivity?.is_enabled) expect(manifest.settings.interactivity.request_url).toBeDefined();
    const hasMenus = registered.http.interactive.some((r) => r.method === 'options');
    expect(manifest.settings?.interactivity?.message_menu_options_url !== undefined).toBe(hasMenus);
    const events = manifest.settings?.event_subscriptions;
    if (events?.bot_events?.length) expect(events.request_url).toBeDefined();
  });
});

describe('both manifests', () => {
  it('differ only in Socket Mode and the request URLs', () => {
    const socket = modeIndependent(manifests.socket.manifest);
    const http = modeIndependent(manifests.http.manifest);
    expect(isDeepStrictEqual(socket, http)).toBe(true);
    expect(http).toEqual(socket); // shows the difference when there is one
  });

  it('register the same listeners in both modes', () => {
    const { httpEndpoints: _socketEndpoints, ...socket } = registered.socket;
    const { httpEndpoints: _httpEndpoints, ...http } = registered.http;
    expect(JSON.stringify(http)).toEqual(JSON.stringify(socket));
  });

  it('offer in the usage hint every choice the help message lists', () => {
    const command = manifests.socket.manifest.features?.slash_commands?.[0];
    expect(command).toBeDefined();
    const help = JSON.stringify(usageMessage(command!.command, providers).blocks)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    const choices = [...help.matchAll(new RegExp(String.raw`\`${command!.command} ([^\`]+)\``, 'g'))].map((m) => m[1]!);
    expect(choices.length).toBeGreaterThan(providers.length);
    const hint = (command!.usage_hint ?? '').split('|').map((choice) => choice.trim());
    expect(sorted(hint)).toEqual(sorted(choices));
  });

  it('name the bot in the invite hint the way people can type it', () => {
    const { display_information, features } = manifests.socket.manifest;
    const hints = sourceFiles(path.join(root, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\/invite @([^`'"]+)/g)].map((m) => m[1]!.trim()),
    );
    for (const name of hints) expect([features?.bot_user?.display_name, display_information.name]).toContain(name);
  });
});
