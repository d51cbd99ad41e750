/*
 * The one place where an Image Builder error kind becomes a sentence for a person in Slack. The service's own
 * words (quota, distribution not allowed, validation detail) are shown verbatim beside it, never rephrased.
 */

const SENTENCES: Readonly<Record<string, string>> = {
  validation: 'Image Builder rejected the request as invalid.',
  forbidden:
    'Image Builder refused to build this for our organisation: the build quota is used up or this distribution is not allowed for the account.',
  unauthorized: 'Image Builder did not accept the bot’s credentials; an admin needs to renew them.',
  'proxy-auth-required': 'The HTTP proxy in front of Image Builder refused the bot’s proxy credentials.',
  'unsupported-media-type': 'Image Builder could not read the request the bot sent (415); this is a bug in the bot.',
  'not-found': 'Image Builder does not know that.',
  'rate-limited': 'Image Builder asked the bot to slow down; try again in a minute.',
  unavailable: 'Image Builder is unavailable right now; try again in a few minutes.',
  'invalid-response': 'Image Builder sent an answer the bot could not read.',
  'invalid-request': 'The bot refused to send a request Image Builder would reject; this is a bug in the bot.',
};

/** The sentence for an error kind; any other word (a stored refusal is read back from the database) gets the general one. */
export function errorSentence(kind: string): string {
  return Object.hasOwn(SENTENCES, kind) ? SENTENCES[kind]! : 'Image Builder could not do this.';
}
