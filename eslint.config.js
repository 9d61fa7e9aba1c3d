// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/**
 * Dependencies point one way (docs: style.md): processes → {http, events, admin} →
 * {doctor, store} → users; config, log and metrics (Prometheus instruments) are leaves anyone
 * may import.
 */
const layers = [
  {
    target: './src/users',
    from: [
      './src/config',
      './src/log',
      './src/store',
      './src/http',
      './src/processes',
      './src/admin',
      './src/events',
      './src/doctor',
    ],
    message: 'The domain imports nothing from src/.',
  },
  {
    target: './src/config',
    from: [
      './src/users',
      './src/log',
      './src/store',
      './src/http',
      './src/processes',
      './src/admin',
      './src/events',
      './src/doctor',
    ],
    message: 'config is a leaf.',
  },
  {
    target: './src/log',
    from: [
      './src/users',
      './src/config',
      './src/store',
      './src/http',
      './src/processes',
      './src/admin',
      './src/events',
      './src/doctor',
    ],
    message: 'log is a leaf.',
  },
  {
    target: './src/metrics',
    from: [
      './src/users',
      './src/config',
      './src/log',
      './src/store',
      './src/http',
      './src/processes',
      './src/admin',
      './src/events',
      './src/doctor',
    ],
    message: 'metrics is a leaf.',
  },
  {
    target: './src/store',
    from: ['./src/http', './src/processes', './src/admin', './src/events', './src/doctor'],
    message: 'Stores depend on the domain only.',
  },
  {
    target: './src/doctor',
    from: ['./src/http', './src/processes', './src/admin', './src/events'],
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
    target: './src/events',
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
