import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Values that must never appear in a log line, wherever they turn up (messages, errors, URLs, headers). */
  secrets: readonly string[];
  /** Where lines go; standard error by default, so the CLI's standard output stays clean for `--json`. */
  destination?: { write(line: string): unknown };
}

const REDACTED = '[REDACTED]';

/** Field names that carry credentials in any library's objects; censored before they are even serialised. */
const SENSITIVE_PATHS = [
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers["proxy-authorization"]',
  '*.password',
  '*.clientSecret',
  '*.client_secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.offlineToken',
];

/**
 * Structured JSON logs with secrets removed by configuration rather than by each caller remembering to.
 * Known secret values are also replaced in the serialised line, which catches them inside messages and stacks.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const needles = options.secrets
    .filter((s) => s.length >= 4)
    // A secret with quotes or backslashes appears escaped in JSON; look for both forms.
    .flatMap((s) => [s, JSON.stringify(s).slice(1, -1)])
    .sort((a, b) => b.length - a.length);
  const scrub = (line: string) => needles.reduce((out, secret) => out.split(secret).join(REDACTED), line);
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SENSITIVE_PATHS, censor: REDACTED },
    },
    { write: (line: string) => destination.write(scrub(line)) },
  );
}

/** For tests and tools that want no output. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
