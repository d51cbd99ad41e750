import { ImageBuilderError } from '../../src/imageBuilder';
import { AUTH, CLIENT_SECRET, harness, OFFLINE_TOKEN, PASSWORD, rejectionOf, USERNAME } from './helpers';

const READY = { status: 200, body: { readiness: 'ready' } };

describe('authentication', () => {
  describe('with a service account', () => {
    it('exchanges the client credentials for a bearer token and sends it to the service', async () => {
      const h = harness({ auth: AUTH.serviceAccount });
      h.issueTokens();
      h.serve('GET', '/ready', READY);

      await expect(h.client.ready()).resolves.toEqual({ ready: true, readiness: 'ready' });

      expect(h.tokenRequests).toHaveLength(1);
      expect(h.tokenRequests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(h.tokenRequests[0]!.body).toBe(
        'grant_type=client_credentials&client_id=bot-client&client_secret=Known%2BClient%2FSecret%3DZc5Sentinel&scope=api.console',
      );
      expect(new URLSearchParams(h.tokenRequests[0]!.body).get('client_secret')).toBe(CLIENT_SECRET);
      expect(h.apiRequests[0]!.headers.authorization).toBe('Bearer access-1');
    });
  });

  describe('with an offline token', () => {
    it('exchanges the offline token at the same endpoint as the rhsm-api client', async () => {
      const h = harness({ auth: AUTH.offlineToken });
      h.issueTokens();
      h.serve('GET', '/ready', READY);

      await h.client.ready();

      expect(h.tokenRequests.map((r) => r.body)).toEqual([
        `grant_type=refresh_token&client_id=rhsm-api&refresh_token=${OFFLINE_TOKEN}`,
      ]);
      expect(h.apiRequests[0]!.headers.authorization).toBe('Bearer access-1');
    });
  });

  describe('with a user name and password', () => {
    it('sends Basic credentials and never calls the token endpoint', async () => {
      const h = harness({ auth: AUTH.basic });
      h.serve('GET', '/ready', READY);

      await h.client.ready();

      expect(h.apiRequests[0]!.headers.authorization).toBe(
        `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`,
      );
      expect(h.tokenRequests).toHaveLength(0);
    });

    it('reports a 401 as unauthorized at once, since the same password cannot do better', async () => {
      const h = harness({ auth: AUTH.basic });
      h.serve('GET', '/ready', { status: 401, body: { errors: [{ title: '401', detail: 'Unauthorized' }] } });

      const error = await rejectionOf(h.client.ready());

      expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
      expect(h.apiRequests).toHaveLength(1);
    });
  });

  describe('token lifetime', () => {
    it('fetches one token for many calls', async () => {
      const h = harness();
      h.issueTokens();
      h.serve('GET', '/ready', READY);

      for (let i = 0; i < 5; i++) await h.client.ready();

      expect(h.tokenRequests).toHaveLength(1);
      expect(h.apiRequests.map((r) => r.headers.authorization)).toEqual(Array(5).fill('Bearer access-1'));
    });

    it('refreshes the token shortly before it expires, not after', async () => {
      const h = harness();
      h.issueTokens({ expiresIn: 900 });
      h.serve('GET', '/ready', READY);

      await h.client.ready();
      h.clock.now += 830_000; // 70 s left: still good
      await h.client.ready();
      expect(h.tokenRequests).toHaveLength(1);

      h.clock.now += 20_000; // 50 s left: inside the refresh margin
      await h.client.ready();
      expect(h.tokenRequests).toHaveLength(2);
      expect(h.apiRequests.map((r) => r.headers.authorization)).toEqual([
        'Bearer access-1',
        'Bearer access-1',
        'Bearer access-2',
      ]);
    });

    it('shares one token request among concurrent callers', async () => {
      const h = harness();
      h.issueTokens({ delayMs: 20 });
      h.serve('GET', '/ready', READY);

      await Promise.all(Array.from({ length: 10 }, () => h.client.ready()));

      expect(h.tokenRequests).toHaveLength(1);
      expect(new Set(h.apiRequests.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer access-1']));
    });
  });

  describe('when the service answers 401', () => {
    it('fetches a new token and retries the call once', async () => {
      const h = harness();
      h.issueTokens();
      h.serve('GET', '/ready', (req) => (req.headers.authorization === 'Bearer access-1' ? { status: 401 } : READY));

      await expect(h.client.ready()).resolves.toMatchObject({ ready: true });

      expect(h.tokenRequests).toHaveLength(2);
      expect(h.apiRequests.map((r) => r.headers.authorization)).toEqual(['Bearer access-1', 'Bearer access-2']);
    });

    it('refreshes once for many callers refused with the same token', async () => {
      const h = harness();
      h.issueTokens({ delayMs: 10 });
      let revoked = false;
      h.serve('GET', '/ready', (req) =>
        revoked && req.headers.authorization === 'Bearer access-1' ? { status: 401 } : READY,
      );
      await h.client.ready(); // access-1 is now cached
      revoked = true;

      await Promise.all(Array.from({ length: 5 }, () => h.client.ready()));

      expect(h.tokenRequests).toHaveLength(2);
      expect(h.apiRequests.filter((r) => r.headers.authorization === 'Bearer access-2')).toHaveLength(5);
    });

    it('gives up as unauthorized when the new token is refused too', async () => {
      const h = harness();
      h.issueTokens();
      h.serve('GET', '/composes/x', { status: 401, body: { errors: [{ title: '401', detail: 'token rejected' }] } });

      const error = await rejectionOf(h.client.getCompose('x'));

      expect(error).toBeInstanceOf(ImageBuilderError);
      expect(error).toMatchObject({ kind: 'unauthorized', status: 401, detail: 'token rejected', retryable: false });
      expect(h.tokenRequests).toHaveLength(2);
      expect(h.apiRequests).toHaveLength(2);
    });
  });

  describe('when the token endpoint fails', () => {
    it('reports refused credentials as unauthorized with the SSO explanation', async () => {
      const h = harness();
      h.ssoAnswers({
        status: 401,
        body: { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' },
      });

      const error = await rejectionOf(h.client.ready());

      expect(error).toMatchObject({
        kind: 'unauthorized',
        status: 401,
        detail: 'invalid_client: Invalid client or Invalid client credentials',
      });
      expect(h.tokenRequests).toHaveLength(1);
      expect(h.apiRequests).toHaveLength(0);
    });

    it('reports an expired offline token as unauthorized', async () => {
      const h = harness({ auth: AUTH.offlineToken });
      h.ssoAnswers({ status: 400, body: { error: 'invalid_grant', error_description: 'Offline session not active' } });

      const error = await rejectionOf(h.client.ready());

      expect(error).toMatchObject({ kind: 'unauthorized', detail: 'invalid_grant: Offline session not active' });
      expect((error as Error).message).toMatch(/offline token/);
    });

    it('retries an SSO outage like any read and then reports it as unavailable', async () => {
      const h = harness({ retry: { maxAttempts: 3 } });
      h.ssoAnswers({ status: 503, body: '<html>down</html>' });

      const error = await rejectionOf(h.client.ready());

      expect(error).toMatchObject({ kind: 'unavailable', status: 503, retryable: true });
      expect(h.tokenRequests).toHaveLength(3);
      expect(h.sleeps).toHaveLength(2);
    });

    it('recovers when SSO comes back during the retries', async () => {
      const h = harness();
      h.ssoAnswers({ status: 502 }, { status: 200, body: { access_token: 'late-token', expires_in: 900 } });
      h.serve('GET', '/ready', READY);

      await expect(h.client.ready()).resolves.toMatchObject({ ready: true });
      expect(h.apiRequests[0]!.headers.authorization).toBe('Bearer late-token');
    });

    it('reports an answer without an access token as invalid', async () => {
      const h = harness();
      h.ssoAnswers({ status: 200, body: { token_type: 'Bearer' } });

      await expect(h.client.ready()).rejects.toMatchObject({ kind: 'invalid-response' });
    });

    it('lets the next call try again after a failed refresh', async () => {
      const h = harness({ retry: { maxAttempts: 1 } });
      h.ssoAnswers({ status: 503 }, { status: 200, body: { access_token: 'second', expires_in: 900 } });
      h.serve('GET', '/ready', READY);

      await expect(h.client.ready()).rejects.toMatchObject({ kind: 'unavailable' });
      await expect(h.client.ready()).resolves.toMatchObject({ ready: true });
    });
  });
});
