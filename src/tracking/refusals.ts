import { isImageBuilderError, type ImageBuilderError } from '../imageBuilder';

/*
 * What an error from a submission says about it, for plain builds and blueprint orders alike: whether the service
 * refused it (sending the same again cannot help) and whether it provably never reached the service.
 */

/**
 * The service (or our own schema, before anything was sent) refused the request: a 4xx answer, or our own check.
 * Not a network failure (TLS, say): that may be fixed by whoever runs the bot. Whether something was built before
 * the refusal (`mayHaveBeenSubmitted`) is the caller's to ask.
 */
export function isRefusal(error: unknown): error is ImageBuilderError {
  if (!isImageBuilderError(error) || error.retryable) return false;
  if (error.kind === 'invalid-request') return true;
  return error.status !== undefined && error.status >= 400 && error.status < 500;
}

/**
 * Whether the request provably never reached the service. An answer we could not read (an HTML page instead of
 * the 201, say) may well mean the compose was accepted; anything that is not an ImageBuilderError is unknown.
 */
export function provablyUnsent(error: unknown): boolean {
  return isImageBuilderError(error) && !error.mayHaveBeenSubmitted && error.kind !== 'invalid-response';
}
