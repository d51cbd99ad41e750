/** Bundles src/index.ts into `outfile`, and its source map beside it (scripts/bundle.cjs). */
export function bundle(options: { outfile: string }): void;
