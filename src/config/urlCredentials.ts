/*
 * The user name and password a URL carries (a proxy's, PostgreSQL's), read one way for every caller. They are
 * percent-encoded in the URL, and undici's proxy agent and pg decode them with decodeURIComponent, which throws
 * "URI malformed" on a `%` not followed by two hexadecimal digits (`http://user:50%off@proxy:3128`). Such a URL is
 * a configuration problem, to be reported naming its variable and never repeating the password.
 */

export interface UrlCredentials {
  /** The password as written in the URL and as decoded: the forms a message might carry, for redaction. */
  secrets: string[];
  /** The user name or password has a `%` that is not an escape, so neither the proxy agent nor pg could read it. */
  malformedEscape: boolean;
}

/** What a configuration message says about a URL with `malformedEscape`, without repeating any of it. */
export const MALFORMED_ESCAPE =
  'its user name or password has a "%" that is not followed by two hexadecimal digits; write a literal % as %25';

const decoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

export function urlCredentials(url: URL): UrlCredentials {
  const password = decoded(url.password);
  const malformedEscape = password === undefined || decoded(url.username) === undefined;
  const secrets = url.password ? [url.password, ...(password ? [password] : [])] : [];
  return { secrets: [...new Set(secrets.filter((s) => s.length > 0))], malformedEscape };
}
