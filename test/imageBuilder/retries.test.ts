import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { createImageBuilderClient, type ImageBuilderClientOptions } from '../../src/imageBuilder';
import { parseRetryAfter } from '../../src/imageBuilder/http';
import {
  API_PREFIX,
  AUTH,
  awsCompose,
  closedPort,
  COMPOSE_ID,
  harness,
  listen,
  readBody,
  recordingLogger,
  rejectionOf,
} from './helpers';

const READY = { status: 200, body: { readiness: 'ready' } };
const CREATED = { status: 201, body: { id: COMPOSE_ID } };

describe('retrying reads', () => {
  it.each([429, 502, 503, 504])('retries a GET answered %i and returns the eventual answer', async (status) => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', '/ready', (_req, i) => (i < 2 ? { status } : READY));

    await expect(h.client.ready()).resolves.toEqual({ ready: true, readiness: 'ready' });
    expect(h.apiRequests).toHaveLength(3);
  });

  it('waits with exponential backoff and full jitter between attempts', async () => {
    const h = harness({ retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 }, random: () => 0.5 });
    h.issueTokens();
    h.serve('GET', '/ready', { status: 503 });

    await rejectionOf(h.client.ready());

    // Half (the jitter) of 1 s, 2 s, 4 s, then of the 5 s cap.
    expect(h.sleeps).toEqual([500, 1000, 2000, 2500]);
    expect(h.apiRequests).toHaveLength(5);
  });

  it('draws each wait anywhere from zero to the backoff ceiling', async () => {
    const draws = [0, 0.999];
    const h = harness({
      retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 },
      random: () => draws.shift() ?? 0,
    });
    h.issueTokens();
    h.serve('GET', '/ready', { status: 502 });

    await rejectionOf(h.client.ready());

    expect(h.sleeps).toEqual([0, 1998]);
  });

  it('gives up after the last attempt and reports the service as unavailable', async () => {
    const h = harness({ retry: { maxAttempts: 3 } });
    h.issueTokens();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 503,
      body: { errors: [{ title: '503', detail: 'composer is down' }] },
    });

    const error = await rejectionOf(h.client.getCompose(COMPOSE_ID));

    expect(error).toMatchObject({ kind: 'unavailable', status: 503, detail: 'composer is down', retryable: true });
    expect(h.apiRequests).toHaveLength(3);
  });

  it('logs a failure sequence once, not once per retry', async () => {
    const h = harness({ retry: { maxAttempts: 4 } });
    h.issueTokens();
    h.serve('GET', '/ready', { status: 503 });

    await rejectionOf(h.client.ready());

    const warnings = h.lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ operation: 'GET /ready', attempts: 4, status: 503 });
  });

  it('logs a recovered sequence once', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', '/ready', (_req, i) => (i < 2 ? { status: 503 } : READY));

    await h.client.ready();

    const retryLines = h.lines.filter((l) => /retrying|failed/.test(l.msg));
    expect(retryLines).toHaveLength(1);
    expect(retryLines[0]!.obj).toMatchObject({ attempts: 3, failures: ['status 503', 'status 503'] });
  });

  it('does not retry other server errors', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', '/ready', { status: 500 });

    await expect(h.client.ready()).rejects.toMatchObject({ kind: 'unavailable', status: 500 });
    expect(h.apiRequests).toHaveLength(1);
  });

  describe('Retry-After', () => {
    it('waits the number of seconds the service asks for', async () => {
      const h = harness();
      h.issueTokens();
      h.serve('GET', '/ready', (_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '7' } } : READY));

      await h.client.ready();

      expect(h.sleeps).toEqual([7000]);
    });

    it('waits until the HTTP date the service gives', async () => {
      const h = harness();
      h.issueTokens();
      const when = new Date(h.clock.now + 12_000).toUTCString();
      h.serve('GET', '/ready', (_req, i) => (i === 0 ? { status: 503, headers: { 'retry-after': when } } : READY));

      await h.client.ready();

      expect(h.sleeps).toHaveLength(1);
      expect(h.sleeps[0]).toBeGreaterThan(11_000);
      expect(h.sleeps[0]).toBeLessThanOrEqual(12_000);
    });

    it('does not sit out a long Retry-After: it fails at once and says how long to wait', async () => {
      const h = harness({ retry: { maxRetryAfterMs: 30_000 } });
      h.issueTokens();
      h.serve('GET', '/ready', { status: 429, headers: { 'retry-after': '3600' } });

      const error = await rejectionOf(h.client.ready());

      expect(error).toMatchObject({ kind: 'rate-limited', status: 429, retryable: true, retryAfterMs: 3_600_000 });
      expect(h.sleeps).toEqual([]);
      expect(h.apiRequests).toHaveLength(1);
    });

    it('reads seconds, HTTP dates, and ignores what it cannot read', () => {
      const now = Date.UTC(2025, 0, 1, 12, 0, 0);
      expect(parseRetryAfter('120', now)).toBe(120_000);
      expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
      expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(0);
      expect(parseRetryAfter('soon', now)).toBeUndefined();
      expect(parseRetryAfter(undefined, now)).toBeUndefined();
    });
  });
});

