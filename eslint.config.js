// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/**
 * Dependencies point one way (docs: style.md): processes → {http, webhooks, clock, admin} →
 * {doctor, store} → users; config, log and metrics (Prometheus instruments) are leaves anyone
 * may import, and so is telemetry (OpenTelemetry's context helpers), which reads only config.
 */
const FOLDERS = [
  'users',
  'config',
  'log',
  'metrics',
  'store',
  'http',
  'processes',
  'admin',
  'webhooks',
  'clock',
  'doctor',
  'telemetry',
].map((folder) => `./src/${folder}`);

/** What only composition roots and entry points import. */
const ENTRIES = ['http', 'processes', 'admin', 'webhooks', 'clock'].map((f) => `./src/${f}`);

/** A folder that imports nothing else from src/. */
const isolated = (/** @type {string} */ folder, /** @type {string} */ message) => ({
  target: `./src/${folder}`,
  from: FOLDERS.filter((other) => other !== `./src/${folder}`),
  message,
});

const layers = [
  isolated('users', 'The domain imports nothing from src/.'),
  isolated('config', 'config is a leaf.'),
  isolated('log', 'log is a leaf.'),
  isolated('metrics', 'metrics is a leaf.'),
  {
    target: './src/telemetry',
    from: FOLDERS.filter((other) => !['./src/telemetry', './src/config'].includes(other)),
    message: 'telemetry is a leaf (it reads its settings from config).',
  },
  {
    target: './src/store',
    from: [...ENTRIES, './src/doctor'],
    message: 'Stores depend on the domain only.',
  },
  {
    target: './src/doctor',
    from: ENTRIES,
    message: 'The doctor sits below the entry points.',
  },
  {
    target: './src/http',
    from: ['./src/processes', './src/admin'],
    message: 'Nothing imports the composition roots.',
  },
  {
    target: './src/admin',
    from: ['./src/processes', './src/http'],
    message: 'Nothing imports the composition roots.',
  },
  {
    target: ['./src/webhooks', './src/clock'],
    from: ['./src/processes', './src/http', './src/admin'],
    message: 'Nothing imports the composition roots.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layers }],
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
