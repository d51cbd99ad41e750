import { checkReadiness, SlackConnectionHealth } from '../src/platform/operations';

const working = () => ({ state: 'working' as const, at: new Date() });
const slackUp = () => {
  const health = new SlackConnectionHealth();
  health.observe({ ok: true });
  return health;
};

describe('readiness', () => {
  it('is not ready when the store cannot be written, and says why', async () => {
    const report = await checkReadiness({
      slack: slackUp(),
      store: { ping: () => Promise.reject(new Error('database /data/bot.sqlite cannot be written: disk full')) },
      imageBuilderCredentials: working,
    });
    expect(report.ready).toBe(false);
    expect(report.checks.store).toEqual({
      ok: false,
      detail: 'database /data/bot.sqlite cannot be written: disk full',
    });
  });

  it('is not ready when the store does not answer in time', async () => {
    const report = await checkReadiness({
      slack: slackUp(),
      store: { ping: () => new Promise<void>(() => undefined) },
      imageBuilderCredentials: working,
      storeTimeoutMs: 20,
    });
    expect(report.checks.store).toEqual({ ok: false, detail: 'no answer within 20 ms' });
  });

  it('stays ready while Image Builder refuses the credentials or has not answered, and reports it as a failing check', async () => {
    const refused = await checkReadiness({
      slack: slackUp(),
      store: { ping: () => Promise.resolve() },
      imageBuilderCredentials: () => ({
        state: 'refused' as const,
        at: new Date(),
        detail: 'Red Hat SSO refused the client credentials',
      }),
    });
    expect(refused).toEqual({
      ready: true,
      checks: {
        slack: { ok: true },
        store: { ok: true },
        imageBuilder: { ok: false, detail: 'Red Hat SSO refused the client credentials' },
      },
    });
    const unknown = await checkReadiness({
      slack: slackUp(),
      store: { ping: () => Promise.resolve() },
      imageBuilderCredentials: () => ({ state: 'unknown' as const }),
    });
    expect(unknown.ready).toBe(true);
    expect(unknown.checks.imageBuilder).toEqual({
      ok: false,
      detail: 'no authenticated answer from Image Builder yet',
    });
  });

  it('follows what Slack says about the token, and the Socket Mode connection', () => {
    const health = new SlackConnectionHealth();
    expect(health.current().ok).toBe(false);
    health.observe({ ok: true });
    expect(health.current()).toEqual({ ok: true });
    // An ordinary Slack error (not in a channel) says nothing against the connection.
    health.observe({ ok: false, error: 'not_in_channel' });
    expect(health.current()).toEqual({ ok: true });
    health.observe({ ok: false, error: 'token_revoked' });
    expect(health.current()).toEqual({ ok: false, detail: 'Slack refused the bot token (token_revoked)' });
    health.observe({ ok: true });
    health.socketState(false);
    expect(health.current()).toEqual({ ok: false, detail: 'the Socket Mode connection is down' });
  });
});
