import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, LogLevel, WebClient, type WebAPICallError } from '@slack/web-api';
import { Agent } from 'undici';
import { SlackConnectionHealth } from '../../src/platform/operations';
import { answerOf, slackFetch, withoutEchoedBlocks } from '../../src/slack/webApiFetch';

describe('reading ok and error from a Web API answer', () => {
  it('recognises a success from its start, however large what follows', () => {
    expect(answerOf(`{"ok":true,"view":${JSON.stringify({ blocks: 'x'.repeat(100_000) })}}`)).toEqual({ ok: true });
    expect(answerOf(' { "ok" : true }')).toEqual({ ok: true });
  });

  it('parses anything else whole: an error, or ok written later in the object', () => {
    expect(answerOf('{"ok":false,"error":"ratelimited"}')).toEqual({ ok: false, error: 'ratelimited' });
    expect(answerOf('{"channel":"C1","ok":true}')).toMatchObject({ ok: true });
    // "ok":true only as the start of a longer key is not a success.
    expect(answerOf('{"ok":trueish}')).toBeUndefined();
  });

  it('says nothing of an answer that is not a JSON object', () => {
    expect(answerOf('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(answerOf('null')).toBeUndefined();
  });
});

/*
 * The Web API client over our fetch, against a loopback server that plays Slack: what Slack receives, what the client
 * makes of each kind of answer, and what /metrics and /readyz are told.
 */
describe('Web API calls through the outbound dispatcher', () => {
  interface Received {
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    body: string;
  }
  let server: Server;
  let baseUrl: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const received: Received[] = [];
  const dispatcher = new Agent();
  let calls: { method: string; outcome: string }[];
  let health: SlackConnectionHealth;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        answer(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    received.length = 0;
    calls = [];
    health = new SlackConnectionHealth();
  });

  afterAll(async () => {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}) =>
    (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };

  function client(options: { timeout?: number } = {}) {
    return new WebClient('xoxb-transport-test', {
      slackApiUrl: `${baseUrl}/api/`,
      fetch: slackFetch({
        apiUrl: `${baseUrl}/api/`,
        dispatcher,
        metrics: { slackCall: (method, outcome) => calls.push({ method, outcome }) },
        health,
      }),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
      ...options,
    });
  }

  it('posts the form Slack expects, with the token, and hands back the answer without the blocks it echoes', async () => {
    const view = {
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'AWS image ✓' },
      blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'Build an image' } }],
    };
    answer = json(200, { ok: true, view: { id: 'V1', hash: '1.2', ...view } });
    const result = await client().views.open({ trigger_id: '123.456', view });
    const { blocks: _sent, ...echoed } = view;
    expect(result).toMatchObject({ ok: true, view: { id: 'V1', hash: '1.2', ...echoed } });
    expect(result.view).not.toHaveProperty('blocks');
    expect(received).toHaveLength(1);
    const [sent] = received;
    expect(sent).toMatchObject({ method: 'POST', path: '/api/views.open' });
    expect(sent!.headers.authorization).toBe('Bearer xoxb-transport-test');
    expect(sent!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Number(sent!.headers['content-length'])).toBe(Buffer.byteLength(sent!.body));
    const form = new URLSearchParams(sent!.body);
    expect(form.get('trigger_id')).toBe('123.456');
    expect(JSON.parse(form.get('view') ?? '')).toEqual(view);
    expect(calls).toEqual([{ method: 'views.open', outcome: 'ok' }]);
    expect(health.current()).toEqual({ ok: true });
  });

  it('hands back the answers of other methods whole, blocks and all', async () => {
    const message = { ts: '1.2', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Done' } }] };
    answer = json(200, { ok: true, channel: 'C1', ts: '1.2', message });
    const result = await client().chat.postMessage({ channel: 'C1', text: 'Done', blocks: message.blocks as never });
    expect(result).toMatchObject({ ok: true, channel: 'C1', message });
  });

  it('sends a file upload as multipart, the bytes as the client gave them', async () => {
    // files.uploadV2's three steps: an upload URL from Slack, the bytes posted to it, then the completion.
    answer = (req, res) => {
      if (req.url === '/api/files.getUploadURLExternal') {
        return json(200, { ok: true, upload_url: `${baseUrl}/upload/v1/F1`, file_id: 'F1' })(req, res);
      }
      if (req.url === '/upload/v1/F1') return res.writeHead(200, { 'content-type': 'text/plain' }).end('OK - 15');
      return json(200, { ok: true, files: [{ id: 'F1', title: 'audit.jsonl' }] })(req, res);
    };
    const content = '{"a":1}\n{"b":2}';
    await client().files.uploadV2({ channel_id: 'D1', filename: 'audit.jsonl', file: Buffer.from(content) });
    expect(received.map((call) => call.path)).toEqual([
      '/api/files.getUploadURLExternal',
      '/upload/v1/F1',
      '/api/files.completeUploadExternal',
    ]);
    const upload = received[1]!;
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    // The client names the file in getUploadURLExternal; the upload itself is one field, the bytes.
    expect(upload.body).toContain('name="body"');
    expect(upload.body).toContain(content);
    // Counted under one label, not one per file id, and its plain-text "OK" counted as the success it is.
    expect(calls).toEqual([
      { method: 'files.getUploadURLExternal', outcome: 'ok' },
      { method: 'file_upload', outcome: 'ok' },
      { method: 'files.completeUploadExternal', outcome: 'ok' },
    ]);
  });

  it("passes Slack's error on, counted under its code, and tells /readyz when the token is refused", async () => {
    answer = json(200, { ok: false, error: 'invalid_auth' });
    const error = (await client()
      .auth.test()
      .catch((e: unknown) => e)) as WebAPICallError;
    expect(error.code).toBe(ErrorCode.PlatformError);
    expect(error.message).toContain('invalid_auth');
    expect(calls).toEqual([{ method: 'auth.test', outcome: 'invalid_auth' }]);
    expect(health.current()).toEqual({ ok: false, detail: 'Slack refused the bot token (invalid_auth)' });
  });

  it('lets the client read Retry-After from a 429', async () => {
    answer = json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '7' });
    const error = (await client()
      .chat.update({ channel: 'C1', ts: '1.2', text: 'x' })
      .catch((e: unknown) => e)) as WebAPICallError & { retryAfter?: number };
    expect(error.code).toBe(ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBe(7);
    expect(calls).toEqual([{ method: 'chat.update', outcome: 'ratelimited' }]);
  });

  it('follows no redirect: the call fails on the 3xx and the place it points to is never asked', async () => {
    answer = (req, res) => {
      if (req.url === '/elsewhere') return json(200, { ok: true })(req, res);
      res.writeHead(302, { location: `${baseUrl}/elsewhere` });
      res.end();
    };
    const error = (await client()
      .auth.test()
      .catch((e: unknown) => e)) as WebAPICallError & { statusCode?: number };
    expect(error.code).toBe(ErrorCode.HTTPError);
    expect(error.statusCode).toBe(302);
    expect(received.map((r) => r.path)).toEqual(['/api/auth.test']);
    expect(calls).toEqual([{ method: 'auth.test', outcome: 'http_302' }]);
  });

  it('gives up at the client timeout and counts Slack as unreachable', async () => {
    answer = () => undefined; // never answers
    const error = (await client({ timeout: 200 })
      .auth.test()
      .catch((e: unknown) => e)) as WebAPICallError;
    expect(error.code).toBe(ErrorCode.RequestError);
    expect(calls).toEqual([{ method: 'auth.test', outcome: 'unreachable' }]);
    expect(health.current()).toEqual({ ok: false, detail: 'Slack did not answer' });
  });

  it('counts a 5xx and tells /readyz Slack is not answering', async () => {
    answer = (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html>503</html>');
    };
    const error = (await client()
      .auth.test()
      .catch((e: unknown) => e)) as WebAPICallError & { statusCode?: number; body?: unknown };
    expect(error.code).toBe(ErrorCode.HTTPError);
    expect(error.statusCode).toBe(503);
    expect(calls).toEqual([{ method: 'auth.test', outcome: 'http_503' }]);
    expect(health.current()).toEqual({ ok: false, detail: 'Slack did not answer' });
  });
});

describe('a views.* answer without the blocks Slack echoes', () => {
  it('keeps everything of a successful answer but the view’s blocks', () => {
    const text = JSON.stringify({ ok: true, view: { id: 'V1', hash: '1.2', blocks: [{ type: 'divider' }] } });
    expect(JSON.parse(withoutEchoedBlocks(text))).toEqual({ ok: true, view: { id: 'V1', hash: '1.2' } });
  });

  it('hands on an error, an answer without a view, or one that is not JSON, as it came', () => {
    for (const text of ['{"ok":false,"error":"expired_trigger_id"}', '{"ok":true}', 'null', '<html>502</html>'])
      expect(withoutEchoedBlocks(text)).toBe(text);
  });
});
