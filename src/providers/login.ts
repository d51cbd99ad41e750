import { readSingle, type Read } from './common';
import type { FieldSpec, RawValues, Validation } from './types';

/*
 * Login access on first boot: an optional SSH public key and user name, sent as `customizations.users` with the
 * `wheel` group. The key is checked by parsing its base64 blob (type and RSA modulus size), not by its prefix alone;
 * a pasted private key is refused on its field and never becomes part of an order, so it is neither sent, stored,
 * remembered nor logged.
 */

export const LOGIN_FIELD_IDS = { sshKey: 'ssh_public_key', userName: 'login_user' } as const;

export interface Login {
  /** A valid Linux user name, never root. */
  userName: string;
  /** One line: `<type> <base64>[ <comment>]`. */
  sshKey: string;
}

/** The user `customizations.users` carries: the key and sudo through `wheel`. */
export interface ComposeLoginUser {
  name: string;
  ssh_key: string;
  groups: string[];
}

const KEY_TEXT_MAX = 3000;
const RSA_MIN_BITS = 2048;
const ECDSA_CURVES: Readonly<Record<string, string>> = {
  'ecdsa-sha2-nistp256': 'nistp256',
  'ecdsa-sha2-nistp384': 'nistp384',
  'ecdsa-sha2-nistp521': 'nistp521',
};
const KEY_TYPES = ['ssh-ed25519', ...Object.keys(ECDSA_CURVES), 'ssh-rsa'];
const KEY_TYPES_IN_WORDS = 'ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (2048 bits or more)';

// useradd's portable rule (shadow-utils NAME_REGEX), within the 32 characters utmp keeps.
export const LINUX_USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const FALLBACK_USER_NAME = 'cloud-user';

export function loginFields(): FieldSpec[] {
  return [
    {
      id: LOGIN_FIELD_IDS.sshKey,
      label: 'SSH public key (optional)',
      hint: `To log in at first boot: one line starting with ${KEY_TYPES_IN_WORDS}. Never a private key.`,
      placeholder: 'ssh-ed25519 AAAAC3Nza… you@laptop',
      kind: 'text',
      required: false,
      cli: { flag: 'ssh-key', description: 'SSH public key (one line) of the user created in the image' },
    },
    {
      id: LOGIN_FIELD_IDS.userName,
      label: 'User name (optional)',
      hint: 'The user the key logs in as, in the wheel group. Default: your Slack name as a Linux user name.',
      placeholder: 'jdoe',
      kind: 'text',
      required: false,
      cli: { flag: 'user', description: 'name of the user created in the image (with --ssh-key)' },
    },
  ];
}

/** No key and no name: no login. A name without a key is refused: the image would have a user nobody can log in as. */
export function validateLogin(raw: RawValues, defaultUserName: string | undefined): Validation<Login | undefined> {
  const key = readSshPublicKey(raw);
  const name = readUserName(raw);
  const errors: Record<string, string> = {};
  if (!key.ok) errors[LOGIN_FIELD_IDS.sshKey] = key.error;
  if (!name.ok) errors[LOGIN_FIELD_IDS.userName] = name.error;
  if (!key.ok || !name.ok) return { ok: false, errors };
  if (key.value === undefined) {
    if (name.value === undefined) return { ok: true, value: undefined };
    return {
      ok: false,
      errors: { [LOGIN_FIELD_IDS.sshKey]: 'Give the SSH public key this user logs in with, or leave the name empty.' },
    };
  }
  return { ok: true, value: { sshKey: key.value, userName: name.value ?? linuxUserNameOf(defaultUserName) } };
}

function readUserName(raw: RawValues): Read<string | undefined> {
  const read = readSingle(raw, LOGIN_FIELD_IDS.userName);
  if (!read.ok || read.value === undefined) return read;
  if (read.value === 'root') {
    return { ok: false, error: 'Logging in as root is not offered; choose another name (it gets sudo via wheel).' };
  }
  if (!LINUX_USER_NAME.test(read.value)) {
    return {
      ok: false,
      error: 'A user name is up to 32 lower-case letters, digits, _ and -, starting with a letter or _ (e.g. jdoe).',
    };
  }
  return read;
}

/** A Slack name ("Jane.Doe", "José Ortiz") as a Linux user name ("jane_doe", "jose_ortiz"); never root. */
export function linuxUserNameOf(slackName: string | undefined): string {
  const name = (slackName ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[-_]+|[-_]+$/g, '');
  const started = /^[0-9]/.test(name) ? `u${name}` : name;
  const fitted = started.slice(0, 32).replace(/[-_]+$/, '');
  return fitted === '' || fitted === 'root' || !LINUX_USER_NAME.test(fitted) ? FALLBACK_USER_NAME : fitted;
}

const PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File-|openssh-key-v1|^-----BEGIN SSH2 ENCRYPTED/m;
const PRIVATE_KEY_WARNING =
  'This is a PRIVATE key: it was not sent or kept. Paste the public key (the .pub file) instead — and treat this ' +
  'private key as exposed, since it was pasted into Slack.';

export function readSshPublicKey(raw: RawValues): Read<string | undefined> {
  const read = readSingle(raw, LOGIN_FIELD_IDS.sshKey);
  if (!read.ok || read.value === undefined) return read;
  return checkSshPublicKey(read.value);
}

/** The key as one normalised line, or why it will not do. */
export function checkSshPublicKey(text: string): Read<string> {
  if (PRIVATE_KEY.test(text)) return { ok: false, error: PRIVATE_KEY_WARNING };
  if (text.length > KEY_TEXT_MAX)
    return { ok: false, error: `An SSH public key is at most ${KEY_TEXT_MAX} characters.` };
  if (/[\r\n]/.test(text.trim())) return { ok: false, error: 'Paste the public key as one line.' };
  if (/\p{Cc}/u.test(text.trim().replace(/\t/g, ' '))) {
    return { ok: false, error: 'The key cannot contain control characters.' };
  }
  const [type = '', blob = '', ...comment] = text.trim().split(/[ \t]+/);
  if (!KEY_TYPES.includes(type)) {
    const optionsFirst = KEY_TYPES.some((known) => text.includes(` ${known} `));
    return {
      ok: false,
      error: optionsFirst
        ? 'Remove the options before the key type: the line must start with the key type.'
        : `An SSH public key starts with ${KEY_TYPES_IN_WORDS}.`,
    };
  }
  const problem = blobProblem(type, blob);
  if (problem) return { ok: false, error: problem };
  return { ok: true, value: [type, blob, ...comment].join(' ') };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What is wrong with the key's base64 part for its type, or undefined. */
function blobProblem(type: string, blob: string): string | undefined {
  const broken = 'The key is incomplete or damaged; copy the whole line of the .pub file again.';
  if (!BASE64.test(blob) || blob.length % 4 !== 0) return broken;
  const fields = sshStrings(Buffer.from(blob, 'base64'));
  if (!fields || fields[0]?.toString('latin1') !== type) return broken;
  if (type === 'ssh-ed25519') return fields.length === 2 && fields[1]!.length === 32 ? undefined : broken;
  if (type === 'ssh-rsa') {
    if (fields.length !== 3) return broken;
    const bits = mpintBits(fields[2]!);
    return bits >= RSA_MIN_BITS
      ? undefined
      : `This RSA key has ${bits} bits; use one of ${RSA_MIN_BITS} bits or more, or an ssh-ed25519 key.`;
  }
  const curve = fields[1]?.toString('latin1');
  return fields.length === 3 && curve === ECDSA_CURVES[type] && fields[2]![0] === 0x04 ? undefined : broken;
}

/** The wire format's length-prefixed strings (RFC 4251), or undefined when they do not fill the blob exactly. */
function sshStrings(data: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length || out.length > 4) return undefined;
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) return undefined;
    out.push(data.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** Significant bits of a positive mpint (big-endian, maybe a leading zero byte). */
function mpintBits(mpint: Buffer): number {
  let start = 0;
  while (start < mpint.length && mpint[start] === 0) start += 1;
  if (start === mpint.length) return 0;
  return (mpint.length - start - 1) * 8 + (32 - Math.clz32(mpint[start]!));
}

/** `customizations.users` for a login, or nothing. */
export function loginCustomizations(login: Login | undefined): { users?: ComposeLoginUser[] } {
  if (!login) return {};
  return { users: [{ name: login.userName, ssh_key: login.sshKey, groups: ['wheel'] }] };
}

/** The form's login values from a stored request's customizations (Rebuild); lenient, the form checks again. */
export function loginFormValues(customizations: unknown): Record<string, string> {
  const user = firstUser(customizations);
  if (!user || typeof user.ssh_key !== 'string' || typeof user.name !== 'string') return {};
  return { [LOGIN_FIELD_IDS.sshKey]: user.ssh_key, [LOGIN_FIELD_IDS.userName]: user.name };
}

/** The user a finished image lets in, when the request names a valid one (it may come from the service). */
export function loginUserOf(customizations: unknown): string | undefined {
  const name = firstUser(customizations)?.name;
  return typeof name === 'string' && LINUX_USER_NAME.test(name) && name !== 'root' ? name : undefined;
}

function firstUser(customizations: unknown): Record<string, unknown> | undefined {
  if (typeof customizations !== 'object' || customizations === null) return undefined;
  const users: unknown = (customizations as Record<string, unknown>).users;
  const first: unknown = Array.isArray(users) ? users[0] : undefined;
  return typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : undefined;
}
