import { isBuiltin } from 'node:module';
import MagicString from 'magic-string';
import { defineConfig, type Plugin } from 'vite';

/**
 * `npm run build`'s server half: each process type's entry (the Procfile's commands) bundled
 * into dist/processes/, shared code in dist/processes/chunks/, with the packages inlined:
 * resolving and linking their hundreds of modules one by one was a third of every cold start
 * (ADR 7). Type checking is `npm run typecheck`'s job.
 */

/**
 * Packages that stay in node_modules and load as usual: a native addon, packages that find
 * their own files next to their code (thread-stream's worker, which loads pino-pretty on a
 * terminal; swagger-ui is told where its assets are instead, src/http/plugins/openapi.ts), and
 * the drivers loaded only when configured, whose optional native parts are found at run time.
 * pino itself is inlined: it looks beside its own code only for transports with several targets
 * or pipelines, which no process uses (its one transport, pino-pretty, is resolved from the
 * calling file, here a chunk inside the package); loaded from node_modules its two dozen
 * modules cost the web process ~15 ms of CPU and ~8 MB of RSS at every start.
 */
const EXTERNAL = [
  'better-sqlite3',
  'pino-pretty',
  'thread-stream',
  'pg',
  'mongodb',
  // Loaded by src/config/mongo-url.ts through createRequire, only for a MongoDB URL.
  'mongodb-connection-string-url',
  'ioredis',
  'jose',
  // Loaded by src/http/serializers.ts only for a schema the build compiled no code for.
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
];

export default defineConfig({
  plugins: [builtinsWithoutFacade()],
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
        // No content hash in the names: Node's compile cache (enabled by each entry) keeps one
        // entry per file path, which a new build's file of the same name then replaces. Hashed
        // names made every build's chunks new paths, so the cache in the temp directory kept
        // every build ever started there.
        chunkFileNames: 'processes/chunks/[name].js',
        // Whitespace and comments only; code and names stay as written (stack traces name the
        // same functions; the source maps give their lines). The web chunk drops from 1.9 MB to
        // 1.3 MB, which Node reads, hashes and lazily compiles on every start.
        minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
      },
    },
  },
  ssr: { target: 'node', noExternal: true, external: EXTERNAL },
});

/**
 * Node's built-in modules taken with `process.getBuiltinModule` instead of `import`. Imported as
 * ES modules, node:http and node:fs build a facade that reads every export, lazy ones included:
 * that loads undici, http2, tls, worker_threads, fs/promises and more (~110 modules a hand-written
 * server, which `require`s them, never loads), a tenth of the web process's cold start. Rewrites
 * the import statements a chunk starts with (a bundle hoists them all there); magic-string
 * gives the rewrite's source map, which the bundler chains with the chunk's own.
 */
function builtinsWithoutFacade(): Plugin {
  const IMPORT =
    /\s*import\s*(?:([\w$]+)\s*(?:,\s*)?)?(?:\*\s*as\s*([\w$]+)\s*|\{([^}]*)\}\s*)?(?:from\s*)?(["'])([^"']+)\4\s*;?/y;
  return {
    name: 'builtins-without-facade',
    renderChunk(code) {
      const rewritten = new MagicString(code);
      let at = code.startsWith('#!') ? code.indexOf('\n') + 1 : 0;
      for (;;) {
        IMPORT.lastIndex = at;
        const m = IMPORT.exec(code);
        if (!m) break;
        const [statement, name, namespace, named, , source] = m;
        if (isBuiltin(source!)) {
          const value = `process.getBuiltinModule(${JSON.stringify(source)})`;
          const binds = [name, namespace].filter(Boolean).map((id) => `const ${id}=${value};`);
          if (named?.trim()) binds.push(`const{${named.replace(/\s+as\s+/g, ':')}}=${value};`);
          const start = at + statement.indexOf('import');
          rewritten.update(start, at + statement.length, binds.join('') || `${value};`);
        }
        at = IMPORT.lastIndex;
      }
      if (!rewritten.hasChanged()) return null;
      return { code: rewritten.toString(), map: rewritten.generateMap({ hires: true }) };
    },
  };
}
