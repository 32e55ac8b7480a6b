// ESLint for the PWA in frontend/ (served as it is: no build step). `npm run check` runs it with
// the type checker; see scripts/check-frontend. Beyond the recommended rules, the ones that
// catch real bugs in a DOM app without a framework.
import js from '@eslint/js';
import globals from 'globals';

const rules = {
  ...js.configs.recommended.rules,
  // `_name`: left out on purpose, e.g. a field taken off an object by destructuring.
  'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
  eqeqeq: ['error', 'always'],
  'no-undef': 'error',
  'no-implicit-coercion': ['error', { allow: ['!!', '+'] }],
  'no-var': 'error',
  'prefer-const': ['error', { destructuring: 'all' }],
  'no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: false }],
  'array-callback-return': 'error',
  'no-promise-executor-return': ['error', { allowVoid: true }],
  'no-self-compare': 'error',
  'no-template-curly-in-string': 'error',
  'no-unmodified-loop-condition': 'error',
  'no-unreachable-loop': 'error',
  'no-constructor-return': 'error',
  'no-new-wrappers': 'error',
  'no-throw-literal': 'error',
  'no-return-assign': ['error', 'except-parens'],
  'no-console': 'error',
  // Text a person wrote must never become markup (ui.js `h()` sets textContent), and the
  // CSP forbids inline code: no HTML parsing, no eval.
  'no-eval': 'error',
  'no-implied-eval': 'error',
  'no-new-func': 'error',
  'no-script-url': 'error',
  'no-restricted-properties': [
    'error',
    { property: 'innerHTML', message: 'Build nodes with h(): text never becomes markup.' },
    { property: 'outerHTML', message: 'Build nodes with h(): text never becomes markup.' },
    { property: 'insertAdjacentHTML', message: 'Build nodes with h(): text never becomes markup.' },
    { object: 'document', property: 'write', message: 'Build nodes with h().' },
  ],
  // The shell routes to the screens and lends them what they need (ViewContext): none imports it.
  'no-restricted-imports': ['error', { patterns: [{ group: ['**/app.js'], message: 'Take it from the view context instead.' }] }],
  // window.event: a handler that forgot its parameter still runs, on the wrong event.
  'no-restricted-globals': ['error', { name: 'event', message: 'Use the listener’s own event parameter.' }],
};

export default [
  {
    files: ['frontend/**/*.js'],
    ignores: ['frontend/sw.js'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.browser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules,
  },
  {
    // The service worker: a classic script in a worker's global scope.
    files: ['frontend/sw.js'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'script', globals: globals.serviceworker },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules,
  },
];
