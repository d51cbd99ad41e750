import { appendFileSync } from 'node:fs';
import {
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
} from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Harness } from '../e2e/harness';
import type { FakeSlackMessage } from '../fakes/slackApi';
import type { FillValue } from '../support/slackRequests';

/*
 * Shared pieces of the fault tests: a loopback HTTP proxy that misbehaves on a share of the requests it forwards, a
 * loopback TCP proxy that can be cut and restored, and the side file through which each test reports what it
 * injected so scripts/reliability-report.ts can put figures in docs/reliability.md.
 */

/** The seed of this run: FAULT_SEED to replay one, otherwise a new one (printed by the tests that use it). */
export const faultSeed = (): number => Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** One record of what a fault test did, appended as a JSON line to FAULT_REPORT_FILE when the report script runs. */
export interface FaultRecord {
  area: string;
  test: string;
  /** Faults by kind, e.g. { '503': 12, reset: 4 }. */
  faults: Record<string, number>;
  builds: number;
  seed?: number;
  notes?: string;
  /** A bug this test found (and holds with it.failing until it is fixed). */
  finding?: string;
}

export function reportFaults(record: FaultRecord): void {
  const file = process.env.FAULT_REPORT_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// A flaky HTTP hop in front of a fake

export type HttpFault = 'status-503' | 'status-502' | 'reset' | 'stall' | 'slow-body';

export interface FlakyHttpProxy {
  /** The proxy's origin, `http://127.0.0.1:PORT`. */
  origin: string;
  /** Where requests go: the harness starts its fakes after the bot's URLs are fixed, so this is set late. */
  setUpstream(origin: string): void;
  /** Faults injected so far, by kind. */
  injected: Record<HttpFault, number>;
  total(): number;
  /** Requests forwarded untouched or with a slow body. */
  forwarded(): number;
  setEnabled(enabled: boolean): void;
  close(): Promise<void>;
}

export interface FlakyHttpProxyOptions {
  /** Share of the requests `eligible` accepts that get a fault. */
  rate: number;
  random: () => number;
  /** Which requests may be disturbed; the others pass untouched. */
  eligible: (method: string, path: string) => boolean;
  /** How long the slow part of a slow body waits; below the client's timeout, so the answer arrives late but whole. */
  slowBodyMs: number;
}

const FAULT_KINDS: readonly HttpFault[] = ['status-503', 'status-502', 'reset', 'stall', 'slow-body'];

export async function startFlakyHttpProxy(options: FlakyHttpProxyOptions): Promise<FlakyHttpProxy> {
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<HttpFault, number>;
  let forwarded = 0;
  let enabled = true;
  const stalled = new Set<ServerResponse>();
  let upstream: URL | undefined;

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, slowBodyMs: number) {
    if (!upstream) {
      res.writeHead(599).end();
      return;
    }
    forwarded += 1;
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const whole = Buffer.concat(chunks);
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(whole.length);
          res.writeHead(answer.statusCode ?? 502, headers);
          if (slowBodyMs <= 0 || whole.length < 2) {
            res.end(whole);
            return;
          }
          // Half the body now, the rest later: the client has the status line and must wait for the end.
          const half = Math.floor(whole.length / 2);
          res.write(whole.subarray(0, half));
          setTimeout(() => res.end(whole.subarray(half)), slowBodyMs);
        });
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://proxy').pathname;
      if (!enabled || !options.eligible(req.method ?? 'GET', path) || options.random() >= options.rate) {
        forward(req, res, body, 0);
        return;
      }
      const kind = FAULT_KINDS[Math.floor(options.random() * FAULT_KINDS.length)]!;
      injected[kind] += 1;
      switch (kind) {
        case 'status-503':
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ title: '503', detail: 'Service Unavailable' }] }));
          return;
        case 'status-502':
          // What a gateway in front of the service sends: HTML, not the service's JSON.
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'stall':
          // Never answers; the client's timeout must end the wait. Closed at the end so nothing lingers.
          stalled.add(res);
          return;
        case 'slow-body':
          forward(req, res, body, options.slowBodyMs);
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    setUpstream(origin) {
      upstream = new URL(origin);
    },
    injected,
    total: () => Object.values(injected).reduce((a, b) => a + b, 0),
    forwarded: () => forwarded,
    setEnabled(value) {
      enabled = value;
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A TCP hop that can be cut, as a network partition between the bot and its database

export interface CuttableTcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones (accepts and closes at once) until `restore`. */
  cut(): void;
  restore(): void;
  /** How many connections were dropped by `cut` or refused while cut. */
  dropped(): number;
  close(): Promise<void>;
}

