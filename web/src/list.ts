import { ApiError, type Api, type ListQuery, type SortField, type User } from './api.ts';
import { byId, el, say } from './dom.ts';
import { listSummary } from './messages.ts';

const SEARCH_DELAY_MS = 250;
const PAGE_SIZES = [10, 25, 50, 100];
const SORT_FIELDS: SortField[] = ['name', 'email', 'createdAt'];
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export interface ListView {
  reload(): Promise<void>;
  /** Focus on a user's row when it is on the page, else on the list's heading. */
  focus(id?: string): void;
}

/** The query lives in the address (`?q=&sort=&limit=&skip=`) so reload and links keep the view. */
function queryFromAddress(): ListQuery {
  const params = new URLSearchParams(location.search);
  const [field, direction] = (params.get('sort') ?? '').split(' ');
  const limit = Number(params.get('limit'));
  const skip = Number(params.get('skip'));
  return {
    search: params.get('q') ?? '',
    sort: SORT_FIELDS.includes(field as SortField)
      ? { field: field as SortField, direction: direction === 'DESC' ? 'DESC' : 'ASC' }
      : { field: 'createdAt', direction: 'DESC' },
    limit: PAGE_SIZES.includes(limit) ? limit : 25,
    skip: Number.isInteger(skip) && skip > 0 ? skip : 0,
  };
}

/**
 * Each search, sort or page a person asks for is a history entry (Back returns to the previous
 * view); a reload of the same view replaces its entry.
 */
function saveToAddress(query: ListQuery): void {
  const params = new URLSearchParams();
  if (query.search) params.set('q', query.search);
  params.set('sort', `${query.sort.field} ${query.sort.direction}`);
  params.set('limit', String(query.limit));
  if (query.skip > 0) params.set('skip', String(query.skip));
  const address = `?${params}`;
  if (address === location.search) return;
  if (location.search === '') history.replaceState(null, '', address);
  else history.pushState(null, '', address);
}

function actionButton(label: string, user: User, onClick: (user: User) => void) {
  // The visible label stays short; screen readers hear whose row it acts on.
  const button = el(
    'button',
    { attrs: { type: 'button' }, className: 'link' },
    label,
    el('span', { className: 'visually-hidden', text: ` ${user.name}` }),
  );
  button.addEventListener('click', () => onClick(user));
  return button;
}

