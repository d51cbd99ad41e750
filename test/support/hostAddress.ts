import { networkInterfaces } from 'node:os';

/**
 * This host's own non-loopback IPv4 address, if it has one: what another machine on its network would connect to,
 * yet a connection to it never leaves the host. Tests that need it skip without it.
 */
export const hostAddress: string | undefined = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && !address.internal && address.family === 'IPv4')?.address;

/** `it` when the host has such an address, else `it.skip` saying so in its name. */
export function itWithHostAddress(name: string, test: jest.ProvidesCallback, timeoutMs?: number): void {
  if (hostAddress) it(name, test, timeoutMs);
  else it.skip(`${name} (skipped: this host has no non-loopback IPv4 address to connect to)`, test, timeoutMs);
}
