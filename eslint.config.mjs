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

/** An import rule: files matching `files` may not import modules matching any of `patterns`. */
function forbid(files, patterns, message) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
    },
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
  forbid(
    ['src/evaluation/**', 'src/ruleset/**'],
    [
      'nats',
      'ioredis',
      'redis-time-series-ts',
      '**/options',
      '**/validate',
      '**/sources/**',
      '**/signals/**',
      '**/manager',
      '**/admin/**',
      '**/cli/**',
    ],
    'evaluation/ and ruleset/ are pure: no I/O libraries, options, sources, signals or layers above.',
  ),
  forbid(
    ['src/*.ts', 'src/sources/**', 'src/signals/**', 'src/nats/**', 'src/util/**', 'src/openfeature/**'],
    ['**/admin', '**/admin/**', '**/cli', '**/cli/**', '**/breaker', '**/breaker/**', '**/ui', '**/ui/**'],
    'The core (manager, sources, signals) does not import admin, breaker, ui or cli.',
  ),
  forbid(
    ['src/admin/**'],
    ['**/cli', '**/cli/**', '**/breaker', '**/breaker/**', '**/ui', '**/ui/**'],
    'The admin library does not import the breaker, the dashboard or the command line.',
  ),
  forbid(
    ['test/support/**', 'bench/lib/**'],
    ['**/cli', '**/cli/**', '**/dist/cjs/cli/**'],
    'Test and bench infrastructure does not reach into the command line.',
  ),
);
