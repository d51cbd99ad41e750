import { generateKeyPairSync } from 'node:crypto';

/*
 * Real SSH public keys for tests, made with node:crypto and written in OpenSSH's wire format (RFC 4253 §6.6,
 * RFC 5656 §3.1), so the checks parse genuine keys of each type and size rather than fixed strings.
 */

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** A positive mpint: a leading zero byte when the top bit is set. */
function mpint(bytes: Buffer): Buffer {
  return sshString(bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

const fromJwk = (value: string | undefined) => Buffer.from(value ?? '', 'base64url');

export function sshLine(type: string, fields: readonly Buffer[], comment = 'someone@laptop'): string {
  const blob = Buffer.concat([sshString(Buffer.from(type)), ...fields]);
  return `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

export function ed25519Key(comment?: string): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return sshLine('ssh-ed25519', [sshString(fromJwk(jwk.x))], comment);
}

export function rsaKey(bits: number, comment?: string): string {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  return sshLine('ssh-rsa', [mpint(fromJwk(jwk.e)), mpint(fromJwk(jwk.n))], comment);
}

export function ecdsaKey(curve: 'nistp256' | 'nistp384' | 'nistp521', comment?: string): string {
  const named = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' }[curve];
  const jwk = generateKeyPairSync('ec', { namedCurve: named }).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), fromJwk(jwk.x), fromJwk(jwk.y)]);
  return sshLine(`ecdsa-sha2-${curve}`, [sshString(Buffer.from(curve)), sshString(point)], comment);
}

/** What someone pastes by mistake: the private half, in OpenSSH's own format or PEM. */
export function privateKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
