import { isBuiltin } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

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

/**
 * Node's built-in modules taken with `process.getBuiltinModule` instead of `import`. Imported as
 * ES modules, node:http and node:fs build a facade that reads every export, lazy ones included:
 * that loads undici, http2, tls, worker_threads, fs/promises and more (~110 modules a hand-written
 * server, which `require`s them, never loads), a tenth of the web process's cold start. Rewrites
 * the import statements a chunk starts with (a bundle hoists them all there) and shifts the
 * source map's first line by as many columns as the rewrite adds.
 */
function builtinsWithoutFacade(): Plugin {
  const IMPORT =
    /import\s*(?:([\w$]+)\s*(?:,\s*)?)?(?:\*\s*as\s*([\w$]+)\s*|\{([^}]*)\}\s*)?(?:from\s*)?(["'])([^"']+)\4\s*;?/y;
  return {
    name: 'builtins-without-facade',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        let at = 0;
        let prelude = '';
        for (;;) {
          IMPORT.lastIndex = at;
          const m = IMPORT.exec(chunk.code);
          if (!m) break;
          at = IMPORT.lastIndex;
          const [statement, name, namespace, named, , source] = m;
          if (!isBuiltin(source!)) {
            prelude += statement;
            continue;
          }
          const value = `process.getBuiltinModule(${JSON.stringify(source)})`;
          const binds = [name, namespace].filter(Boolean).map((id) => `const ${id}=${value};`);
          if (named?.trim()) binds.push(`const{${named.replace(/\s+as\s+/g, ':')}}=${value};`);
          prelude += binds.join('') || `${value};`;
        }
        if (at === 0) continue;
        const delta = prelude.length - at;
        chunk.code = prelude + chunk.code.slice(at);
        // The map is already an asset of its own by now (`sourcemap: true`).
        const map = bundle[`${chunk.fileName}.map`];
        if (delta !== 0 && map?.type === 'asset') {
          const json = JSON.parse(String(map.source)) as { mappings: string };
          json.mappings = shiftFirstLine(json.mappings, at, delta);
          map.source = JSON.stringify(json);
        }
      }
    },
  };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeSegment(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

function encodeSegment(values: number[]): string {
  let text = '';
  for (const signed of values) {
    let value = signed < 0 ? (-signed << 1) | 1 : signed << 1;
    do {
      let digit = value & 31;
      value >>>= 5;
      if (value > 0) digit |= 32;
      text += BASE64[digit];
    } while (value > 0);
  }
  return text;
}

/**
 * A source map's `mappings` with the first line's segments at or after column `from` moved by
 * `delta` columns, and those before it (the rewritten imports) kept before the new `from`.
 * Every field but the column is relative to the previous segment, across lines: each segment is
 * decoded to absolute values and encoded again, so all but the columns stay as they were.
 */
function shiftFirstLine(mappings: string, from: number, delta: number): string {
  const end = mappings.indexOf(';');
  const line = end === -1 ? mappings : mappings.slice(0, end);
  const state = [0, 0, 0, 0, 0];
  const previous = [0, 0, 0, 0, 0];
  const encoded = line
    .split(',')
    .filter(Boolean)
    .map((segment) => {
      const values = decodeSegment(segment);
      values.forEach((value, i) => (state[i]! += value));
      const column = state[0]!;
      const absolute = [column >= from ? column + delta : Math.min(column, from + delta)];
      absolute.push(...state.slice(1, values.length));
      const relative = absolute.map((value, i) => value - previous[i]!);
      absolute.forEach((value, i) => (previous[i] = value));
      return encodeSegment(relative);
    });
  return encoded.join(',') + (end === -1 ? '' : mappings.slice(end));
}
