import { createApi, forgetToken, storedToken, type User } from './api.ts';
import { byId } from './dom.ts';
import { createDeleter, createEditor } from './editor.ts';
import { createList } from './list.ts';
import { watchService } from './service-status.ts';
import { createTokenPrompt } from './token.ts';

const notice = byId('notice');
const notify = (message: string) => {
  notice.textContent = message;
};

const forget = byId<HTMLButtonElement>('forget-token');
forget.hidden = !storedToken();
forget.addEventListener('click', () => {
  forgetToken();
  forget.hidden = true;
  notify('The API token is forgotten.');
});

const askToken = createTokenPrompt();
const api = createApi(async (refused) => {
  const token = await askToken(refused);
  forget.hidden = !token;
  return token;
});

// The list and the dialogs refer to each other: the list is built first, its actions late-bound.
const list = createList(api, {
  edit: (user: User) => void editor.edit(user),
  remove: (user: User) => deleter.confirm(user),
  navigated: () => notify(''),
});
const editor = createEditor(api, list, notify);
const deleter = createDeleter(api, list, notify);
byId('new-user').addEventListener('click', () => editor.create());

watchService(api);
void list.reload();
