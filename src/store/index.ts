import type { StoreSettings } from '../config/index.ts';
import type { UserStore } from '../users/user-store.ts';
import { parseSqliteUrl } from './sqlite/sqlite-url.ts';

export { redactUrl } from './redact-url.ts';

/** The config's store settings (`url`: `sqlite:…`, `postgres://…`, `mongodb://…`). */
export interface StoreOptions extends StoreSettings {
  /** Errors no caller awaits, e.g. an idle PostgreSQL connection dropped by the server. */
  onBackgroundError?: (error: unknown) => void;
}

// SQLite has no "no limit" for busy_timeout; an hour stands for it.
const SQLITE_UNLIMITED_BUSY_MS = 3_600_000;

/**
 * The UserStore for a URL, chosen by its scheme. Never connects: an unreachable server shows
 * up as STORE_UNAVAILABLE from `ping()` and other calls, which callers retry. Rejects only for
 * a URL no adapter accepts. Only the chosen adapter's driver is loaded, which keeps start-up
 * fast (the MongoDB driver alone costs tens of milliseconds to import).
 */
export async function createStore(options: StoreOptions): Promise<UserStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(options.url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      const [{ SqlUserStore }, { createSqliteEngine }] = await Promise.all([
        import('./sql/sql-user-store.ts'),
        import('./sqlite/sqlite-engine.ts'),
      ]);
      return new SqlUserStore(
        createSqliteEngine({
          filename: parseSqliteUrl(options.url),
          busyTimeoutMs:
            options.statementTimeoutMs > 0 ? options.statementTimeoutMs : SQLITE_UNLIMITED_BUSY_MS,
          queryTimeoutMs: options.statementTimeoutMs > 0 ? options.statementTimeoutMs : Infinity,
        }),
      );
    }
    case 'postgres':
    case 'postgresql': {
      const [{ SqlUserStore }, { createPostgresEngine }] = await Promise.all([
        import('./sql/sql-user-store.ts'),
        import('./postgres/postgres-engine.ts'),
      ]);
      return new SqlUserStore(createPostgresEngine(options));
    }
    case 'mongodb':
    case 'mongodb+srv': {
      const { MongoUserStore } = await import('./mongo/mongo-user-store.ts');
      return new MongoUserStore(options);
    }
    default:
      // The scheme only: the rest of the URL may hold a password.
      throw new Error(
        `Unsupported store URL scheme ${scheme === undefined ? '(none)' : JSON.stringify(`${scheme}:`)}; ` +
          'use sqlite:, postgres:, postgresql:, mongodb: or mongodb+srv:.',
      );
  }
}
