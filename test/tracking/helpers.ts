import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { BuildRequestStore, NewBuildRequest } from '../../src/store/store';

/**
 * A fresh temporary folder per test, and every store a test opened closed after it, so tests share no file and
 * can run in parallel.
 */
export function useTempFolder() {
  let folder = '';
  const stores: BuildRequestStore[] = [];
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'build-request-store-'));
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    fs.rmSync(folder, { recursive: true, force: true });
  });
  return {
    /** A path inside this test's folder. */
    file: (...parts: string[]) => path.join(folder, ...(parts.length > 0 ? parts : ['bot.sqlite'])),
    folder: () => folder,
    /** Closes the store after the test, whatever happens in it. */
    closeLater: <T extends BuildRequestStore>(store: T): T => {
      stores.push(store);
      return store;
    },
  };
}

export function newRequest(overrides: Partial<NewBuildRequest> = {}): NewBuildRequest {
  return {
    id: randomUUID(),
    idempotencyKey: `V${randomUUID().slice(0, 8).toUpperCase()}`,
    requesterId: 'U012ALICE',
    channelId: 'C012BUILDS',
    responseUrl: 'https://hooks.slack.com/actions/T0/1/abc',
    provider: 'aws',
    distribution: 'rhel-9',
    architecture: 'x86_64',
    imageName: 'web-base',
    shareSummary: 'AWS accounts 123456789012',
    composeRequest: JSON.stringify({ distribution: 'rhel-9', image_name: 'web-base' }),
    createdAt: new Date('2025-03-01T10:00:00.123Z'),
    orderId: null,
    orderIndex: null,
    blueprint: null,
    ...overrides,
  };
}
