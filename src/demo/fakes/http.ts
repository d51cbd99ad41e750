import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// Imported from node:timers rather than taken from the global object: jest's fake timers replace the globals, and a
// fake service must keep answering (and a wait must keep its deadline) while a test drives the app's clock.
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

/*
 * The little HTTP plumbing the fakes share: a loopback server on an ephemeral port, body reading, JSON answers and
 * waiting for a condition with a deadline.
 */

export interface RunningServer {
  server: Server;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  close(): Promise<void>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Serves `handler` on 127.0.0.1 at a free port. An exception in the handler answers 500 and names the error. */
export async function startServer(handler: RequestHandler): Promise<RunningServer> {
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, { fake_error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive sockets (fetch and undici pool them) would hold close() open until they time out.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The media type of a Content-Type header, lower-cased and without parameters. */
export const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]!.trim().toLowerCase();

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs?: number;
  /** How often the condition is checked besides whenever the fake records something. */
  intervalMs?: number;
}

/**
 * Resolves with the first truthy value `check` returns. `check` runs at once, whenever `subscribe` signals a change,
 * and every `intervalMs`; a throw counts as "not yet" and its message is kept for the failure report.
 */
export function waitUntil<T>(
  check: () => T | undefined | null | false,
  options: WaitOptions & {
    subscribe: (listener: () => void) => () => void;
    describeFailure: (lastError?: string) => string;
  },
): Promise<T> {
  const { timeoutMs = 5_000, intervalMs = 20 } = options;
  return new Promise<T>((resolve, reject) => {
    let lastError: string | undefined;
    let settled = false;
    const attempt = () => {
      if (settled) return;
      try {
        const value = check();
        if (value !== undefined && value !== null && value !== false) finish(() => resolve(value));
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    };
    const unsubscribe = options.subscribe(attempt);
    const interval = setInterval(attempt, intervalMs);
    const deadline = setTimeout(() => finish(() => reject(new Error(options.describeFailure(lastError)))), timeoutMs);
    function finish(then: () => void) {
      settled = true;
      unsubscribe();
      clearInterval(interval);
      clearTimeout(deadline);
      then();
    }
    attempt();
  });
}

/** A set of listeners notified whenever a fake records something. */
export function createSignal() {
  const listeners = new Set<() => void>();
  return {
    notify: () => {
      for (const listener of [...listeners]) listener();
    },
    subscribe: (listener: () => void) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
