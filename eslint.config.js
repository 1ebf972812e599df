// Lint rules that keep the layers honest (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Anything that touches the outside world. The consensus core may use none of it.
const ioModules = [
  'fs', 'fs/*', 'net', 'dgram', 'http', 'https', 'http2', 'tls', 'child_process', 'worker_threads',
  'os', 'dns', 'cluster', 'crypto', 'timers', 'timers/*', 'process', 'perf_hooks',
  'node:*', 'better-sqlite3', '@grpc/*', 'electron', 'bonjour-service', 'ws',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'tmp-smoke/**', 'dist/**', 'out/**', 'release/**', 'renderer/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // main/raft is pure and deterministic: no I/O, no clock, no ambient randomness, no other layer.
    files: ['main/raft/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ioModules, message: 'main/raft must stay free of I/O: it is driven by tick/step/propose and returns a Ready.' },
          { group: ['../*', '!./*'], message: 'main/raft imports nothing from the other layers.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'time enters main/raft only through tick().' },
        { name: 'setInterval', message: 'time enters main/raft only through tick().' },
        { name: 'setImmediate', message: 'time enters main/raft only through tick().' },
        { name: 'process', message: 'main/raft must not touch the process.' },
        { name: 'require', message: 'main/raft must not load modules dynamically.' },
        { name: 'fetch', message: 'main/raft must stay free of I/O.' },
        { name: 'performance', message: 'time enters main/raft only through tick().' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'time enters main/raft only through tick().' },
        { object: 'Math', property: 'random', message: 'randomness is injected (RaftConfig.random).' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date']", message: 'time enters main/raft only through tick().' },
        { selector: 'ImportExpression', message: 'main/raft must not load modules dynamically.' },
      ],
    },
  },
  {
    // main/ never imports the UI or React; only the Electron shell (main/app) imports Electron.
    files: ['main/**/*.ts'],
    ignores: ['main/raft/**', 'main/app/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/renderer/**', 'react', 'react-dom', 'react/*'], message: 'main/ never imports the renderer or React; share types through common/.' },
          { group: ['electron', 'electron/*'], message: 'only main/app (the Electron shell) imports electron; the peer also runs headless under Node.' },
        ],
      }],
    },
  },
  {
    // main/app: the Electron shell, the one place that may import electron.
    files: ['main/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/renderer/**', 'react', 'react-dom', 'react/*'], message: 'main/ never imports the renderer or React; share types through common/.' },
        ],
      }],
    },
  },
  {
    // The renderer never imports Node, Electron or main/.
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/main/**', ...ioModules], message: 'renderer/ knows only the ChatApi interface in common/.' },
        ],
      }],
    },
  },
  {
    // common/ is the seam: it imports nothing.
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./[\\w-]+\\.js$)', message: 'common/ imports nothing outside common/.' }] }],
    },
  },
);
