import type { Api, Readiness } from './api.ts';
import { byId } from './dom.ts';

const READINESS_EVERY_MS = 15_000;

/** Version and store once; readiness now and then, so an outage shows without a reload. */
export function watchService(api: Api): void {
  const version = byId('service-version');
  const store = byId('service-store');
  const ready = byId('service-ready');

  api
    .version()
    .then((release) => {
      const commit = release.commit ? ` (${release.commit.slice(0, 7)})` : '';
      version.textContent = `${release.version}${commit}`;
      store.textContent = release.store;
    })
    .catch(() => {
      version.textContent = 'unknown';
      store.textContent = 'unknown';
    });

  const check = async () => {
    if (document.hidden) return;
    const state: Readiness = await api
      .readiness()
      .catch(() => ({ ready: false, reason: 'No answer' }) as const);
    const text = state.ready ? 'Ready' : `Not ready: ${state.reason}`;
    // Rewriting the same text would make screen readers repeat it every poll.
    if (ready.textContent === text) return;
    ready.textContent = text;
    ready.dataset.state = state.ready ? 'ready' : 'not-ready';
  };
  void check();
  setInterval(() => void check(), READINESS_EVERY_MS);
}
