// ESLint (flat config): typescript-eslint's type-aware recommended rules, plus the layer boundaries
// of docs/design.md ("Layers") as import rules. Formatting is Prettier's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_GLOBALS = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  clearImmediate: 'readonly',
  queueMicrotask: 'readonly',
  performance: 'readonly',
  structuredClone: 'readonly',
  URL: 'readonly',
  TextEncoder: 'readonly',
  TextDecoder: 'readonly',
  AbortController: 'readonly',
  AbortSignal: 'readonly',
  fetch: 'readonly',
  __dirname: 'readonly',
  __filename: 'readonly',
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  globalThis: 'readonly',
};

/**
 * The rooms of the house and what each may not import. Every file belongs to one room, so each gets
 * exactly one `no-restricted-imports` setting (ESLint keeps only the last setting of a rule per file:
 * two overlapping rules would silently drop the first).
 */
const ABOVE_CORE = [
  '**/admin',
  '**/admin/**',
  '**/cli',
  '**/cli/**',
  '**/breaker',
  '**/breaker/**',
  '**/ui',
  '**/ui/**',
];
const ROOMS = [
  {
    files: ['src/evaluation/**', 'src/ruleset/**'],
    forbidden: [
      'nats',
      'ioredis',
      'redis-time-series-ts',
      '**/options',
      '**/validate',
      '**/sources/**',
      '**/signals/**',
      '**/manager',
      '**/toggler',
      ...ABOVE_CORE,
    ],
    message: 'evaluation/ and ruleset/ are pure: no I/O libraries, options, sources, signals or layers above.',
  },
  {
    files: ['src/sources/**', 'src/signals/**', 'src/nats/**'],
    forbidden: ['**/manager', '**/toggler', ...ABOVE_CORE],
    message: 'Sources, signals and the NATS layer sit below the manager: they import neither it nor anything above.',
  },
  {
    files: ['src/*.ts', 'src/util/**', 'src/openfeature/**'],
    forbidden: ABOVE_CORE,
    message: 'The core (manager, sources, signals) does not import admin, breaker, ui or cli.',
  },
  {
    files: ['src/admin/**'],
    forbidden: ['**/cli', '**/cli/**', '**/breaker', '**/breaker/**', '**/ui', '**/ui/**'],
    message: 'The admin library does not import the breaker, the dashboard or the command line.',
  },
  {
    files: ['src/breaker/**'],
    forbidden: ['**/cli', '**/cli/**', '**/ui', '**/ui/**'],
    message: 'The breaker imports neither the command line nor the dashboard: top-level rooms stand side by side.',
  },
  {
    files: ['src/ui/**'],
    forbidden: ['**/cli', '**/cli/**', '**/breaker', '**/breaker/**'],
    message: 'The dashboard imports neither the command line nor the breaker: top-level rooms stand side by side.',
  },
  {
    files: ['test/support/**', 'bench/lib/**'],
    forbidden: ['**/cli', '**/cli/**', '**/dist/cjs/cli/**'],
    message: 'Test and bench infrastructure does not reach into the command line.',
  },
];

function forbid({ files, forbidden, message }) {
  return {
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: NODE_GLOBALS, sourceType: 'module' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  // Library code logs through the injected logger; only the command line writes to the console.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  // Layers, bottom to top: evaluation + ruleset (pure) → sources, signals, nats → manager → admin →
  // breaker, ui → cli. Nothing imports a layer above its own.
  ...ROOMS.map(forbid),
);
