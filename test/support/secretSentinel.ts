import type { IncomingHttpHeaders } from 'node:http';
import type { FakeTrafficObserver } from '../../src/demo/fakes/observer';
import { KNOWN_SECRETS, KNOWN_USERNAMES, SECRET_VARIABLES, type KnownSecretName } from './knownSecrets';

/*
 * The secret sentinel: looks for the known secret values (./knownSecrets.ts), in every form they travel in, in
 * everything the app under test writes or sends. The test environment (./secretSentinelEnvironment.ts) owns one per
 * test file and fails the test during which a secret turned up; the fakes, the signed-request helper and the setup
 * file (./secretSentinelSetup.ts) hand it what they see.
 *
 * Legitimate carriers are left out here, by name, and nowhere else:
 *   - the Authorization header of Slack Web API calls (the bot or app-level token), or the `token` field of their
 *     form body, which Slack accepts instead;
 *   - the Authorization header of Image Builder API calls (a bearer token, or Basic user:password);
 *   - at the token endpoint, the form field holding the credential of its grant (client_secret for
 *     client_credentials, refresh_token for refresh_token);
 *   - the Proxy-Authorization header of a request to a forward proxy.
 * The same values anywhere else (another header, a URL, another body field, a response_url post, a request that
 * reached the origin through a proxy) count as leaks.
 */

/** Where the sentinel looked; each kind is counted separately. */
export const SCAN_CHANNELS = [
  'log line',
  'Slack call',
  'Image Builder request',
  'proxy request',
  'answer to Slack',
  'HTTP answer',
  'CLI output',
  'child process output',
  'worker output',
  'error',
] as const;
export type ScanChannel = (typeof SCAN_CHANNELS)[number];

export interface LeakForm {
  secret: KnownSecretName;
  /** The variable, for messages: a message names the variable and the form, never the value. */
  variable: string;
  /** How the value was found: as written, URL-encoded, base64 of user:password, … */
  form: string;
  needle: string;
}

export interface LeakHit {
  variable: string;
  forms: string[];
  channel: ScanChannel;
  /** What was scanned: the Slack method, the request line, the stream… */
  where: string;
  /** The text around the first occurrence, every known secret in it replaced by its variable's name. */
  excerpt: string;
  /** The test that was running, if any. */
  test?: string;
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '');
const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());

function urlPassword(value: string): string {
  const url = new URL('http://host.invalid');
  url.password = value;
  return url.password;
}

/** User names whose `user:password` base64 is a credential (Basic auth to Image Builder, to a proxy). */
const BASIC_USERS: Partial<Record<KnownSecretName, string>> = {
  IMAGE_BUILDER_PASSWORD: KNOWN_USERNAMES.IMAGE_BUILDER_USERNAME,
  HTTPS_PROXY_PASSWORD: KNOWN_USERNAMES.HTTPS_PROXY_USER,
};

/** Every form of every known secret, one needle each. */
export function leakForms(secrets: Readonly<Record<KnownSecretName, string>> = KNOWN_SECRETS): LeakForm[] {
  const forms: LeakForm[] = [];
  for (const secret of Object.keys(secrets) as KnownSecretName[]) {
    const value = secrets[secret];
    const candidates: [string, string][] = [
      ['as written', value],
      ['URL-encoded', encodeURIComponent(value)],
      ['URL-encoded', lowerHex(encodeURIComponent(value))],
      ['form-encoded', new URLSearchParams({ v: value }).toString().slice(2)],
      ['in the user info of a URL', urlPassword(value)],
      ['JSON-escaped', JSON.stringify(value).slice(1, -1)],
      // A URL holding the secret, itself put in a URL or a form field.
      ['URL-encoded twice', encodeURIComponent(encodeURIComponent(value))],
      ['URL-encoded twice', lowerHex(encodeURIComponent(encodeURIComponent(value)))],
    ];
    const user = BASIC_USERS[secret];
    if (user !== undefined) {
      candidates.push(['base64 of user:password (Basic credentials)', base64(`${user}:${value}`)]);
      candidates.push(['base64url of user:password', base64url(`${user}:${value}`)]);
    }
    const seen = new Map<string, LeakForm>();
    for (const [form, needle] of candidates) {
      // A form that spells the same as an earlier one (most values need no escaping) adds nothing.
      if (seen.has(needle)) continue;
      const entry: LeakForm = { secret, variable: SECRET_VARIABLES[secret], form, needle };
      seen.set(needle, entry);
      forms.push(entry);
    }
  }
  // Longest first, so redaction replaces a whole encoded form before a shorter one inside it.
  return forms.sort((a, b) => b.needle.length - a.needle.length);
}

