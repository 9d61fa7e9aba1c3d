/**
 * The file a `sqlite:` URL names: `sqlite:./data/app.db` (relative to the working directory),
 * `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, or `sqlite::memory:`. A query string is
 * ignored; the path is taken literally (no percent-decoding).
 */
export function parseSqliteUrl(url: string): string {
  const match = /^sqlite:(.*)$/i.exec(url);
  if (!match) throw new Error('A SQLite URL starts with "sqlite:", e.g. sqlite:./data/app.db');
  let path = (match[1] ?? '').replace(/[?#].*$/, '');
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '')
    throw new Error('The SQLite URL names no file: use sqlite:./data/app.db or sqlite::memory:');
  return path;
}
