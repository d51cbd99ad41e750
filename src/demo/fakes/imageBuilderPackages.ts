import { answer, errorAnswer, listLinks, pageOf, ServiceAnswer } from './imageBuilderAnswers';
import type { Catalog } from './imageBuilderCatalog';

/*
 * GET /packages as the service answers it: distribution, architecture and search required (400 otherwise, as its
 * request validation sends), a distribution the account may not build refused 403, and the packages whose name
 * contains the search, in the list's order, one page of them with the count of all.
 */

const ARCHITECTURES = new Set(['x86_64', 'aarch64']);

export function searchPackages(catalog: Catalog, query: Record<string, string>): ServiceAnswer {
  const { distribution, architecture, search } = query;
  for (const [name, value] of Object.entries({ distribution, architecture, search })) {
    if (value === undefined) return errorAnswer(400, `parameter "${name}" in query has an error: value is required`);
  }
  if (!ARCHITECTURES.has(architecture!)) {
    return errorAnswer(400, 'parameter "architecture" in query has an error: value is not one of the allowed values');
  }
  if (!catalog.allows(distribution!)) return errorAnswer(403, `distribution ${distribution} not allowed`);
  const page = pageOf(query);
  if (page instanceof ServiceAnswer) return page;
  const found = catalog.packagesOf(distribution!).filter((p) => p.name.includes(search!));
  const params = { distribution: distribution!, architecture: architecture!, search: search! };
  return answer(200, {
    meta: { count: found.length },
    links: listLinks('packages', found.length, page.limit, params),
    data: found.slice(page.offset, page.offset + page.limit),
  });
}
