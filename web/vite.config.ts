import { defineConfig } from 'vite';

/**
 * `vite build web` (root: web/) → dist/public, where src/http/plugins/page.ts serves it. Every
 * asset gets a content hash so the server can let browsers keep it for a year.
 */
export default defineConfig({
  base: '/',
  publicDir: false,
  build: {
    outDir: '../dist/public',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The CSP allows only files of this origin: nothing inlined as a data: URL.
    assetsInlineLimit: 0,
    // The polyfill is for old browsers; the page targets evergreen ones and loads one chunk.
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: true,
  },
});
