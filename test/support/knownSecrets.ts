/*
 * One known, distinctive value for every secret the bot can be configured with. Every app the suite starts (the e2e
 * harness, the fault tests, the spawned bot of the crash and startup tests, the CLI tests through the fakes' default
 * credentials) carries these, so the secret sentinel (./secretSentinel.ts) can look for them in everything the app
 * writes or sends, in every test.
 *
 * The values are valid for their variables (xoxb-/xapp- prefixes, the signing secret's length) and carry characters
 * that change when URL-, form- or base64-encoded (`+ / = @ :` and spaces), so a secret leaking in an encoded form is
 * still recognised. None of them contains quotes or backslashes, so a JSON-escaped copy reads as the value itself.
 */

export const KNOWN_SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-7461030001-7461030002-KnownBotTokenQx7Sentinel',
  SLACK_APP_TOKEN: 'xapp-1-A0746103001-7461030003-KnownAppTokenWv4Sentinel',
  SLACK_SIGNING_SECRET: 'known+signing/secret=Hj2Sentinel',
  IMAGE_BUILDER_CLIENT_SECRET: 'Known+Client/Secret=Zc5Sentinel',
  /** A service-account secret Image Builder refuses: a mistyped secret is still a secret. */
  IMAGE_BUILDER_CLIENT_SECRET_REFUSED: 'Refused+Client/Secret=Bf1Sentinel',
  /** Shaped as Red Hat's offline tokens are (a JWT), so it passes through a form body unencoded. */
  IMAGE_BUILDER_OFFLINE_TOKEN: 'eyJhbGciOiJub25lIn0.KnownOfflineTokenMp8Sentinel.c2lnbmF0dXJlLWtub3du',
  IMAGE_BUILDER_PASSWORD: 'Known ib p@ss:Rt6Sentinel',
  /** The password inside HTTPS_PROXY (and IMAGE_BUILDER_PROXY where a test uses a proxy). */
  HTTPS_PROXY_PASSWORD: 'Known pr0xy@pass/Ls3Sentinel',
  /** The password inside a postgres:// DATABASE_URL. */
  DATABASE_URL_PASSWORD: 'Known db@pass/Nd9Sentinel',
  /** The organization's activation key, which POST /compose carries in customizations.subscription and only there. */
  IMAGE_REGISTRATION_ACTIVATION_KEY: 'Known+Activation/Key=Ak4Sentinel',
} as const;

export type KnownSecretName = keyof typeof KNOWN_SECRETS;

/** Which variable carries each secret, for messages (a message names the variable, never the value). */
export const SECRET_VARIABLES: Record<KnownSecretName, string> = {
  SLACK_BOT_TOKEN: 'SLACK_BOT_TOKEN',
  SLACK_APP_TOKEN: 'SLACK_APP_TOKEN',
  SLACK_SIGNING_SECRET: 'SLACK_SIGNING_SECRET',
  IMAGE_BUILDER_CLIENT_SECRET: 'IMAGE_BUILDER_CLIENT_SECRET',
  IMAGE_BUILDER_CLIENT_SECRET_REFUSED: 'IMAGE_BUILDER_CLIENT_SECRET (a refused one)',
  IMAGE_BUILDER_OFFLINE_TOKEN: 'IMAGE_BUILDER_OFFLINE_TOKEN',
  IMAGE_BUILDER_PASSWORD: 'IMAGE_BUILDER_PASSWORD',
  HTTPS_PROXY_PASSWORD: 'the password in HTTPS_PROXY',
  DATABASE_URL_PASSWORD: 'the password in DATABASE_URL',
  IMAGE_REGISTRATION_ACTIVATION_KEY: 'IMAGE_REGISTRATION_ACTIVATION_KEY',
};

/** User names are not secret, but `user:password` travels base64-encoded in Basic credentials. */
export const KNOWN_USERNAMES = {
  IMAGE_BUILDER_USERNAME: 'known-ib-user',
  HTTPS_PROXY_USER: 'known-proxy-user',
  DATABASE_URL_USER: 'postgres',
} as const;

/** `user:password@` as a URL carries it (percent-encoded where the URL standard requires). */
export function urlWithCredentials(url: string, username: string, password: string): string {
  const withCredentials = new URL(url);
  withCredentials.username = username;
  withCredentials.password = password;
  const text = withCredentials.toString();
  // URL adds a path of "/" to a bare origin; keep the URL as it was written.
  return !url.endsWith('/') && text.endsWith('/') ? text.slice(0, -1) : text;
}

/**
 * HTTPS_PROXY with the known credentials. Port 9 on loopback refuses connections: the fakes are all plain http, so
 * nothing is sent through it; the bot only has to carry (and never repeat) the credentials.
 */
export const KNOWN_HTTPS_PROXY = urlWithCredentials(
  'http://127.0.0.1:9',
  KNOWN_USERNAMES.HTTPS_PROXY_USER,
  KNOWN_SECRETS.HTTPS_PROXY_PASSWORD,
);

/** Basic credentials for the fake Image Builder and IMAGE_BUILDER_USERNAME / IMAGE_BUILDER_PASSWORD. */
export const KNOWN_BASIC_CREDENTIALS = {
  username: KNOWN_USERNAMES.IMAGE_BUILDER_USERNAME,
  password: KNOWN_SECRETS.IMAGE_BUILDER_PASSWORD,
} as const;

/**
 * The secret-bearing variables of an app started in HTTP mode with a service account; callers add the URLs of their
 * fakes. (SLACK_APP_TOKEN would switch to Socket Mode, and only one Image Builder credential may be set.)
 */
export const KNOWN_SECRET_ENV = {
  SLACK_BOT_TOKEN: KNOWN_SECRETS.SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET: KNOWN_SECRETS.SLACK_SIGNING_SECRET,
  HTTPS_PROXY: KNOWN_HTTPS_PROXY,
} as const;
