/** The origin and path (with its query) of `url`, as undici's `dispatcher.request` takes them. */
export function requestTarget(url: string): { origin: string; path: string } {
  const target = new URL(url);
  return { origin: target.origin, path: `${target.pathname}${target.search}` };
}
