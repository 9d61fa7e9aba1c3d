/** The `user` API as the page uses it; the contract is /work/shared/docs/api.md and /openapi.json. */

export interface User {
  name: string;
  email?: string;
  createdAt: string;
  updatedAt: string;
  id: string;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem document, as every error of the service is. */
export interface Problem {
  status: number;
  title: string;
  detail: string;
  code: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.problem = problem;
  }
}

export type SortField = 'name' | 'email' | 'createdAt';
export interface ListQuery {
  search: string;
  sort: { field: SortField; direction: 'ASC' | 'DESC' };
  limit: number;
  skip: number;
}
export interface Page {
  users: User[];
  total: number;
  /** `skip` of the neighbouring pages, read from the `Link` header (RFC 8288). */
  next: number | undefined;
  prev: number | undefined;
}

export interface Version {
  version: string;
  commit?: string | null;
  store: string;
}
export type Readiness = { ready: true } | { ready: false; reason: string };

/** Asks the person for a token; undefined when they decline. */
export type TokenPrompt = (refused: boolean) => Promise<string | undefined>;

// Per tab, gone when the tab closes: never localStorage or a cookie, where a token outlives the tab.
const TOKEN_KEY = '12factor-app.token';
export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** Search by name or e-mail as one `where`, so the store filters (never the page). */
export function whereOf(search: string): string | undefined {
  const text = search.trim();
  if (text === '') return undefined;
  return JSON.stringify({ or: [{ name: { contains: text } }, { email: { contains: text } }] });
}

function skipOf(link: string | null, rel: string): number | undefined {
  for (const part of (link ?? '').split(',')) {
    const match = /<([^>]*)>\s*;\s*rel="?([^";]+)"?/.exec(part);
    if (match?.[2] === rel && match[1] !== undefined) {
      const skip = Number(new URL(match[1], location.origin).searchParams.get('skip'));
      if (Number.isInteger(skip) && skip >= 0) return skip;
    }
  }
  return undefined;
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Partial<Problem>;
    return {
      status: body.status ?? response.status,
      title: body.title ?? response.statusText,
      detail: body.detail ?? '',
      code: body.code ?? 'UNKNOWN',
      ...(Array.isArray(body.errors) && { errors: body.errors }),
    };
  } catch {
    return { status: response.status, title: response.statusText, detail: '', code: 'UNKNOWN' };
  }
}

export function createApi(askToken: TokenPrompt) {
  let prompt: Promise<string | undefined> | undefined;
  // Requests that meet a 401 together share one question.
  const tokenAfter401 = (refused: boolean) => {
    prompt ??= askToken(refused).finally(() => (prompt = undefined));
    return prompt;
  };

  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    for (;;) {
      const headers = new Headers(init.headers);
      headers.set('accept', 'application/json');
      const token = storedToken();
      if (token) headers.set('authorization', `Bearer ${token}`);
      const response = await fetch(path, { ...init, headers });
      if (response.status !== 401) return response;
      if (token) forgetToken();
      const next = await tokenAfter401(Boolean(token));
      if (!next) throw new ApiError(await problemOf(response));
      sessionStorage.setItem(TOKEN_KEY, next);
    }
  }

  async function json<T>(
    path: string,
    init?: RequestInit,
  ): Promise<{ body: T; response: Response }> {
    const response = await send(path, init);
    if (!response.ok) throw new ApiError(await problemOf(response));
    return { body: (await response.json()) as T, response };
  }

  const write = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const userPath = (id: string) => `/user/${encodeURIComponent(id)}`;

  return {
    async list(query: ListQuery, signal?: AbortSignal): Promise<Page> {
      const params = new URLSearchParams({
        sort: `${query.sort.field} ${query.sort.direction}`,
        limit: String(query.limit),
        skip: String(query.skip),
      });
      const where = whereOf(query.search);
      if (where) params.set('where', where);
      const { body, response } = await json<User[]>(`/user?${params}`, signal ? { signal } : {});
      const link = response.headers.get('link');
      return {
        users: body,
        total: Number(response.headers.get('x-total-count') ?? body.length),
        next: skipOf(link, 'next'),
        prev: skipOf(link, 'prev'),
      };
    },
    async get(id: string): Promise<{ user: User; etag: string | null }> {
      const { body, response } = await json<User>(userPath(id));
      return { user: body, etag: response.headers.get('etag') };
    },
    async create(input: { name: string; email?: string }): Promise<User> {
      return (await json<User>('/user', write('POST', input))).body;
    },
    /** `If-Match` makes a change made meanwhile by someone else a 412, not a silent overwrite. */
    async update(
      id: string,
      changes: { name: string; email: string | null },
      etag: string | null,
    ): Promise<User> {
      const init = write('PATCH', changes, etag ? { 'if-match': etag } : {});
      return (await json<User>(userPath(id), init)).body;
    },
    async remove(id: string): Promise<User> {
      return (await json<User>(userPath(id), { method: 'DELETE' })).body;
    },
    async version(): Promise<Version> {
      return (await json<Version>('/version')).body;
    },
    async readiness(): Promise<Readiness> {
      const response = await send('/readyz');
      if (response.ok) return { ready: true };
      const problem = await problemOf(response);
      return { ready: false, reason: problem.title };
    },
  };
}

export type Api = ReturnType<typeof createApi>;