describe('submitting a compose (not idempotent)', () => {
  it.each([429, 500, 502, 503, 504])('never resends a compose answered %i', async (status) => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', '/compose', { status });

    await expect(h.client.createCompose(awsCompose())).rejects.toMatchObject({ status });
    expect(h.apiRequests).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it('warns that a compose answered by a gateway error may have been submitted', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', '/compose', { status: 504, body: '<html>Gateway Timeout</html>' });

    const error = await rejectionOf(h.client.createCompose(awsCompose()));

    expect(error).toMatchObject({ kind: 'unavailable', status: 504, mayHaveBeenSubmitted: true, retryable: false });
    expect((error as Error).message).toMatch(/may have been submitted/);
  });

  it('reports a rate-limited compose as safe to try again later', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', '/compose', { status: 429, headers: { 'retry-after': '20' } });

    const error = await rejectionOf(h.client.createCompose(awsCompose()));

    expect(error).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 20_000 });
    expect((error as { mayHaveBeenSubmitted?: boolean }).mayHaveBeenSubmitted).toBeUndefined();
  });

  it('resends after a 401 with a new token: the request was refused at the door', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', '/compose', (req) => (req.headers.authorization === 'Bearer access-1' ? { status: 401 } : CREATED));

    await expect(h.client.createCompose(awsCompose())).resolves.toEqual({ id: COMPOSE_ID });
    expect(h.apiRequests).toHaveLength(2);
  });
});

/*
 * Real sockets on loopback: a mock cannot tell "connection refused" from "connection lost", and that difference
 * decides whether a compose may be resent.
 */
