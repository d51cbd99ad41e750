import { createLogger } from '../../src/platform/logger';
import { blueprintDetail } from '../imageBuilder/blueprintBodies';

/* The organisation's activation key never reaches a log line, wherever a blueprint's details turn up in one. */

const ACTIVATION_KEY = 'golden-images-4f9c2e';

function linesOf(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  write(createLogger({ level: 'debug', secrets: [], destination: { write: (line) => lines.push(line) } }));
  return lines.join('');
}

describe('activation keys in log lines', () => {
  const blueprint = blueprintDetail();
  blueprint.customizations.subscription['activation-key'] = ACTIVATION_KEY;

  it('are replaced at any depth of an object, however the field is spelt', () => {
    const text = linesOf((logger) => {
      logger.info({ blueprint }, 'a blueprint');
      logger.info({ list: [{ deep: { blueprints: [blueprint] } }] }, 'a list of them');
      logger.info(
        { request: { subscription: { activation_key: ACTIVATION_KEY, activationKey: ACTIVATION_KEY } } },
        'x',
      );
    });
    expect(text).not.toContain(ACTIVATION_KEY);
    expect(text).toContain('"activation-key":"[REDACTED]"');
    expect(text).toContain('"activation_key":"[REDACTED]"');
    // The rest of the registration stays readable.
    expect(text).toContain('"organization":2040324');
  });

  it('are replaced inside messages and errors that carry the JSON as text, escaped once or twice', () => {
    const once = JSON.stringify(blueprint);
    const text = linesOf((logger) => {
      logger.warn(`answer: ${once}`);
      logger.warn({ err: new Error(`body ${JSON.stringify({ body: once })}`) }, 'failed');
    });
    expect(text).not.toContain(ACTIVATION_KEY);
    expect(text).toContain('[REDACTED]');
  });
});

describe('private keys in log lines', () => {
  // Stand-ins shaped like real keys: what matters is that no line of their body survives.
  const BODY = [
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    'QyNTUxOQAAACBnZXJtYW5pdW0tZmFrZS1rZXktZm9yLXRlc3Rz',
  ];
  const pem = (kind: string, newline = '\n') =>
    [`-----BEGIN ${kind}PRIVATE KEY-----`, ...BODY, `-----END ${kind}PRIVATE KEY-----`, ''].join(newline);
  const putty = [
    'PuTTY-User-Key-File-3: ssh-ed25519',
    'Encryption: none',
    'Public-Lines: 1',
    BODY[0],
    'Private-Lines: 1',
    BODY[1],
    'Private-MAC: 0a1b2c',
  ].join('\n');

  it('are replaced in a payload Socket Mode logs as text, as typed in any of the usual formats', () => {
    const typed = [pem('OPENSSH '), pem('RSA '), pem(''), pem('ENCRYPTED '), putty, pem('EC ').slice(0, 120)];
    const text = linesOf((logger) => {
      for (const value of typed) {
        const payload = { view: { state: { values: { ssh_public_key: { value: { value } } } } } };
        logger.debug(`Received a message on the WebSocket: ${JSON.stringify({ payload })}`);
        logger.debug({ payload }, 'as an object');
      }
    });
    for (const line of BODY) expect(text).not.toContain(line.slice(0, 30));
    expect(text).toContain('"value":"[REDACTED]"');
    expect(text).not.toContain('Private-Lines');
  });

  it('leave public keys as they are', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0bNqkGeDUFJn6kB2Cq6o5bO8Yc1dPZk5PzPK2Iwn4 admin@example.com';
    expect(linesOf((logger) => logger.info({ key }, 'a public key'))).toContain(key);
  });
});
