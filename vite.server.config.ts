import { defineConfig } from 'vite';

/**
 * `npm run build`'s server half: each process type's entry (the Procfile's commands) bundled
 * into dist/processes/, shared code in dist/processes/chunks/, with the packages inlined:
 * resolving and linking their hundreds of modules one by one was a third of every cold start
 * (ADR 7). Type checking is `npm run typecheck`'s job.
 */

/**
 * Packages that stay in node_modules and load as usual: a native addon, packages that find
 * their own files next to their code (pino's transport worker; swagger-ui is told where its
 * assets are instead, src/http/plugins/openapi.ts), and the drivers loaded only when
 * configured, whose optional native parts are found at run time.
 */
const EXTERNAL = [
  'better-sqlite3',
  'pino',
  'pino-pretty',
  'thread-stream',
  'pg',
  'mongodb',
  // Loaded by src/config/mongo-url.ts through createRequire, only for a MongoDB URL.
  'mongodb-connection-string-url',
  'ioredis',
  'jose',
];

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist',
    // Runs before the page build (package.json), which then fills dist/public afresh.
    emptyOutDir: true,
    target: 'node24',
    sourcemap: true,
    minify: false,
    rollupOptions: {
      input: {
        web: 'src/processes/web.ts',
        worker: 'src/processes/worker.ts',
        clock: 'src/processes/clock.ts',
        admin: 'src/processes/admin.ts',
      },
      output: {
        format: 'esm',
        entryFileNames: 'processes/[name].js',
        chunkFileNames: 'processes/chunks/[name]-[hash].js',
        // Whitespace and comments only; code and names stay as written (stack traces name the
        // same functions; the source maps give their lines). The web chunk drops from 1.9 MB to
        // 1.3 MB, which Node reads, hashes and lazily compiles on every start.
        minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
      },
    },
  },
  ssr: { target: 'node', noExternal: true, external: EXTERNAL },
});
