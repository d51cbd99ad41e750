import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CredentialsHealth } from './imageBuilder';
import type { Metrics } from './metrics';
import type { BuildRequestStore } from './tracking/store';

/*
 * What an orchestrator asks of a running bot, on PORT in both Slack modes:
 *   GET /healthz  the process is alive (no dependency is consulted)
 *   GET /readyz   Slack connected, store writable, Image Builder credentials working
 *   GET /metrics  Prometheus text format
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
  return { ready: slack.ok && store.ok && imageBuilder.ok, checks: { slack, store, imageBuilder } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The routes above, in the shape Bolt's `customRoutes` takes. */
export function operationsRoutes(sources: ReadinessSources, metrics: Metrics): { path: string; method: string[]; handler: Handler }[] {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  return [
    { path: '/healthz', method: ['GET'], handler: (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n') },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void checkReadiness(sources).then((report) =>
          send(res, report.ready ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`),
        );
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        metrics.registry.metrics().then(
          (text) => send(res, 200, metrics.registry.contentType, text),
          (error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `${String(error)}\n`),
        );
      },
    },
  ];
}
