import type { TokenPrompt } from './api.ts';
import { byId, wireClose } from './dom.ts';

const ASK = 'This service asks for an API token. It is kept only in this browser tab.';
const REFUSED = 'The service refused that token. Enter another; it is kept only in this tab.';

/** Asks for an API token in a modal dialog; Cancel or Escape answers undefined. */
export function createTokenPrompt(): TokenPrompt {
  const dialog = byId<HTMLDialogElement>('token-dialog');
  const form = byId<HTMLFormElement>('token-form');
  const input = byId<HTMLInputElement>('token');
  const text = byId('token-text');
  wireClose(dialog);

  return (refused) =>
    new Promise((resolve) => {
      const done = (token: string | undefined) => {
        form.removeEventListener('submit', onSubmit);
        dialog.removeEventListener('close', onClose);
        if (dialog.open) dialog.close();
        resolve(token);
      };
      const onSubmit = (event: SubmitEvent) => {
        event.preventDefault();
        const token = input.value.trim();
        if (token) done(token);
        else input.focus();
      };
      const onClose = () => done(undefined);
      form.addEventListener('submit', onSubmit);
      dialog.addEventListener('close', onClose);
      text.textContent = refused ? REFUSED : ASK;
      input.value = '';
      dialog.showModal();
      input.focus();
    });
}
