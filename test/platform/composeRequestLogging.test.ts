import { createLogger } from '../../src/platform/logger';

/*
 * Credentials a compose request carries, kept out of log lines by the logger's configuration: a compose request is
 * logged as an object at any depth, or as the JSON body that was sent (escaped once more inside a message).
 */

const ACTIVATION_KEY = 'golden-images-7f3a';
const HOST_CONFIG_KEY = '44d7507f2ead49af5fca80aa18fd24bc';

function capture() {
  const lines: string[] = [];
  // No secrets are configured: the key comes from a blueprint, which the bot does not know at start.
  const logger = createLogger({ level: 'debug', secrets: [], destination: { write: (line) => lines.push(line) } });
  return { logger, lines };
}

const composeRequest = {
  distribution: 'rhel-9',
  customizations: {
    subscription: { organization: 2040324, 'activation-key': ACTIVATION_KEY, insights: true },
    aap_registration: { ansible_callback_url: 'https://aap.example.com/cb/', host_config_key: HOST_CONFIG_KEY },
  },
};

describe('credentials inside a logged compose request', () => {
  it('never writes the activation key or the AAP host config key, at any depth', () => {
    const { logger, lines } = capture();
    logger.debug({ order: { request: composeRequest } }, 'sending');
    logger.debug({ activation_key: ACTIVATION_KEY, nested: { deeper: { activationKey: ACTIVATION_KEY } } }, 'x');

    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(ACTIVATION_KEY);
      expect(line).not.toContain(HOST_CONFIG_KEY);
    }
    // The line still says what was there, and keeps what is not secret.
    const logged = JSON.parse(lines[0]!) as { order: { request: typeof composeRequest } };
    expect(logged.order.request.customizations.subscription).toEqual({
      organization: 2040324,
      'activation-key': '[REDACTED]',
      insights: true,
    });
    expect(logged.order.request.customizations.aap_registration.ansible_callback_url).toBe(
      'https://aap.example.com/cb/',
    );
  });

  it('never writes them from the JSON body sent, nor from that body quoted in a message', () => {
    const { logger, lines } = capture();
    const body = JSON.stringify(composeRequest);
    logger.debug({ body }, 'POST /compose');
    logger.debug(`request body: ${JSON.stringify({ body })}`);

    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(ACTIVATION_KEY);
      expect(line).not.toContain(HOST_CONFIG_KEY);
      expect(line).toContain('[REDACTED]');
    }
  });
});