export async function startCuttableTcpProxy(target: { host: string; port: number }): Promise<CuttableTcpProxy> {
  const open = new Set<Socket>();
  const clients = new Set<Socket>();
  let isCut = false;
  let dropped = 0;
  const server = createTcpServer((client) => {
    if (isCut) {
      dropped += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    clients.add(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      clients.delete(client);
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      isCut = true;
      dropped += clients.size;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
      clients.clear();
    },
    restore() {
      isCut = false;
    },
    dropped: () => dropped,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Slack side

export const ORDERS: { cloud: string; fills: Record<string, FillValue> }[] = [
  { cloud: 'aws', fills: { distribution: 'rhel-9', share_with_accounts: '123456789012' } },
  { cloud: 'gcp', fills: { distribution: 'rhel-10', share_with: 'user:alice@example.com' } },
  {
    cloud: 'azure',
    fills: {
      distribution: 'rhel-9',
      tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
      subscription_id: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
      resource_group: 'images',
    },
  },
];

/** Orders an image in `channel` as a person would: the slash command, then the modal the app opened, submitted. */
export async function orderImage(h: Harness, channel: string, order = ORDERS[0]!) {
  const opened = h.slack.views().length;
  const ack = await h.command(order.cloud, { channel_id: channel });
  if (ack.status !== 200) throw new Error(`the slash command answered ${ack.status}`);
  const view = await h.slack.waitFor(() => h.slack.views()[opened], {
    timeoutMs: 10_000,
    description: `the modal for ${channel}`,
  });
  return h.submitModal(order.fills, 'U1', view);
}

export interface Thread {
  parent: FakeSlackMessage;
  status?: FakeSlackMessage;
  result?: FakeSlackMessage;
  replies: FakeSlackMessage[];
}

export function threadIn(h: Harness, channel: string): Thread | undefined {
  const messages = h.slack.messages(channel);
  const parent = messages.find((m) => !m.thread_ts || m.thread_ts === m.ts);
  if (!parent) return undefined;
  const replies = messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
  return {
    parent,
    replies,
    ...(replies[0] ? { status: replies[0] } : {}),
    ...(replies[1] ? { result: replies[1] } : {}),
  };
}

/** Where a status text stands in a build's life; a status reply's edits must never go down this scale. */
export function statusRank(text: string): number {
  if (/Ready|Failed/.test(text)) return 100;
  if (/Registering/.test(text)) return 90;
  if (/Uploading/.test(text)) return 80;
  const step = /Building — step (\d+) of (\d+)/.exec(text);
  if (step) return 20 + Number(step[1]);
  if (/Building/.test(text)) return 20;
  if (/Pending/.test(text)) return 10;
  if (/Submitting/.test(text)) return 0;
  return -1;
}

/** Log lines at warn level or above, parsed (the logger writes level labels). */
export function warnings(logLines: readonly string[]): { level: string; msg: string }[] {
  return logLines
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((line) => ['warn', 'error', 'fatal'].includes(line.level));
}

/** Collects every promise rejection nobody handled while this file's tests run; a test expects it to stay empty. */
export function recordUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', record));
  afterAll(() => process.off('unhandledRejection', record));
  return unhandled;
}
