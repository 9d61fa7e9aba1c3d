import { defineConfig } from 'vite';

/**
 * `npm run build`'s server half: each process type's entry (the Procfile's commands) bundled
 * into dist/processes/, shared code in dist/processes/chunks/. Packages stay in node_modules and
 * load as usual, except Kysely: its 300 modules took 70–100 ms of every cold start to resolve
 * and link one by one; inlined, they take a few. Type checking is `npm run typecheck`'s job.
 */
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
        migrate: 'src/processes/migrate.ts',
        worker: 'src/processes/worker.ts',
        clock: 'src/processes/clock.ts',
        admin: 'src/processes/admin.ts',
      },
      output: {
        format: 'esm',
        entryFileNames: 'processes/[name].js',
        chunkFileNames: 'processes/chunks/[name]-[hash].js',
      },
    },
  },
  ssr: { target: 'node', noExternal: ['kysely'] },
});