export interface SentinelProbe {
  /** Hits seen since the probe opened; they fail no test. */
  readonly hits: LeakHit[];
  close(): LeakHit[];
}

export type ScanTotals = Record<ScanChannel, number>;

export class SecretSentinel {
  private readonly forms: LeakForm[];
  private readonly scanned = Object.fromEntries(SCAN_CHANNELS.map((c) => [c, 0])) as ScanTotals;
  private readonly pending: LeakHit[] = [];
  private readonly probes: LeakHit[][] = [];
  private readonly fakeOrigins = new Set<string>();
  private leaks = 0;
  /** Set by the environment from test_start to test_done. */
  currentTest: string | undefined;

  constructor(forms: LeakForm[] = leakForms()) {
    this.forms = forms;
  }

  /** Looks for every known secret in `text`; counts one item of `channel`. Hits fail the running test (see takeHits). */
  scan(channel: ScanChannel, text: string, where: string): LeakHit[] {
    this.scanned[channel] += 1;
    const found = new Map<string, string[]>();
    for (const form of this.forms) {
      if (!text.includes(form.needle)) continue;
      const forms = found.get(form.variable) ?? [];
      found.set(form.variable, [...forms, form.form]);
    }
    if (found.size === 0) return [];
    const excerpt = this.excerpt(text);
    const hits = [...found].map(([variable, forms]): LeakHit => ({
      variable,
      forms,
      channel,
      where,
      excerpt,
      ...(this.currentTest === undefined ? {} : { test: this.currentTest }),
    }));
    const probe = this.probes.at(-1);
    if (probe) probe.push(...hits);
    else {
      this.pending.push(...hits);
      this.leaks += hits.length;
    }
    return hits;
  }

  /** `text` with every form of every known secret replaced by `[variable]`. */
  redact(text: string): string {
    let out = text;
    for (const form of this.forms)
      if (out.includes(form.needle)) out = out.split(form.needle).join(`[${form.variable}]`);
    return out;
  }

