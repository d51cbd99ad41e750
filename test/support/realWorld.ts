import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageStatusBody } from '../fakes/imageBuilderService';
import type { JsonObject } from '../../src/demo/fakes/blockKit';

/*
 * Real answers of Image Builder (the web console's test fixtures, the service's handler tests), read from
 * ../shared/reference/real-world beside the repository; see its README for each file's source. Where they are absent
 * (a clone without the shared references) the suites that need them report as skipped, saying why, rather than
 * passing without checking anything. They are never copied into the repository.
 */

export const REAL_WORLD_DIR = path.resolve(__dirname, '../../../shared/reference/real-world/image-builder');

const FILES = {
  frontendComposes: 'frontend-composes.json',
  frontendImagesTable: 'frontend-imagestable-composes.json',
  crcHandlerTests: 'crc-handler-test-bodies.json',
} as const;

export const realWorldAvailable = Object.values(FILES).every((file) => existsSync(path.join(REAL_WORLD_DIR, file)));

/**
 * `describe` when the real bodies are there, else `describe.skip` with the reason in its name. Jest still runs a
 * skipped body, so read the bodies in tests or beforeAll.
 */
export function describeWithRealBodies(name: string, body: () => void): void {
  if (realWorldAvailable) describe(name, body);
  else describe.skip(`${name} (skipped: the real Image Builder bodies are not in ${REAL_WORLD_DIR})`, body);
}

/** One `GET /composes/{id}` answer. */
export interface RealComposeStatus {
  image_status: ImageStatusBody;
  request: JsonObject;
}

const cache = new Map<string, unknown>();

function read(file: keyof typeof FILES): unknown {
  const name = FILES[file];
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(path.join(REAL_WORLD_DIR, name), 'utf8')));
  return cache.get(name);
}

/** The console's `mockStatus` body for one of its compose ids (frontend-composes.json, or the images table's copy). */
export function frontendComposeStatus(
  id: string,
  from: 'frontendComposes' | 'frontendImagesTable' = 'frontendComposes',
): RealComposeStatus {
  const statuses = (read(from) as { composeStatus: Record<string, RealComposeStatus> }).composeStatus;
  const status = statuses[id];
  if (!status) throw new Error(`${FILES[from]} has no compose status ${id}`);
  return status;
}

interface HandlerTestBody {
  name: string;
  expectedCode: string;
  body: unknown;
}

/** A body of the service's handler tests by its test name, e.g. 'failed compose with simple error'. */
export function crcHandlerBody(name: string): unknown {
  const found = (read('crcHandlerTests') as { bodies: HandlerTestBody[] }).bodies.find((b) => b.name === name);
  if (!found) throw new Error(`${FILES.crcHandlerTests} has no body named ${name}`);
  return found.body;
}

/** The service's 404 for a compose it does not know (or no longer knows), naming `composeId` as it would. */
export function crcComposeNotFound(composeId: string): unknown {
  const body = crcHandlerBody('404 on non-existent compose in crc');
  return JSON.parse(JSON.stringify(body).replaceAll('00000000-0000-4000-8000-000000000000', composeId)) as unknown;
}
