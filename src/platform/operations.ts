import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CredentialsHealth } from '../imageBuilder';
import type { Metrics } from './metrics';
import type { BuildRequestStore } from '../store/store';

/*
 * What an orchestrator asks of a running bot, on HEALTH_HOST:HEALTH_PORT in both Slack modes:
 *   GET /healthz  the process is alive (no dependency is consulted)
 *   GET /readyz   able to answer Slack: Slack connected, store writable. Image Builder's state is reported in the
 *                 body but does not make the bot unready: while Red Hat is down or refuses our credentials the bot
 *                 still answers `help` and says what is wrong, and a Service that routed nothing could not.
 *   GET /metrics  Prometheus text format
 * They have a server of their own, apart from PORT's /slack/events: in HTTP mode that port faces the internet, and
 * readiness details and metrics are for the cluster only, unauthenticated.
 * Readiness reads cached facts for the remote services — the last Slack answer, the last Image Builder answer — so a
 * probe every few seconds never turns into calls to Slack or Red Hat. Only the local store is tried each time.
 */

export interface HealthFact {
  ok: boolean;
  detail?: string;
}

/** Follows what Slack's answers say about our connection: any answer proves it, an auth error disproves it. */
export class SlackConnectionHealth {
  private webApi: HealthFact = { ok: false, detail: 'no answer from Slack yet' };
  private socket: HealthFact | undefined;

  /** Slack refuses the token itself: the app cannot do anything until someone fixes it. */
  private static readonly AUTH_ERRORS = new Set([
    'invalid_auth',
    'not_authed',
    'account_inactive',
    'token_revoked',
    'token_expired',
    'no_permission',
    'missing_scope',
    'team_access_not_granted',
  ]);

  /** Call with each Web API answer (its `error` code when ok is false) or a transport failure. */
  observe(outcome: { ok: true } | { ok: false; error?: string; unreachable?: boolean }): void {
    if (outcome.ok) this.webApi = { ok: true };
    else if (outcome.unreachable) this.webApi = { ok: false, detail: 'Slack did not answer' };
    else if (outcome.error && SlackConnectionHealth.AUTH_ERRORS.has(outcome.error)) {
      this.webApi = { ok: false, detail: `Slack refused the bot token (${outcome.error})` };
    } else this.webApi = { ok: true };
  }

  /** In Socket Mode, the WebSocket's state counts too. */
  socketState(connected: boolean): void {
    this.socket = connected ? { ok: true } : { ok: false, detail: 'the Socket Mode connection is down' };
  }

  current(): HealthFact {
    if (this.socket && !this.socket.ok) return this.socket;
    return this.webApi;
  }
}

export interface ReadinessSources {
  slack: Pick<SlackConnectionHealth, 'current'>;
  store: Pick<BuildRequestStore, 'ping'>;
  imageBuilderCredentials: () => CredentialsHealth;
  /** A store that does not answer within this is not ready. */
  storeTimeoutMs?: number;
}

export interface ReadinessReport {
  /** Slack and the store only: what answering Slack needs. */
  ready: boolean;
  checks: { slack: HealthFact; store: HealthFact; imageBuilder: HealthFact };
}

export async function checkReadiness(sources: ReadinessSources): Promise<ReadinessReport> {
  const store = await withTimeout(sources.store.ping(), sources.storeTimeoutMs ?? 2000).then(
    (): HealthFact => ({ ok: true }),
    (error: unknown): HealthFact => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }),
  );
  const credentials = sources.imageBuilderCredentials();
  const imageBuilder: HealthFact =
    credentials.state === 'working'
      ? { ok: true }
      : credentials.state === 'refused'
        ? { ok: false, detail: credentials.detail ?? 'Image Builder refused the credentials' }
        : { ok: false, detail: 'no authenticated answer from Image Builder yet' };
  const slack = sources.slack.current();
  return { ready: slack.ok && store.ok, checks: { slack, store, imageBuilder } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Probes and scrapes are small and quick; a slow client is dropped rather than held. */
const OPERATIONS_REQUEST_TIMEOUT_MS = 10_000;

export interface OperationsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  sources: ReadinessSources;
  metrics: Metrics;
}

export interface OperationsServer {
  /** The port it listens on. */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves /healthz, /readyz and /metrics on their own port; resolves once it listens. When it cannot, the error says
 * which address and which variables set it.
 */
export async function startOperationsServer(options: OperationsServerOptions): Promise<OperationsServer> {
  return listenForOperations(options).catch((error: unknown) => {
    // Not `instanceof Error`: errors from another realm (a test runner's) are errors too.
    const reason = String((error as { message?: unknown } | undefined)?.message ?? error);
    throw new Error(
      `cannot serve /healthz, /readyz and /metrics on ${options.host}:${options.port} (HEALTH_HOST, HEALTH_PORT): ${reason}`,
    );
  });
}

async function listenForOperations(options: OperationsServerOptions): Promise<OperationsServer> {
  const routes = operationsRoutes(options.sources, options.metrics);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const handler = routes.get(path ?? '/');
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
    } else handler(req, res);
  });
  server.requestTimeout = OPERATIONS_REQUEST_TIMEOUT_MS;
  server.headersTimeout = OPERATIONS_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Probes keep their connections alive; they must not hold the shutdown.
        server.closeAllConnections();
      }),
  };
}

function operationsRoutes(sources: ReadinessSources, metrics: Metrics): Map<string, Handler> {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  return new Map<string, Handler>([
    ['/healthz', (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n')],
    [
      '/readyz',
      (_req, res) => {
        void checkReadiness(sources).then((report) =>
          send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`),
        );
      },
    ],
    [
      '/metrics',
      (_req, res) => {
        metrics.registry.metrics().then(
          (text) => send(res, 200, metrics.registry.contentType, text),
          (error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `${String(error)}\n`),
        );
      },
    ],
  ]);
}
