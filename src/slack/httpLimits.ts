import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * What HTTP mode lets a client do before its request's signature can be checked, which needs the whole body. Slack's
 * requests are a few kilobytes and arrive at once; without these limits, slow or huge requests (Bolt reads up to
 * 4 MiB each, and Node waits 300 s for one) would hold memory and connections for anyone who can reach the port.
 */
export interface HttpLimits {
  /** The largest request body read; a larger one is answered 413 once that much has come, and its connection closed. */
  maxBodyBytes: number;
  /** How long a client may take to send a whole request, headers and body; then it gets 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** Connections open at once (idle keep-alive ones included); those beyond are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  // A modal's submission with every field at its longest is some tens of kilobytes.
  maxBodyBytes: 1024 * 1024,
  requestTimeoutMs: 10_000,
  // Slack's deliveries finish in milliseconds; a few probes and a metrics scraper share the port.
  maxConnections: 50,
});

/** How many times per request timeout Node looks for requests past their time (every 30 s by default). */
const TIMEOUT_CHECKS_PER_REQUEST_TIMEOUT = 4;

/** Node's options for the HTTP server: `limits` in its terms. */
export function httpServerOptions(limits: HttpLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    // Not later than the whole request: Node refuses a headers timeout longer than the request timeout.
    headersTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(
      10,
      Math.min(1000, Math.round(limits.requestTimeoutMs / TIMEOUT_CHECKS_PER_REQUEST_TIMEOUT)),
    ),
  };
}

/** What the server's options cannot say: how many connections it takes, and that a refused request is not read on. */
export function limitClients(server: Server, limits: HttpLimits): void {
  server.maxConnections = limits.maxConnections;
  // Answered before its body was read whole (413): the rest is not wanted, and the connection, with its unread
  // bytes, would otherwise stay open until the request timeout.
  server.on('request', (request: IncomingMessage, response: ServerResponse) =>
    response.once('finish', () => {
      if (!request.complete) request.socket.destroy();
    }),
  );
}
