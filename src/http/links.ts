import type { ListQuery } from '../users/list-query.ts';

/**
 * RFC 8288 `Link` header with `next`/`prev` for a list page, keeping every other parameter of
 * the request as it was.
 */
export function listLinks(url: string, query: ListQuery, total: number): string | undefined {
  const [path = '/', search = ''] = url.split('?', 2);
  const links: string[] = [];
  const at = (skip: number, rel: string) => {
    const params = new URLSearchParams(search);
    params.set('skip', String(skip));
    params.set('limit', String(query.limit));
    links.push(`<${path}?${params.toString()}>; rel="${rel}"`);
  };
  if (query.limit > 0 && query.skip + query.limit < total) at(query.skip + query.limit, 'next');
  if (query.skip > 0 && query.limit > 0) at(Math.max(0, query.skip - query.limit), 'prev');
  return links.length > 0 ? links.join(', ') : undefined;
}
