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
