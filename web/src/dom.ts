/** The page's elements are fixed in index.html: a missing one is a bug worth failing loudly on. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
}

/** Builds an element from text only: no HTML strings anywhere, as Trusted Types demand. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; attrs?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Shows a message in an element that is hidden while empty. */
export function say(target: HTMLElement, message: string): void {
  target.textContent = message;
  target.hidden = message === '';
}

/** `[data-close]` buttons cancel their dialog, as Escape does. */
export function wireClose(dialog: HTMLDialogElement): void {
  for (const button of dialog.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => dialog.close());
  }
}
