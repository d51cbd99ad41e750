import { distance } from 'fastest-levenshtein';

/*
 * Names near one that was not found ("did you mean"), for blueprints and packages alike. fastest-levenshtein gives
 * the distance; the ranking and the threshold are ours, as no library's "closest" returns several candidates or
 * says when none is close.
 */

const fold = (name: string) => name.trim().toLowerCase();

/** Near enough to suggest: a few typos, more in a long name, or one name inside the other. */
function isNear(query: string, candidate: string, editDistance: number): boolean {
  return (
    editDistance <= Math.max(2, Math.floor(query.length / 3)) ||
    (query.length >= 3 && (candidate.includes(query) || query.includes(candidate)))
  );
}

/** The candidates near `name`, nearest first, case ignored; equally near ones keep the candidates' order. */
export function closeMatches(name: string, candidates: readonly string[], limit: number): string[] {
  const folded = fold(name);
  if (folded === '') return [];
  return candidates
    .map((candidate) => ({ candidate, distance: distance(folded, fold(candidate)) }))
    .filter(({ candidate, distance: d }) => isNear(folded, fold(candidate), d))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}