export function createList(
  api: Api,
  actions: {
    edit(user: User): void;
    remove(user: User): void;
    /** A person moved to another view (search, sort, page): earlier notices no longer apply. */
    navigated(): void;
  },
): ListView {
  const table = byId<HTMLTableElement>('users');
  const body = table.tBodies[0]!;
  const status = byId('list-status');
  const error = byId('list-error');
  const prev = byId<HTMLButtonElement>('prev-page');
  const next = byId<HTMLButtonElement>('next-page');
  const pageSize = byId<HTMLSelectElement>('page-size');
  const search = byId<HTMLInputElement>('search');
  const title = byId('list-title');

  const query = queryFromAddress();
  search.value = query.search;
  pageSize.value = String(query.limit);
  // Back and Forward show the view the address names, without adding an entry.
  window.addEventListener('popstate', () => {
    Object.assign(query, queryFromAddress());
    search.value = query.search;
    pageSize.value = String(query.limit);
    actions.navigated();
    void reload();
  });
  const navigate = () => {
    actions.navigated();
    void reload();
  };
  let pending: AbortController | undefined;
  let neighbours: { next: number | undefined; prev: number | undefined } = {
    next: undefined,
    prev: undefined,
  };
  /** The last page's total, to foresee a requested page's neighbours before it arrives. */
  let total = 0;

  const row = (user: User) =>
    el(
      'tr',
      { attrs: { 'data-id': user.id } },
      el('th', { attrs: { scope: 'row' }, text: user.name }),
      el(
        'td',
        {},
        user.email ??
          el(
            'span',
            {},
            el('span', { attrs: { 'aria-hidden': 'true' }, text: '—' }),
            el('span', { className: 'visually-hidden', text: 'none' }),
          ),
      ),
      el(
        'td',
        { className: 'wide' },
        el('time', {
          attrs: { datetime: user.createdAt },
          text: dateFormat.format(new Date(user.createdAt)),
        }),
      ),
      el(
        'td',
        { className: 'row-actions' },
        actionButton('Edit', user, actions.edit),
        actionButton('Delete', user, actions.remove),
      ),
    );

  function showSort(): void {
    for (const th of table.tHead!.querySelectorAll<HTMLElement>('th[data-sort]')) {
      if (th.dataset.sort === query.sort.field) {
        th.setAttribute('aria-sort', query.sort.direction === 'ASC' ? 'ascending' : 'descending');
      } else th.removeAttribute('aria-sort');
    }
  }

  async function reload(): Promise<void> {
    pending?.abort();
    const controller = new AbortController();
    pending = controller;
    saveToAddress(query);
    showSort();
    table.setAttribute('aria-busy', 'true');
    try {
      const page = await api.list(query, controller.signal);
      // Deleting the last user of the last page leaves it empty: step back to a real page.
      if (page.users.length === 0 && query.skip > 0 && page.total > 0) {
        query.skip = page.prev ?? 0;
        return await reload();
      }
      neighbours = { next: page.next, prev: page.prev };
      total = page.total;
      body.replaceChildren(...page.users.map(row));
      say(error, '');
      status.textContent = listSummary(query, page.users.length, page.total);
    } catch (caught) {
      if (controller.signal.aborted) return;
      const detail = caught instanceof ApiError ? caught.message : 'The service did not answer.';
      say(error, `Could not load users: ${detail}`);
    } finally {
      if (pending === controller) {
        table.removeAttribute('aria-busy');
        // aria-disabled, not disabled: the focused button keeps focus on the last page.
        prev.setAttribute('aria-disabled', String(neighbours.prev === undefined));
        next.setAttribute('aria-disabled', String(neighbours.next === undefined));
      }
    }
  }

  let typing: ReturnType<typeof setTimeout> | undefined;
  const searchNow = () => {
    clearTimeout(typing);
    if (search.value === query.search) return;
    query.search = search.value;
    query.skip = 0;
    navigate();
  };
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(searchNow, SEARCH_DELAY_MS);
  });
  byId('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    searchNow();
  });

  for (const th of table.tHead!.querySelectorAll<HTMLElement>('th[data-sort]')) {
    th.querySelector('button')!.addEventListener('click', () => {
      const field = th.dataset.sort as SortField;
      const flip = query.sort.direction === 'ASC' ? 'DESC' : 'ASC';
      query.sort = { field, direction: query.sort.field === field ? flip : 'ASC' };
      query.skip = 0;
      navigate();
    });
  }

  const go = (skip: number | undefined) => {
    if (skip === undefined) return;
    query.skip = skip;
    // Until the page arrives with its own Link header, its neighbours follow from skip, limit
    // and the last total: a second click on Next while it loads moves on from that page, not
    // from the one still on screen (which would ask for the same page again).
    neighbours = {
      prev: skip > 0 ? Math.max(0, skip - query.limit) : undefined,
      next: skip + query.limit < total ? skip + query.limit : undefined,
    };
    navigate();
  };
  prev.addEventListener('click', () => go(neighbours.prev));
  next.addEventListener('click', () => go(neighbours.next));
  pageSize.addEventListener('change', () => {
    query.limit = Number(pageSize.value);
    query.skip = 0;
    navigate();
  });

  const focus = (id?: string) => {
    const selector = `tr[data-id="${CSS.escape(id ?? '')}"] button`;
    (body.querySelector<HTMLElement>(selector) ?? title).focus();
  };
  return { reload, focus };
}
