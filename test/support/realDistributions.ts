import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * What the real service answers about distributions, architectures and its enums, read from
 * ../shared/reference/real-world/image-builder beside the repository (its README names each file's source). They are
 * never copied into the repository; where they are absent, the suites that need them are skipped and say so.
 */

const DIR = path.resolve(__dirname, '../../../shared/reference/real-world/image-builder');
const DISTRIBUTIONS_FILE = path.join(DIR, 'crc-distributions-derived.json');
const ENUMS_FILE = path.join(DIR, 'crc-api-enums.json');

export const realDistributionsAvailable = existsSync(DISTRIBUTIONS_FILE) && existsSync(ENUMS_FILE);

/** `describe` when the files are there, else `describe.skip` with the reason in its name. Read them inside tests. */
export function describeWithRealDistributions(name: string, body: () => void): void {
  if (realDistributionsAvailable) describe(name, body);
  else describe.skip(`${name} (skipped: the real distribution answers are not in ${DIR})`, body);
}

export interface RealDistributionItem {
  name: string;
  description: string;
}

export interface RealArchitectureItem {
  arch: string;
  /** null where the service’s Go slice was nil (hummingbird: image mode only). */
  image_types: string[] | null;
  repositories: unknown[];
}

export interface RealDistributionAnswers {
  /** GET /distributions for an organisation without restrictions (the service's order is Go map order; sorted here). */
  distributions: RealDistributionItem[];
  /** GET /architectures/{distribution}, by distribution. */
  architectures: Record<string, RealArchitectureItem[]>;
}

export function realDistributionAnswers(): RealDistributionAnswers {
  const derived = JSON.parse(readFileSync(DISTRIBUTIONS_FILE, 'utf8')) as {
    distributionsResponseUnrestricted: RealDistributionItem[];
    architecturesResponse: Record<string, RealArchitectureItem[]>;
  };
  return { distributions: derived.distributionsResponseUnrestricted, architectures: derived.architecturesResponse };
}

/** The spec's enums as the service's api.yaml has them. */
export function realApiEnums(): { UploadTypes: string[]; ImageTypes: string[]; Distributions: string[] } {
  return JSON.parse(readFileSync(ENUMS_FILE, 'utf8')) as {
    UploadTypes: string[];
    ImageTypes: string[];
    Distributions: string[];
  };
}
