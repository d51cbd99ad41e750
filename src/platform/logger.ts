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

/*
 * Short-lived capabilities that are not known at start, so are found by their shape in the serialised line: a
 * response_url (whoever holds it may post as the bot in that conversation for 30 minutes) and the ticket of a Socket
 * Mode WebSocket URL (whoever holds it receives the app's events). Bolt and the Web API client log them at debug,
 * inside payloads, request bodies (a modal's private_metadata) and apps.connections.open's answer, JSON-escaped to
 * any depth. Each pattern keeps what says what was there, and replaces the part that grants something.
 */
const CAPABILITY_PATTERNS: readonly [RegExp, string][] = [
  // Slack's response hosts (commercial and government cloud), in any field: the path is the capability.
  [/(https(?::|%3A)(?:\\*\/|%2F){2}hooks\.slack(?:-gov)?\.com(?:\\*\/|%2F))[^\s"'\\<>|&]+/gi, `$1${REDACTED}`],
  // The WebSocket URL's ticket, plain or percent-encoded.
  [/(wss?:(?:\\*\/|%2F){2}[^\s"'\\<>]*?(?:[?&]|%3F|%26)ticket(?:=|%3D))[^&\s"'\\<>%]+/gi, `$1${REDACTED}`],
  // A response_url by its name, whatever host it names (a tampered payload, a test's loopback): JSON at any depth of
  // escaping (`"response_url":"…"`, `\"responseUrl\":\"…\"`) and form-encoded bodies (`response_url=…`).
  [/((?:response_url|responseUrl)\\*"\s*:\s*\\*")[^"\\]+/g, `$1${REDACTED}`],
  [/((?:^|[?&\s])response_url=)[^&\s"\\]+/g, `$1${REDACTED}`],
  // Credentials inside a blueprint or a compose request, logged whole or JSON-escaped inside a message: the
  // organisation's activation key registers any machine, and an AAP host config key triggers its callback. Pino's
  // redact paths reach a fixed depth only; these are found by name at any depth and any escaping.
  [/((?:activation[-_]key|activationKey|host_config_key)\\*"\s*:\s*\\*")(?:[^"\\]|\\(?!\\*"))+/gi, `$1${REDACTED}`],
  // A private key pasted where the form asks for a public one: refused on its field, but Socket Mode logs whole
  // payloads at debug. PEM blocks (OpenSSH, PKCS#1 and #8, SSH2), however their newlines are escaped, up to their end
  // or, cut short, to the end of the string; and PuTTY's key files.
  [
    /-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY ?-{4,5}(?:(?!-{4,5} ?END)[^"])*(?:-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY ?-{4,5})?/g,
    REDACTED,
  ],
  [/PuTTY-User-Key-File-\d+:[^"]*/g, REDACTED],
];

/** Replaces response_url values, WebSocket tickets, activation keys and private keys in a serialised log line. */
export function redactCapabilities(line: string): string {
  return CAPABILITY_PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), line);
}

/**
 * Structured JSON logs with secrets removed by configuration rather than by each caller remembering to.
 * Known secret values are also replaced in the serialised line, which catches them inside messages and stacks, and
 * so are the short-lived capabilities above.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const needles = options.secrets
    .filter((s) => s.length >= 4)
    // A secret with quotes or backslashes appears escaped in JSON; look for both forms.
    .flatMap((s) => [s, JSON.stringify(s).slice(1, -1)])
    .sort((a, b) => b.length - a.length);
  const scrub = (line: string) =>
    redactCapabilities(needles.reduce((out, secret) => out.split(secret).join(REDACTED), line));
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
