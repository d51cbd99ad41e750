/** Bundles src/index.ts into `outfile`, and its source map beside it (scripts/bundle.cjs). */
export function bundle(options: { outfile: string }): Promise<void>;
/** Why `code` would be held as a two-byte string (a character beyond Latin-1, and where), or undefined. */
export function wideCharacterProblem(code: string, file: string): string | undefined;
/** What the bundled bot warns where it takes a name of undici's that the bundle's undici entry lacks (%s: the name). */
export const UNDICI_FALLBACK_WARNING: string;
