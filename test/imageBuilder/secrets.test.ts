import { Agent } from 'undici';
import { createImageBuilderClient, type ComposeRequest, type ImageBuilderAuth } from '../../src/imageBuilder';
import {
  API_PREFIX,
  AUTH,
  awsCompose,
  CLIENT_SECRET,
  closedPort,
  COMPOSE_ID,
  harness,
  OFFLINE_TOKEN,
  recordingLogger,
} from './helpers';

/*
 * Credentials must never reach a log line or an error, whatever goes wrong. Each scenario collects every logger
 * call and every error (message, JSON, stack, cause) and looks for the secret values in any form they travel in.
 */

const ACCESS_TOKEN = 'eyJhbGciOi.access-token-Yt5m';

const secretForms = (auth: ImageBuilderAuth): string[] => {
  const values =
    auth.kind === 'serviceAccount'
      ? [auth.clientSecret]
      : auth.kind === 'offlineToken'
        ? [auth.offlineToken]
        : [auth.password];
  const basic = auth.kind === 'basic' ? [Buffer.from(`${auth.username}:${auth.password}`).toString('base64')] : [];
  return [...values, ...values.map(encodeURIComponent), ...basic, ACCESS_TOKEN];
};

async function settle(calls: Promise<unknown>[]): Promise<unknown[]> {
  const results = await Promise.allSettled(calls);
  return results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
}

describe.each([
  ['a service account', AUTH.serviceAccount as ImageBuilderAuth],
  ['an offline token', AUTH.offlineToken as ImageBuilderAuth],
  ['Basic credentials', AUTH.basic as ImageBuilderAuth],
])('with %s, no credential appears in logs or errors', (_mode, auth) => {
  const expectClean = (text: string) => {
    for (const secret of secretForms(auth)) expect(text).not.toContain(secret);
  };

  it('when calls succeed, fail, are retried and are refused', async () => {
    const h = harness({ auth, retry: { maxAttempts: 3 } });
    h.ssoAnswers({ status: 200, body: { access_token: ACCESS_TOKEN, expires_in: 900 } });
    h.serve('GET', '/ready', { status: 503, body: { errors: [{ title: '503', detail: 'down' }] } });
    h.serve('GET', `/composes/${COMPOSE_ID}`, { status: 401 });
    h.serve('GET', '/distributions', { status: 200, body: '<html>proxy login</html>' });
    h.serve('POST', '/compose', {
      status: 403,
      body: { errors: [{ title: '403', detail: 'Quota exceeded for user' }] },
    });
    h.serve('GET', '/architectures/rhel-9', { status: 200, body: [{ arch: 'x86_64', image_types: ['aws'] }] });

    const errors = await settle([
      h.client.ready(),
      h.client.getCompose(COMPOSE_ID),
      h.client.getDistributions(),
      h.client.createCompose(awsCompose()),
      h.client.createCompose({ ...awsCompose(), distribution: 'RHEL 9!' } as ComposeRequest),
      h.client.getArchitectures('rhel-9'),
    ]);

    expect(errors).toHaveLength(5);
    expect(h.lines.length).toBeGreaterThan(0);
    expectClean(h.everythingVisible(errors));
  });

  it('when the service cannot be reached', async () => {
    const port = await closedPort();
    const dispatcher = new Agent();
    const { logger, lines } = recordingLogger();
    const client = createImageBuilderClient({
      baseUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
      tokenUrl: `http://127.0.0.1:${port}/token`,
      auth,
      dispatcher,
      logger,
      retry: { maxAttempts: 2 },
      sleep: async () => undefined,
    });

    const errors = await settle([client.ready(), client.createCompose(awsCompose())]);
    await dispatcher.close();

    expect(errors).toHaveLength(2);
    const text = [
      ...lines.map((l) => `${l.msg} ${JSON.stringify(l.obj)}`),
      ...errors.map((e) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack} ${String((e as Error).cause)}`),
    ].join('\n');
    for (const secret of secretForms(auth)) expect(text).not.toContain(secret);
  });
});

describe('token endpoint refusals', () => {
  it.each([
    ['a service account', AUTH.serviceAccount as ImageBuilderAuth, CLIENT_SECRET],
    ['an offline token', AUTH.offlineToken as ImageBuilderAuth, OFFLINE_TOKEN],
  ])('never repeat the credential of %s, even if SSO echoes it', async (_mode, auth, secret) => {
    const h = harness({ auth });
    h.ssoAnswers({
      status: 400,
      body: { error: 'invalid_grant', error_description: `Token '${secret}' is not valid` },
    });

    const errors = await settle([h.client.ready()]);

    expect(errors[0]).toMatchObject({ kind: 'unauthorized', detail: "invalid_grant: Token '[redacted]' is not valid" });
    expect(h.everythingVisible(errors)).not.toContain(secret);
  });

  it.each([
    ['a service account', AUTH.serviceAccount as ImageBuilderAuth],
    ['an offline token', AUTH.offlineToken as ImageBuilderAuth],
  ])('never repeat the credential of %s when SSO answers nonsense or fails', async (_mode, auth) => {
    const h = harness({ auth, retry: { maxAttempts: 1 } });
    h.ssoAnswers(
      { status: 200, body: { token_type: 'Bearer' } },
      { status: 200, body: '<html>login</html>' },
      { status: 503 },
    );

    const errors = [
      ...(await settle([h.client.ready()])),
      ...(await settle([h.client.ready()])),
      ...(await settle([h.client.ready()])),
    ];

    expect(errors.map((e) => (e as { kind: string }).kind)).toEqual([
      'invalid-response',
      'invalid-response',
      'unavailable',
    ]);
    for (const secret of secretForms(auth)) expect(h.everythingVisible(errors)).not.toContain(secret);
  });
});