  /**
   * Replaces every known secret in the string properties of `value` (an error and what hangs off it, such as a
   * matcher's actual and expected values), in place. For failure messages, which jest prints and serialises.
   */
  redactInPlace(value: unknown, depth = 4, seen = new WeakSet<object>()): void {
    if (typeof value !== 'object' || value === null || depth < 0 || seen.has(value)) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (!descriptor) continue;
      if (!('value' in descriptor)) {
        // An accessor: on newer V8 (Node 24) an error's `stack` is one, holding the message as first thrown.
        let item: unknown;
        try {
          item = record[key];
        } catch {
          continue;
        }
        if (typeof item !== 'string' || !this.contains(item)) continue;
        const redacted = this.redact(item);
        try {
          if (descriptor.set) record[key] = redacted;
          else if (descriptor.configurable)
            Object.defineProperty(value, key, { value: redacted, writable: true, configurable: true });
        } catch {
          // Left as it is: the scan has counted the leak already.
        }
        continue;
      }
      const item: unknown = descriptor.value;
      if (typeof item === 'string' && descriptor.writable && this.contains(item)) record[key] = this.redact(item);
      else this.redactInPlace(item, depth - 1, seen);
    }
  }

  /** Whether `text` holds any known secret, without counting or recording anything. */
  contains(text: string): boolean {
    return this.forms.some((form) => text.includes(form.needle));
  }

  /** Routes hits to a probe instead of the running test: how the sentinel's own test leaks on purpose. */
  probe(): SentinelProbe {
    const hits: LeakHit[] = [];
    this.probes.push(hits);
    return {
      hits,
      close: () => {
        const index = this.probes.lastIndexOf(hits);
        if (index >= 0) this.probes.splice(index, 1);
        return hits;
      },
    };
  }

  /**
   * Marks a fake's origin: its answers are not the app's output (they echo what the app sent, which the fake has
   * already scanned), so answers from it are not scanned again.
   */
  addFakeOrigin(origin: string): void {
    this.fakeOrigins.add(new URL(origin).origin);
  }

  isFakeOrigin(url: string): boolean {
    try {
      return this.fakeOrigins.has(new URL(url).origin);
    } catch {
      return false;
    }
  }

  /** Removes and returns the hits recorded while `test` ran (undefined: outside any test). */
  takeHits(test: string | undefined): LeakHit[] {
    const taken = this.pending.filter((hit) => hit.test === test);
    for (const hit of taken) this.pending.splice(this.pending.indexOf(hit), 1);
    return taken;
  }

  /** Every hit not yet taken, whoever produced it. */
  takeAllHits(): LeakHit[] {
    return this.pending.splice(0);
  }

  totals(): { scanned: ScanTotals; leaks: number } {
    return { scanned: { ...this.scanned }, leaks: this.leaks };
  }

  private excerpt(text: string): string {
    // Redacted before it is cut, so the cut cannot leave part of a secret behind.
    const redacted = this.redact(text).replace(/\s+/g, ' ');
    const markers = new Set(this.forms.map((form) => `[${form.variable}]`));
    const at = Math.min(
      ...[...markers].map((marker) => redacted.indexOf(marker)).filter((index) => index >= 0),
      redacted.length,
    );
    const start = Math.max(0, at - 120);
    return `${start > 0 ? '…' : ''}${redacted.slice(start, at + 200)}${at + 200 < redacted.length ? '…' : ''}`;
  }
}

