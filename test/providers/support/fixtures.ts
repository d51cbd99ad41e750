import type { FinishedCompose } from '../../../src/providers/types';

/** What GET /distributions might offer an account in these tests. */
export const OFFERED_DISTRIBUTIONS = ['rhel-9', 'rhel-10', 'centos-9'] as const;

export const CREATED_AT = new Date('2025-03-01T09:59:58.000Z');
export const SUBMITTED_AT = new Date('2025-03-01T09:59:57.000Z');

/** A finished compose as the poller hands it over; override what a test is about. */
export function finishedCompose(overrides: Partial<FinishedCompose> = {}): FinishedCompose {
  return {
    composeId: '1a2b3c4d-5e6f-4a1b-9c8d-0123456789ab',
    distribution: 'rhel-9',
    architecture: 'x86_64',
    upload: { type: 'aws', options: {} },
    requestUploadOptions: {},
    createdAt: CREATED_AT,
    submittedAt: SUBMITTED_AT,
    ...overrides,
  };
}

/**
 * Values a hostile or broken service could send back, each trying to run `touch` in the current directory. If any
 * of them executes, a file appears; if quoting were wrong, the argv would differ.
 */
export const HOSTILE_VALUES = [
  '$(touch pwned-dollar)',
  '`touch pwned-backtick`',
  'x; touch pwned-semicolon',
  "it's'; touch pwned-quote; echo '",
  'line\ntouch pwned-newline',
  'a && touch pwned-and || touch pwned-or',
  '| touch pwned-pipe',
  '> pwned-redirect',
  '"$(touch pwned-double)"',
  '--dry-run',
  '-o pwned-option',
  '=touch',
  '~root/*',
  '',
  ' leading and trailing ',
  'tab\tand\rreturn',
  'ünïcödé ☃ 🐧',
  "\\'\\\\",
] as const;
