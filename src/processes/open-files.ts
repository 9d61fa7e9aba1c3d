import { readFileSync } from 'node:fs';

/** Most connections the derived cap allows, whatever the limit: beyond, memory is the bound. */
const DERIVED_CAP_MAX = 10_000;
/** What the derived cap leaves, besides 10%, for the store pool, Redis, logs and files. */
const RESERVED_DESCRIPTORS = 32;

/** The process's soft open-files limit (`ulimit -n`), read from Linux's /proc; else undefined. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connection cap the web process applies: MAX_CONNECTIONS when set, else derived from the
 * open-files limit; never so high that accepting one more connection could fail with EMFILE.
 */
export function connectionCap(
  configured: number,
  limit: number | undefined,
): { cap: number; clamped: boolean } {
  const safe =
    limit === undefined
      ? DERIVED_CAP_MAX
      : Math.max(16, Math.floor(limit * 0.9) - RESERVED_DESCRIPTORS);
  if (configured === 0) return { cap: Math.min(safe, DERIVED_CAP_MAX), clamped: false };
  return configured > safe ? { cap: safe, clamped: true } : { cap: configured, clamped: false };
}
