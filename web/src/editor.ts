import { ApiError, type Api, type Problem, type User } from './api.ts';
import { humanMessage } from './messages.ts';
import { byId, say, wireClose } from './dom.ts';
import type { ListView } from './list.ts';

type Notify = (message: string) => void;

const problemOf = (caught: unknown): Problem =>
  caught instanceof ApiError
    ? caught.problem
    : { status: 0, title: 'No answer', detail: 'The service did not answer.', code: 'NETWORK' };

/** The create and edit dialog: the API validates, and its field errors show beside the field. */
export function createEditor(api: Api, list: ListView, notify: Notify) {
  const dialog = byId<HTMLDialogElement>('user-dialog');
  const form = byId<HTMLFormElement>('user-form');
  const title = byId('user-dialog-title');
  const formError = byId('user-form-error');
  const fields = {
    name: { label: 'Name', input: byId<HTMLInputElement>('user-name') },
    email: { label: 'E-mail', input: byId<HTMLInputElement>('user-email') },
  };
  const errorOf = (input: HTMLInputElement) => byId(`${input.id}-error`);
  let editing: { id: string; etag: string | null } | undefined;
  let saving = false;
  wireClose(dialog);

  function clearErrors(): void {
    say(formError, '');
    for (const { input } of Object.values(fields)) {
      input.removeAttribute('aria-invalid');
      say(errorOf(input), '');
    }
  }

  function showProblem(problem: Problem): void {
    const unplaced: string[] = [];
    let first: HTMLInputElement | undefined;
    for (const { field, message } of problem.errors ?? []) {
      const known = fields[field as keyof typeof fields];
      if (!known) {
        unplaced.push(`${field} ${message}`);
        continue;
      }
      say(errorOf(known.input), humanMessage(known.label, message));
      known.input.setAttribute('aria-invalid', 'true');
      first ??= known.input;
    }
    if (!first) say(formError, problem.detail || problem.title);
    else if (unplaced.length > 0) say(formError, unplaced.join('; '));
    (first ?? fields.name.input).focus();
  }

  function open(user: User | undefined): void {
    clearErrors();
    title.textContent = user ? `Edit ${user.name}` : 'New user';
    fields.name.input.value = user?.name ?? '';
    fields.email.input.value = user?.email ?? '';
    dialog.showModal();
    fields.name.input.focus();
  }

  async function save(): Promise<User> {
    const name = fields.name.input.value;
    const email = fields.email.input.value;
    if (!editing) return api.create(email ? { name, email } : { name });
    // An emptied field clears the address (the API's `email: null`).
    return api.update(editing.id, { name, email: email || null }, editing.etag);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (saving) return;
    saving = true;
    clearErrors();
    save()
      .then(async (user) => {
        dialog.close();
        notify(editing ? `Saved ${user.name}.` : `Created ${user.name}.`);
        await list.reload();
        list.focus(user.id);
      })
      .catch(async (caught: unknown) => {
        const problem = problemOf(caught);
        if (problem.code === 'PRECONDITION_FAILED' && editing) {
          // Keep what the person typed; a second Save deliberately overwrites the newer version.
          editing.etag = (await api.get(editing.id)).etag;
          say(formError, 'Someone changed this user meanwhile. Save again to overwrite it.');
        } else if (problem.code === 'USER_NOT_FOUND') {
          say(formError, 'This user no longer exists.');
          void list.reload();
        } else showProblem(problem);
      })
      .finally(() => (saving = false));
  });

  return {
    create(): void {
      editing = undefined;
      open(undefined);
    },
    /** Reads the record first: the form shows the current version and keeps its ETag. */
    async edit(user: User): Promise<void> {
      try {
        const current = await api.get(user.id);
        editing = { id: user.id, etag: current.etag };
        open(current.user);
      } catch (caught) {
        notify(`Cannot edit ${user.name}: ${problemOf(caught).detail}`);
        void list.reload();
      }
    },
  };
}

/** Deleting asks first; Cancel has the focus, so Enter alone never deletes. */
export function createDeleter(api: Api, list: ListView, notify: Notify) {
  const dialog = byId<HTMLDialogElement>('delete-dialog');
  const text = byId('delete-text');
  const error = byId('delete-error');
  let target: User | undefined;
  wireClose(dialog);

  byId('delete-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const user = target;
    if (!user) return;
    target = undefined;
    api
      .remove(user.id)
      .catch((caught: unknown) => {
        if (problemOf(caught).code !== 'USER_NOT_FOUND') throw caught;
      })
      .then(async () => {
        dialog.close();
        notify(`Deleted ${user.name}.`);
        await list.reload();
        list.focus();
      })
      .catch((caught: unknown) => {
        target = user;
        say(error, `Could not delete: ${problemOf(caught).detail}`);
      });
  });

  return {
    confirm(user: User): void {
      target = user;
      say(error, '');
      text.textContent = user.email
        ? `Delete ${user.name} (${user.email})? This cannot be undone.`
        : `Delete ${user.name}? This cannot be undone.`;
      dialog.showModal();
    },
  };
}
