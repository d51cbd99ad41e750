import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createProxy } from 'proxy';
import * as selfsigned from 'selfsigned';
import { LogLevel, WebClient } from '@slack/web-api';
import { request } from 'undici';
import { buildDispatchers, parseCoreConfig, type Dispatchers } from '../../src/config/config';
import { imageBuilderFromConfig } from '../../src/imageBuilder/fromConfig';
import { silentLogger } from '../../src/platform/logger';
import { SlackConnectionHealth } from '../../src/platform/operations';
import { slackFetch } from '../../src/slack/webApiFetch';
import { KNOWN_SECRETS, KNOWN_USERNAMES } from '../support/knownSecrets';

/*
 * The proxy path, through a real forward proxy on loopback: CONNECT for https (the target has a self-signed
 * certificate whose CA the test trusts) and plain forwarding for http, with proxy credentials.
 */

const PROXY_USER = KNOWN_USERNAMES.HTTPS_PROXY_USER;
const PROXY_PASSWORD = KNOWN_SECRETS.HTTPS_PROXY_PASSWORD;

interface RecordingProxy {
  url: (credentials?: string) => string;
  connects: string[];
  forwarded: string[];
  server: Server;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function startProxy(): Promise<RecordingProxy> {
  const server = createProxy(createHttpServer());
  const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;
  server.authenticate = (req: IncomingMessage) => req.headers['proxy-authorization'] === expected;
  const connects: string[] = [];
  const forwarded: string[] = [];
  server.prependListener('connect', (req: IncomingMessage) => connects.push(req.url ?? ''));
  server.prependListener('request', (req: IncomingMessage) => forwarded.push(req.url ?? ''));
  const port = await listen(server);
  return {
    server,
    connects,
    forwarded,
    url: (credentials = `${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}`) =>
      `http://${credentials}@127.0.0.1:${port}`,
  };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('outbound traffic through an HTTP proxy', () => {
  let proxy: RecordingProxy;
  let httpsTarget: Server;
  let httpTarget: Server;
  let httpsPort: number;
  let httpPort: number;
  let ca: string;
  const opened: Dispatchers[] = [];

  // Plays SSO's token endpoint (any path ending in /token), Slack's Web API (under /slack/) and the Image Builder API.
  const answer = (server: Server) =>
    server.on('request', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          req.url?.endsWith('/token')
            ? { access_token: 'access-token', expires_in: 900, token_type: 'Bearer' }
            : req.url?.startsWith('/slack/')
              ? { ok: true, path: req.url }
              : { readiness: 'ready', path: req.url },
        ),
      );
    });