/** One line per hit, naming the secret by its variable and saying where it was; never the value. */
export function describeLeaks(hits: readonly LeakHit[]): string {
  return [
    `A known secret appeared where it must not (${hits.length} ${hits.length === 1 ? 'place' : 'places'}):`,
    ...hits.map(
      (hit) => `  - ${hit.variable} (${hit.forms.join('; ')}), ${hit.channel}: ${hit.where}\n      ${hit.excerpt}`,
    ),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// The sentinel of the running test file

/** The property of the test file's global object holding its sentinel (set by the test environment). */
export const SENTINEL_GLOBAL = '__imageBuilderBotSecretSentinel';

/** The sentinel of this test file, when the suite runs in the sentinel's environment. */
export function activeSecretSentinel(): SecretSentinel | undefined {
  return (globalThis as Record<string, unknown>)[SENTINEL_GLOBAL] as SecretSentinel | undefined;
}

/** Splits a stream into lines, so a secret cut across two chunks is still seen whole. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string | Buffer): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const lines = (rest + String(chunk)).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    },
    end() {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests the app sends, with the legitimate carriers (and only those) left out

export interface ReceivedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  body: string;
}

const headerLines = (headers: IncomingHttpHeaders, leaveOut: readonly string[]) =>
  Object.entries(headers)
    .filter(([name]) => !leaveOut.includes(name.toLowerCase()))
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join('\n');

const requestText = (request: ReceivedRequest, leaveOutHeaders: readonly string[], body = request.body) =>
  `${request.method} ${request.url}\n${headerLines(request.headers, leaveOutHeaders)}\n\n${body}`;

const isForm = (request: ReceivedRequest) =>
  /^application\/x-www-form-urlencoded/i.test(String(request.headers['content-type'] ?? ''));

/** The form body without `field`, or the body as it came when it is not a form. */
function withoutFormField(request: ReceivedRequest, field: string | undefined): string {
  if (!field || !isForm(request)) return request.body;
  const form = new URLSearchParams(request.body);
  form.delete(field);
  return form.toString();
}

/**
 * A call to a Slack Web API method. The token travels in the Authorization header, or in the `token` field of a
 * form body (Slack accepts both; Bolt sends auth.test that way): those two are left out.
 */
export function scanSlackApiCall(sentinel: SecretSentinel | undefined, method: string, request: ReceivedRequest): void {
  sentinel?.scan(
    'Slack call',
    requestText(request, ['authorization'], withoutFormField(request, 'token')),
    `Slack ${method} call`,
  );
}

/** A post to a response_url: it needs no credential, so nothing is left out. */
export function scanResponseUrlPost(sentinel: SecretSentinel | undefined, id: string, request: ReceivedRequest): void {
  sentinel?.scan('Slack call', requestText(request, []), `post to response_url ${id}`);
}

/** The grant types whose credential the token endpoint must receive, and the form field that carries it. */
const TOKEN_GRANT_CREDENTIAL: Record<string, string> = {
  client_credentials: 'client_secret',
  refresh_token: 'refresh_token',
};

/**
 * A compose body without the one place the activation key belongs (`customizations.subscription["activation-key"]`
 * of POST /compose); any other body as it came.
 */
function withoutActivationKey(request: ReceivedRequest): string {
  if (request.method !== 'POST' || pathOf(request.url).replace(/\/+$/, '').split('/').pop() !== 'compose') {
    return request.body;
  }
  try {
    const body = JSON.parse(request.body) as { customizations?: { subscription?: Record<string, unknown> } };
    const subscription = body.customizations?.subscription;
    if (subscription && typeof subscription === 'object') delete subscription['activation-key'];
    return JSON.stringify(body);
  } catch {
    return request.body;
  }
}

/**
 * A request to Image Builder or its token endpoint. API calls carry their credential in Authorization (and a compose
 * the activation key in its subscription); the token endpoint gets the credential of its grant in one form field.
 * Everything else is looked at.
 */
export function scanImageBuilderRequest(
  sentinel: SecretSentinel | undefined,
  kind: 'api' | 'token',
  request: ReceivedRequest,
): void {
  if (!sentinel) return;
  if (kind === 'api') {
    sentinel.scan(
      'Image Builder request',
      requestText(request, ['authorization'], withoutActivationKey(request)),
      `Image Builder ${request.method} ${pathOf(request.url)}`,
    );
    return;
  }
  const carrier = TOKEN_GRANT_CREDENTIAL[new URLSearchParams(request.body).get('grant_type') ?? ''];
  sentinel.scan(
    'Image Builder request',
    requestText(request, [], withoutFormField(request, carrier)),
    `token endpoint ${request.method}`,
  );
}

/** The app's answer to a request Slack sent it (a signed POST to /slack/events). */
export function scanAnswerToSlack(
  sentinel: SecretSentinel | undefined,
  answer: { status: number; headers: IncomingHttpHeaders; text: string },
  where: string,
): void {
  sentinel?.scan('answer to Slack', `${answer.status}\n${headerLines(answer.headers, [])}\n\n${answer.text}`, where);
}

/**
 * A request as a forward proxy receives it: Proxy-Authorization is meant for the proxy, and the request carries on
 * to its origin with that origin's carriers (Authorization, the token grant's credential field).
 */
export function scanProxyRequest(sentinel: SecretSentinel | undefined, request: ReceivedRequest): void {
  const carrier = TOKEN_GRANT_CREDENTIAL[new URLSearchParams(request.body).get('grant_type') ?? ''];
  const text = requestText(request, ['proxy-authorization', 'authorization'], withoutFormField(request, carrier));
  sentinel?.scan('proxy request', text, `proxy ${request.method} ${request.url}`);
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}

/** The sentinel as the fakes' observer of their traffic (src/demo/fakes/observer.ts); none without a sentinel. */
export function sentinelObserver(sentinel: SecretSentinel | undefined): FakeTrafficObserver | undefined {
  if (!sentinel) return undefined;
  return {
    fakeOrigin: (origin) => sentinel.addFakeOrigin(origin),
    imageBuilderRequest: (kind, request) => scanImageBuilderRequest(sentinel, kind, request),
    slackApiCall: (method, request) => scanSlackApiCall(sentinel, method, request),
    responseUrlPost: (id, request) => scanResponseUrlPost(sentinel, id, request),
    answerToSlack: (answer, where) => scanAnswerToSlack(sentinel, answer, where),
  };
}
