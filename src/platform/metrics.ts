import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BuildResult } from '../audit/audit';

/*
 * Prometheus metrics, served at GET /metrics. One registry per app instance (no global default registry), so tests
 * and several apps in one process never share counters.
 */

export interface Metrics {
  registry: Registry;
  /** A compose reached a final state (success, failure), was deleted at the service, or was refused at submission (rejected). */
  composeFinished(provider: string, outcome: BuildResult): void;
  /** Unfinished requests as of the poller's last read of the store. */
  setInFlight(count: number): void;
  imageBuilderCall(operation: string, outcome: string, durationMs: number): void;
  slackCall(method: string, outcome: string, durationMs: number): void;
  /** How late a request was advanced compared to when it was due. */
  pollLag(lagMs: number): void;
  /** Replicas alive, this one included, as last counted (budgets are divided by it). */
  setReplicas(count: number): void;
  /** Reads how many Slack calls wait for their turn in the pace, at every scrape. */
  watchSlackBacklog(read: () => number): void;
}

const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const composes = new Counter({
    name: 'image_builder_bot_composes_finished_total',
    help: 'Composes that reached a final state, by provider and outcome (success, failure, deleted, rejected).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'image_builder_bot_requests_in_flight',
    help: 'Build requests not yet finished (submitting or tracking).',
    registers: [registry],
  });
  const imageBuilderCalls = new Counter({
    name: 'image_builder_bot_image_builder_requests_total',
    help: 'Calls to the Image Builder API by operation and outcome (success or the error kind).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const imageBuilderLatency = new Histogram({
    name: 'image_builder_bot_image_builder_request_duration_seconds',
    help: 'Duration of calls to the Image Builder API, retries included.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const slackCalls = new Counter({
    name: 'image_builder_bot_slack_requests_total',
    help: 'Calls to the Slack Web API by method and outcome (ok, the Slack error code, or the HTTP status).',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const slackLatency = new Histogram({
    name: 'image_builder_bot_slack_request_duration_seconds',
    help: 'Duration of calls to the Slack Web API.',
    labelNames: ['method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'image_builder_bot_poll_lag_seconds',
    help: 'How long after it was due a build request was advanced.',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });

  const replicas = new Gauge({
    name: 'image_builder_bot_replicas',
    help: 'Replicas alive, this one included; each takes an equal share of the Image Builder and Slack budgets.',
    registers: [registry],
  });
  replicas.set(1);
  let readSlackBacklog = () => 0;
  new Gauge({
    name: 'image_builder_bot_slack_calls_waiting',
    help: 'Slack posts and edits waiting for their turn within Slack’s rate limits (a growing number means Slack is the bottleneck).',
    registers: [registry],
    collect() {
      this.set(readSlackBacklog());
    },
  });

  return {
    registry,
    composeFinished: (provider, outcome) => composes.inc({ provider, outcome }),
    setInFlight: (count) => inFlight.set(count),
    imageBuilderCall(operation, outcome, durationMs) {
      imageBuilderCalls.inc({ operation, outcome });
      imageBuilderLatency.observe({ operation }, durationMs / 1000);
    },
    slackCall(method, outcome, durationMs) {
      slackCalls.inc({ method, outcome });
      slackLatency.observe({ method }, durationMs / 1000);
    },
    pollLag: (lagMs) => lag.observe(Math.max(0, lagMs) / 1000),
    setReplicas: (count) => replicas.set(count),
    watchSlackBacklog(read) {
      readSlackBacklog = read;
    },
  };
}