  beforeAll(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    ca = pems.cert;
    httpsTarget = answer(createHttpsServer({ key: pems.private, cert: pems.cert }));
    httpTarget = answer(createHttpServer());
    httpsPort = await listen(httpsTarget);
    httpPort = await listen(httpTarget);
    proxy = await startProxy();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close()));
    proxy.connects.length = 0;
    proxy.forwarded.length = 0;
  });

  afterAll(async () => {
    await Promise.all([close(httpsTarget), close(httpTarget), close(proxy.server)]);
  });

  function dispatchersFor(env: Record<string, string>): Dispatchers {
    const config = parseCoreConfig({ IMAGE_BUILDER_OFFLINE_TOKEN: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN, ...env });
    const dispatchers = buildDispatchers(config, { ca });
    opened.push(dispatchers);
    return dispatchers;
  }

  it('tunnels https to Image Builder through IMAGE_BUILDER_PROXY with its credentials', async () => {
    const { imageBuilder } = dispatchersFor({ IMAGE_BUILDER_PROXY: proxy.url() });
    const res = await request(`https://localhost:${httpsPort}/api/image-builder/v1/ready`, {
      dispatcher: imageBuilder,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ readiness: 'ready', path: '/api/image-builder/v1/ready' });
    expect(proxy.connects).toEqual([`localhost:${httpsPort}`]);
  });

  it('forwards plain http through the proxy', async () => {
    const { imageBuilder } = dispatchersFor({ IMAGE_BUILDER_PROXY: proxy.url() });
    const res = await request(`http://localhost:${httpPort}/ready`, { dispatcher: imageBuilder });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(proxy.forwarded).toEqual([`http://localhost:${httpPort}/ready`]);
  });

  it('fails with 407 when the proxy credentials are wrong, and never reaches the target', async () => {
    const { imageBuilder } = dispatchersFor({ IMAGE_BUILDER_PROXY: proxy.url('ops:wrong') });
    let targetHits = 0;
    httpTarget.once('request', () => targetHits++);
    await expect(request(`http://localhost:${httpPort}/ready`, { dispatcher: imageBuilder })).rejects.toThrow(/407/);
    await expect(request(`https://localhost:${httpsPort}/ready`, { dispatcher: imageBuilder })).rejects.toThrow(/407/);
    expect(targetHits).toBe(0);
  });

  it('sends Image Builder through HTTPS_PROXY when IMAGE_BUILDER_PROXY is unset', async () => {
    const { imageBuilder, outbound } = dispatchersFor({ HTTPS_PROXY: proxy.url() });
    expect(imageBuilder).toBe(outbound);
    const res = await request(`https://localhost:${httpsPort}/ready`, { dispatcher: imageBuilder });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(proxy.connects).toEqual([`localhost:${httpsPort}`]);
  });

  it('goes direct for hosts listed in NO_PROXY', async () => {
    const { outbound } = dispatchersFor({ HTTPS_PROXY: proxy.url(), NO_PROXY: 'localhost' });
    const res = await request(`https://localhost:${httpsPort}/ready`, { dispatcher: outbound });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(proxy.connects).toEqual([]);
  });

  it('keeps IMAGE_BUILDER_PROXY for Image Builder even when NO_PROXY lists its host', async () => {
    const { imageBuilder, outbound } = dispatchersFor({ IMAGE_BUILDER_PROXY: proxy.url(), NO_PROXY: 'localhost' });
    const viaBuilder = await request(`https://localhost:${httpsPort}/ready`, { dispatcher: imageBuilder });
    await viaBuilder.body.dump();
    const viaOutbound = await request(`https://localhost:${httpsPort}/ready`, { dispatcher: outbound });
    await viaOutbound.body.dump();
    expect(proxy.connects).toEqual([`localhost:${httpsPort}`]);
  });

  it('sends Slack Web API calls through HTTPS_PROXY, and directly to hosts in NO_PROXY', async () => {
    const slackVia = (env: Record<string, string>) =>
      new WebClient('xoxb-proxy-test', {
        slackApiUrl: `https://localhost:${httpsPort}/slack/api/`,
        fetch: slackFetch({
          apiUrl: `https://localhost:${httpsPort}/slack/api/`,
          dispatcher: dispatchersFor(env).outbound,
          metrics: { slackCall: () => undefined },
          health: new SlackConnectionHealth(),
        }),
        retryConfig: { retries: 0 },
        logLevel: LogLevel.ERROR,
      });
    await expect(slackVia({ HTTPS_PROXY: proxy.url() }).auth.test()).resolves.toMatchObject({
      path: '/slack/api/auth.test',
    });
    expect(proxy.connects).toEqual([`localhost:${httpsPort}`]);
    await expect(slackVia({ HTTPS_PROXY: proxy.url(), NO_PROXY: 'localhost' }).auth.test()).resolves.toMatchObject({
      path: '/slack/api/auth.test',
    });
    expect(proxy.connects).toHaveLength(1);
  });

  describe('the Image Builder client', () => {
    let tokenRequests = 0;
    beforeAll(() => {
      // The same https server plays SSO's token endpoint and the API.
      httpsTarget.prependListener('request', (req: IncomingMessage) => {
        if (req.url?.endsWith('/token')) tokenRequests++;
      });
    });

    function clientVia(proxyUrl: string) {
      const config = parseCoreConfig({
        IMAGE_BUILDER_URL: `https://localhost:${httpsPort}/api/image-builder/v1`,
        IMAGE_BUILDER_TOKEN_URL: `https://localhost:${httpsPort}/sso/token`,
        IMAGE_BUILDER_OFFLINE_TOKEN: KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN,
        IMAGE_BUILDER_PROXY: proxyUrl,
      });
      const dispatchers = buildDispatchers(config, { ca });
      opened.push(dispatchers);
      return imageBuilderFromConfig(config, { dispatcher: dispatchers.imageBuilder, logger: silentLogger() });
    }

    it('reaches the token endpoint and the API through the proxy', async () => {
      await expect(clientVia(proxy.url()).ready()).resolves.toEqual({ ready: true, readiness: 'ready' });
      expect(tokenRequests).toBe(1);
      expect(proxy.connects.length).toBeGreaterThanOrEqual(1);
      expect(proxy.connects.every((target) => target === `localhost:${httpsPort}`)).toBe(true);
    });

    it('reports refused proxy credentials as proxy-auth-required, without the password', async () => {
      const error = (await clientVia(proxy.url('ops:wrong-proxy-password'))
        .getDistributions()
        .catch((e: unknown) => e)) as { kind?: string; message?: string };
      expect(error.kind).toBe('proxy-auth-required');
      expect(JSON.stringify(error)).not.toContain('wrong-proxy-password');
      expect(error.message).not.toContain('wrong-proxy-password');
    });
  });
});
