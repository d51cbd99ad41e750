import {
  ConfigError,
  DEFAULT_IMAGE_BUILDER_URL,
  DEFAULT_TOKEN_URL,
  parseBotConfig,
  parseCoreConfig,
} from '../src/config/config';

const serviceAccount = { IMAGE_BUILDER_CLIENT_ID: 'bot-sa', IMAGE_BUILDER_CLIENT_SECRET: 'sa-secret-value' };

function problemsOf(
  env: Record<string, string>,
  parse: (env: Record<string, string>) => unknown = parseCoreConfig,
): string[] {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('Image Builder configuration', () => {
  it('uses the production console and Red Hat SSO by default', () => {
    const config = parseCoreConfig(serviceAccount);
    expect(config.imageBuilder.baseUrl).toBe(DEFAULT_IMAGE_BUILDER_URL);
    expect(config.imageBuilder.tokenUrl).toBe(DEFAULT_TOKEN_URL);
    expect(config.imageBuilder.auth).toEqual({
      kind: 'serviceAccount',
      clientId: 'bot-sa',
      clientSecret: 'sa-secret-value',
    });
    expect(config.imageBuilder.requestTimeoutMs).toBe(30_000);
    expect(config.logLevel).toBe('info');
  });

  it('accepts an offline token or staging basic auth instead of a service account', () => {
    expect(parseCoreConfig({ IMAGE_BUILDER_OFFLINE_TOKEN: 'offline-abc' }).imageBuilder.auth).toEqual({
      kind: 'offlineToken',
      offlineToken: 'offline-abc',
    });
    expect(
      parseCoreConfig({ IMAGE_BUILDER_USERNAME: 'alice', IMAGE_BUILDER_PASSWORD: 'pw-1234' }).imageBuilder.auth,
    ).toEqual({ kind: 'basic', username: 'alice', password: 'pw-1234' });
  });

  it('names every way to authenticate when none is set', () => {
    const [problem] = problemsOf({});
    expect(problem).toMatch(/IMAGE_BUILDER_CLIENT_ID \+ IMAGE_BUILDER_CLIENT_SECRET/);
    expect(problem).toMatch(/IMAGE_BUILDER_OFFLINE_TOKEN/);
    expect(problem).toMatch(/IMAGE_BUILDER_USERNAME \+ IMAGE_BUILDER_PASSWORD/);
  });

  it('refuses two ways to authenticate at once, naming the variables that are set', () => {
    const problems = problemsOf({ ...serviceAccount, IMAGE_BUILDER_OFFLINE_TOKEN: 'offline-abc' });
    expect(problems).toEqual([
      expect.stringContaining('IMAGE_BUILDER_CLIENT_ID, IMAGE_BUILDER_CLIENT_SECRET, IMAGE_BUILDER_OFFLINE_TOKEN'),
    ]);
  });

  it('names the missing half of a pair', () => {
    expect(problemsOf({ IMAGE_BUILDER_CLIENT_ID: 'bot-sa' })).toEqual([
      expect.stringMatching(/^IMAGE_BUILDER_CLIENT_SECRET: is required with IMAGE_BUILDER_CLIENT_ID/),
    ]);
    expect(problemsOf({ IMAGE_BUILDER_PASSWORD: 'pw' })).toEqual([
      expect.stringMatching(/^IMAGE_BUILDER_USERNAME: is required/),
    ]);
  });

  it('treats empty variables as unset', () => {
    const config = parseCoreConfig({ ...serviceAccount, IMAGE_BUILDER_OFFLINE_TOKEN: '', IMAGE_BUILDER_URL: ' ' });
    expect(config.imageBuilder.auth.kind).toBe('serviceAccount');
    expect(config.imageBuilder.baseUrl).toBe(DEFAULT_IMAGE_BUILDER_URL);
  });

  it('reports every malformed variable in one message, each by name', () => {
    let message = '';
    try {
      parseCoreConfig({
        IMAGE_BUILDER_URL: 'console.redhat.com',
        IMAGE_BUILDER_PROXY: 'socks5://proxy:1080',
        IMAGE_BUILDER_TIMEOUT_SECONDS: 'soon',
        LOG_LEVEL: 'loud',
        LAUNCH_GCP_ZONE_X86_64: 'us east',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of [
      'IMAGE_BUILDER_URL',
      'IMAGE_BUILDER_PROXY',
      'IMAGE_BUILDER_TIMEOUT_SECONDS',
      'LOG_LEVEL',
      'LAUNCH_GCP_ZONE_X86_64',
      'Image Builder credentials',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('does not echo a secret back in a configuration error', () => {
    const problems = problemsOf({
      IMAGE_BUILDER_CLIENT_SECRET: 'sa-secret-value',
      IMAGE_BUILDER_PROXY: 'http://u:proxy-pass@:x',
    });
    expect(problems.join('\n')).not.toContain('sa-secret-value');
    expect(problems.join('\n')).not.toContain('proxy-pass');
  });

  it('prefers the lower-case proxy variables, as curl does, and keeps IMAGE_BUILDER_PROXY apart', () => {
    const config = parseCoreConfig({
      ...serviceAccount,
      HTTPS_PROXY: 'http://upper:3128',
      https_proxy: 'http://lower:3128',
      NO_PROXY: 'internal.example.com',
      IMAGE_BUILDER_PROXY: 'http://builder-proxy:3128',
    });
    expect(config.network).toEqual({
      httpsProxy: 'http://lower:3128',
      httpProxy: undefined,
      noProxy: 'internal.example.com',
    });
    expect(config.imageBuilder.proxyUrl).toBe('http://builder-proxy:3128');
  });

  it('lists every secret, including proxy passwords, for the logger to redact', () => {
    const config = parseCoreConfig({ ...serviceAccount, IMAGE_BUILDER_PROXY: 'http://ops:pr%40xy-pass@proxy:3128' });
    expect(config.secrets).toEqual(expect.arrayContaining(['sa-secret-value', 'pr%40xy-pass', 'pr@xy-pass']));
  });

  it.each(['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'IMAGE_BUILDER_PROXY'])(
    'names %s when its password has a literal %%, without repeating the password',
    (variable) => {
      const problems = problemsOf({ ...serviceAccount, [variable]: 'http://user:50%off@proxy:3128' });
      expect(problems).toEqual([
        `${variable}: its user name or password has a "%" that is not followed by two hexadecimal digits; write a literal % as %25`,
      ]);
      expect(problems.join('\n')).not.toContain('50%off');
      // Written as the URL syntax wants it, the same password is accepted and redacted in both forms.
      const config = parseCoreConfig({ ...serviceAccount, [variable]: 'http://user:50%25off@proxy:3128' });
      expect(config.secrets).toEqual(expect.arrayContaining(['50%25off', '50%off']));
    },
  );

  it('lets launch defaults be changed per architecture', () => {
    const config = parseCoreConfig({
      ...serviceAccount,
      LAUNCH_AWS_INSTANCE_TYPE_AARCH64: 'm7g.large',
      LAUNCH_GCP_ZONE_X86_64: 'europe-west4-b',
    });
    expect(config.launch.aws.instanceType).toEqual({ x86_64: 't3.micro', aarch64: 'm7g.large' });
    expect(config.launch.gcp.zone.x86_64).toBe('europe-west4-b');
  });
});

describe('the bot configuration', () => {
  const bot = {
    ...serviceAccount,
    SLACK_BOT_TOKEN: 'xoxb-config-test',
    SLACK_SIGNING_SECRET: 'config-test-signing-secret',
  };

  it('counts a PostgreSQL password given as a query parameter among the secrets the logger redacts', () => {
    const config = parseBotConfig({
      ...bot,
      POLICY_FILE: 'open',
      DATABASE_URL: 'postgres://bot@db.example.com/images?password=Qu3ry-pw&sslpassword=Key-pw',
    });
    expect(config.secrets).toEqual(expect.arrayContaining(['Qu3ry-pw', 'Key-pw']));
  });

  function botProblemsOf(env: Record<string, string>): string[] {
    try {
      parseBotConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('refuses to start without POLICY_FILE, saying how to name a file or choose the open policy', () => {
    for (const env of [
      bot,
      { ...bot, POLICY_FILE: ' ' },
      { ...bot, POLICY_FIEL: '/etc/image-builder-bot/policy.yaml' },
    ]) {
      expect(botProblemsOf(env)).toEqual([
        expect.stringMatching(/^POLICY_FILE: is required: set it to your policy file .* or to "open"/),
      ]);
    }
  });

  it('takes POLICY_FILE=open as the open policy and anything else as a file', () => {
    expect(parseBotConfig({ ...bot, POLICY_FILE: 'open' }).policy).toEqual({ kind: 'open' });
    expect(parseBotConfig({ ...bot, POLICY_FILE: './open' }).policy).toEqual({ kind: 'file', file: './open' });
  });

  it('serves health and metrics on loopback port 9090 by default, apart from PORT', () => {
    const config = parseBotConfig({ ...bot, POLICY_FILE: 'open' });
    expect(config.port).toBe(3000);
    expect(config.health).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseBotConfig({ ...bot, POLICY_FILE: 'open', HEALTH_HOST: '0.0.0.0', HEALTH_PORT: '8081' }).health).toEqual(
      { host: '0.0.0.0', port: 8081 },
    );
  });

  it('refuses a HEALTH_PORT that is the PORT of /slack/events, or a HEALTH_HOST that is no address', () => {
    expect(botProblemsOf({ ...bot, POLICY_FILE: 'open', PORT: '9090' })).toEqual([
      'HEALTH_PORT: must differ from PORT (9090), which carries /slack/events in HTTP mode',
    ]);
    expect(botProblemsOf({ ...bot, POLICY_FILE: 'open', HEALTH_HOST: 'http://0.0.0.0' })).toEqual([
      expect.stringMatching(/^HEALTH_HOST: must be an address to listen on/),
    ]);
    // Socket Mode listens on no PORT, so any HEALTH_PORT will do.
    const socket = {
      ...serviceAccount,
      SLACK_BOT_TOKEN: 'xoxb-config-test',
      SLACK_APP_TOKEN: 'xapp-config-test',
      POLICY_FILE: 'open',
    };
    expect(parseBotConfig({ ...socket, PORT: '9090' }).health.port).toBe(9090);
  });

  it('answers /image-builder unless SLACK_COMMAND names another slash command, which it checks as Slack would', () => {
    expect(parseBotConfig({ ...bot, POLICY_FILE: 'open' }).slack.command).toBe('/image-builder');
    expect(parseBotConfig({ ...bot, POLICY_FILE: 'open', SLACK_COMMAND: '/images_2-x' }).slack.command).toBe(
      '/images_2-x',
    );
    for (const bad of ['images', '/Images', '/image builder', '/', `/${'a'.repeat(32)}`]) {
      expect(botProblemsOf({ ...bot, POLICY_FILE: 'open', SLACK_COMMAND: bad })).toEqual([
        expect.stringMatching(/^SLACK_COMMAND: must be a slash command such as \/image-builder/),
      ]);
    }
    expect(
      parseBotConfig({ ...bot, POLICY_FILE: 'open', SLACK_COMMAND: `/${'a'.repeat(31)}` }).slack.command,
    ).toHaveLength(32);
  });
});

describe('retention of finished builds and audit events', () => {
  const bot = {
    ...serviceAccount,
    SLACK_BOT_TOKEN: 'xoxb-retention-test',
    SLACK_APP_TOKEN: 'xapp-retention-test',
    POLICY_FILE: 'open',
  };
  const botProblems = (env: Record<string, string>): string[] => {
    try {
      parseBotConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('keeps everything for ever unless RETENTION_DAYS is set', () => {
    expect(parseBotConfig(bot).retentionMs).toBeUndefined();
    expect(parseBotConfig({ ...bot, RETENTION_DAYS: '' }).retentionMs).toBeUndefined();
    expect(parseBotConfig({ ...bot, RETENTION_DAYS: '90' }).retentionMs).toBe(90 * 24 * 3600_000);
  });

  it('names RETENTION_DAYS when it is not a number of days', () => {
    for (const value of ['0', '-5', 'forever', '100000']) {
      expect(botProblems({ ...bot, RETENTION_DAYS: value })).toEqual([
        expect.stringMatching(/^RETENTION_DAYS: must be .*leave it unset to keep everything/),
      ]);
    }
  });
});

describe('endpoints that are sent credentials', () => {
  const bot = {
    ...serviceAccount,
    SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
    SLACK_SIGNING_SECRET: 'signing-secret-value',
    POLICY_FILE: 'open',
  };
  const variables = ['IMAGE_BUILDER_URL', 'IMAGE_BUILDER_TOKEN_URL', 'SLACK_API_URL'];

  it.each(variables)('refuses %s over plain http to a host elsewhere, naming the variable', (variable) => {
    const problems = problemsOf({ ...bot, [variable]: 'http://sso.example.com/token' }, parseBotConfig);
    expect(problems).toEqual([
      `${variable}: must be an https:// URL (http:// is allowed only for loopback hosts: 127.0.0.0/8, ::1, localhost)`,
    ]);
  });

  it.each(variables)('accepts %s over https, or over plain http to a loopback host', (variable) => {
    for (const url of [
      'https://sso.example.com/token',
      'http://127.0.0.1:8080/x',
      'http://127.10.0.3/x',
      'http://[::1]:8080/x',
      'http://localhost:8080/x',
    ]) {
      expect(() => parseBotConfig({ ...bot, [variable]: url })).not.toThrow();
    }
  });

  it('does not take a host that only looks like loopback for one', () => {
    for (const url of [
      'http://127.0.0.1.example.com/x',
      'http://localhost.example.com/x',
      'http://10.0.0.1/x',
      'http://[::2]/x',
    ]) {
      expect(problemsOf({ ...bot, IMAGE_BUILDER_URL: url }, parseBotConfig)).toEqual([
        expect.stringMatching(/^IMAGE_BUILDER_URL: must be an https:\/\//),
      ]);
    }
  });
});

describe('SLACK_RESPONSE_URL_PREFIXES', () => {
  const bot = {
    ...serviceAccount,
    SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
    SLACK_SIGNING_SECRET: 'signing-secret-value',
    POLICY_FILE: 'open',
  };

  it("admits Slack's commercial response hosts by default", () => {
    expect(parseBotConfig(bot).slack.responseUrlPrefixes).toEqual(['https://hooks.slack.com/']);
  });

  it('takes a comma-separated list, each prefix ending in a slash so that no look-alike host passes', () => {
    const config = parseBotConfig({
      ...bot,
      SLACK_RESPONSE_URL_PREFIXES: 'https://hooks.slack-gov.com, http://127.0.0.1:8080/response-url/',
    });
    expect(config.slack.responseUrlPrefixes).toEqual([
      'https://hooks.slack-gov.com/',
      'http://127.0.0.1:8080/response-url/',
    ]);
  });

  it('refuses plain http to a host elsewhere, or an empty list, naming the variable', () => {
    expect(problemsOf({ ...bot, SLACK_RESPONSE_URL_PREFIXES: 'http://hooks.slack.com/' }, parseBotConfig)).toEqual([
      expect.stringMatching(/^SLACK_RESPONSE_URL_PREFIXES: must be an https:\/\//),
    ]);
    expect(problemsOf({ ...bot, SLACK_RESPONSE_URL_PREFIXES: ' , ' }, parseBotConfig)).toEqual([
      'SLACK_RESPONSE_URL_PREFIXES: must list at least one URL prefix, such as https://hooks.slack.com/',
    ]);
  });
});

describe('registration with Red Hat', () => {
  const registration = { IMAGE_REGISTRATION_ORG_ID: '12345678', IMAGE_REGISTRATION_ACTIVATION_KEY: 'org-act-key-Q1' };

  it('is off unless both variables are set', () => {
    expect(parseCoreConfig(serviceAccount).registration).toBeUndefined();
    expect(parseCoreConfig({ ...serviceAccount, ...registration }).registration).toEqual({
      organization: 12345678,
      activationKey: 'org-act-key-Q1',
    });
  });

  it('counts the activation key among the secrets the logger redacts', () => {
    expect(parseCoreConfig({ ...serviceAccount, ...registration }).secrets).toContain('org-act-key-Q1');
  });

  it('names the missing half, and an organization that is not a number, never repeating the key', () => {
    expect(problemsOf({ ...serviceAccount, IMAGE_REGISTRATION_ACTIVATION_KEY: 'org-act-key-Q1' })).toEqual([
      'IMAGE_REGISTRATION_ORG_ID: is required with IMAGE_REGISTRATION_ACTIVATION_KEY (registration)',
    ]);
    expect(problemsOf({ ...serviceAccount, IMAGE_REGISTRATION_ORG_ID: '12345678' })).toEqual([
      'IMAGE_REGISTRATION_ACTIVATION_KEY: is required with IMAGE_REGISTRATION_ORG_ID (registration)',
    ]);
    const problems = problemsOf({ ...serviceAccount, ...registration, IMAGE_REGISTRATION_ORG_ID: 'acme' });
    expect(problems).toEqual([
      'IMAGE_REGISTRATION_ORG_ID: must be the number of a Red Hat organization, such as 12345678',
    ]);
    expect(problems.join('\n')).not.toContain('org-act-key-Q1');
  });
});
