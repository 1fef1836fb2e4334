// Lint: the recommended JavaScript and typescript-eslint rules, plus the purity rule
// of machines/ (no I/O, clocks, timers or randomness), which is also enforced by a test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'docs/site/**', 'coverage/**', 'out/**', '**/*.tmp.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['bin/**/*.mjs', 'test/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly' } },
  },
  {
    files: ['machines/**/*.ts'],
    ignores: ['machines/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'net', 'http', 'http2', 'child_process', '@grpc/*'], message: 'machines/ is pure: no I/O.' },
            { group: ['**/runtime/**', '**/checker/**', '**/simulator/**', '**/conformance/**', '**/cli/**'], message: 'machines/ must not depend on its drivers.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'machines/ is deterministic.' },
        { object: 'Date', property: 'now', message: 'machines/ has no clock.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'machines/ has no clock.' }],
    },
  },
);