describe('network failures on loopback', () => {
  const dispatchers: Dispatcher[] = [];
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  function loopbackClient(port: number, overrides: Partial<ImageBuilderClientOptions> = {}) {
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    const { logger, lines } = recordingLogger();
    const sleeps: number[] = [];
    const client = createImageBuilderClient({
      baseUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
      tokenUrl: `http://127.0.0.1:${port}/token`,
      auth: AUTH.basic,
      dispatcher,
      logger,
      timeouts: { requestMs: 300 },
      retry: { maxAttempts: 3 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
      ...overrides,
    });
    return { client, lines, sleeps };
  }

  it('does not resend a compose after a timeout, and says it may have been submitted', async () => {
    const received: string[] = [];
    const server = await listen((req) => void readBody(req).then((body) => received.push(body))); // never answers
    closers.push(server.close);
    const { client } = loopbackClient(server.port);

    const error = await rejectionOf(client.createCompose(awsCompose()));

    expect(error).toMatchObject({ kind: 'unavailable', mayHaveBeenSubmitted: true, retryable: false });
    expect((error as Error).message).toMatch(/may have been submitted/);
    expect(received).toHaveLength(1);
  });

  it('does not resend a compose when the connection drops mid-request', async () => {
    let received = 0;
    const server = await listen((req) => {
      received++;
      req.socket.destroy();
    });
    closers.push(server.close);
    const { client } = loopbackClient(server.port);

    await expect(client.createCompose(awsCompose())).rejects.toMatchObject({
      kind: 'unavailable',
      mayHaveBeenSubmitted: true,
    });
    expect(received).toBe(1);
  });

  it('resends a compose that never reached the service because the connection was refused', async () => {
    const port = await closedPort();
    const bodies: string[] = [];
    const waits: number[] = [];
    // The first attempt finds the port closed; the service comes up while the client waits to retry.
    const { client } = loopbackClient(port, {
      sleep: async (ms) => {
        waits.push(ms);
        const server = await listen(async (req, res) => {
          bodies.push(await readBody(req));
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: COMPOSE_ID }));
        }, port);
        closers.push(server.close);
      },
    });

    await expect(client.createCompose(awsCompose())).resolves.toEqual({ id: COMPOSE_ID });
    expect(waits).toHaveLength(1);
    expect(bodies.map((b) => JSON.parse(b) as unknown)).toEqual([awsCompose()]);
  });

  it('reports a service that stays unreachable as unavailable after the last attempt', async () => {
    const port = await closedPort();
    const { client, sleeps, lines } = loopbackClient(port);

    const error = await rejectionOf(client.createCompose(awsCompose()));

    expect(error).toMatchObject({ kind: 'unavailable', retryable: true });
    expect((error as { mayHaveBeenSubmitted?: boolean }).mayHaveBeenSubmitted).toBeUndefined();
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(sleeps).toHaveLength(2);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('retries a read that timed out', async () => {
    let calls = 0;
    const server = await listen((_req, res) => {
      calls++;
      if (calls > 1)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ readiness: 'ready' }));
    });
    closers.push(server.close);
    const { client } = loopbackClient(server.port);

    await expect(client.ready()).resolves.toMatchObject({ ready: true });
    expect(calls).toBe(2);
  });

  it('sends JSON bodies with exactly application/json and asks for JSON back', async () => {
    const seen: { method?: string; contentType?: string; accept?: string }[] = [];
    const server = await listen((req, res) => {
      seen.push({ method: req.method, contentType: req.headers['content-type'], accept: req.headers.accept });
      void readBody(req).then(() =>
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: COMPOSE_ID })),
      );
    });
    closers.push(server.close);
    const { client } = loopbackClient(server.port);

    await client.createCompose(awsCompose());

    expect(seen).toEqual([{ method: 'POST', contentType: 'application/json', accept: 'application/json' }]);
  });

  describe('through a proxy that refuses the tunnel', () => {
    async function refusingProxy(status: number) {
      const connects: string[] = [];
      const proxy = await listen();
      proxy.server.on('connect', (req, socket) => {
        connects.push(req.url ?? '');
        socket.end(`HTTP/1.1 ${status} Refused\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n`);
      });
      closers.push(proxy.close);
      const dispatcher = new ProxyAgent(`http://127.0.0.1:${proxy.port}`);
      dispatchers.push(dispatcher);
      return { connects, dispatcher };
    }

    const proxiedClient = (dispatcher: Dispatcher) =>
      loopbackClient(0, { baseUrl: `https://console.test${API_PREFIX}`, dispatcher, retry: { maxAttempts: 3 } });

    it('reports a CONNECT answered 407 as proxy-auth-required, without retrying', async () => {
      const { connects, dispatcher } = await refusingProxy(407);
      const { client } = proxiedClient(dispatcher);

      const error = await rejectionOf(client.ready());

      expect(error).toMatchObject({ kind: 'proxy-auth-required', status: 407, retryable: false });
      expect(connects).toHaveLength(1);
    });

    it('resends a compose when the proxy refused the tunnel before anything was sent', async () => {
      const { connects, dispatcher } = await refusingProxy(502);
      const { client, sleeps } = proxiedClient(dispatcher);

      await expect(client.createCompose(awsCompose())).rejects.toMatchObject({ kind: 'unavailable' });
      expect(connects).toEqual(['console.test:443', 'console.test:443', 'console.test:443']);
      expect(sleeps).toHaveLength(2);
    });
  });
});
