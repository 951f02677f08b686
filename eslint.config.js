// Layer rules of the house (see docs/architecture.md):
//   core/     never imports electron/, renderer/ or drivers/, nor Electron, Vue, Pinia or usb; no DOM globals.
//   drivers/  never import core/ (core declares ports, a composition root wires them), nor a shell or the UI.
//   renderer/ reaches the core only through the contract (core/contract) and its client; no native or Node modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import pluginVue from 'eslint-plugin-vue';

const domGlobals = ['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'HTMLElement', 'location'].map(
  (name) => ({ name, message: 'core/ and drivers/ run outside the browser: no DOM globals.' }),
);

const shellsAndUi = (...extra) => [
  { group: ['electron', 'electron/*', 'vue', 'pinia', 'vue-router', ...extra], message: 'This layer must not depend on a shell or the UI.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'coverage/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Vue single-file components: the template is checked by eslint-plugin-vue, the script by typescript-eslint.
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
    rules: {
      // Screen files are named after the screen (People.vue, Tags.vue), as the router and docs call them.
      'vue/multi-word-component-names': 'off',
      // TypeScript checks names (vue-tsc); no-undef does not know DOM types such as BlobPart.
      'no-undef': 'off',
      // Formatting is not lint's job here; these rules only fight the template style.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip)$/]", message: 'Focused or skipped tests hide failures.' },
      ],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/electron/**', '**/renderer/**', '**/drivers/**'], message: 'core/ must not import electron/, renderer/ or drivers/: declare a port in core and wire it in a composition root.' },
            ...shellsAndUi('usb'),
          ],
        },
      ],
      'no-restricted-globals': ['error', ...domGlobals],
    },
  },
  {
    files: ['drivers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/core/**', '**/electron/**', '**/renderer/**'], message: 'drivers/ must not import core/ or a shell: satisfy the port structurally.' },
            ...shellsAndUi(),
          ],
        },
      ],
      'no-restricted-globals': ['error', ...domGlobals],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['better-sqlite3', 'usb', 'node:*', 'fs', 'path', 'child_process', 'os', 'crypto'], message: 'renderer/ must not use native or Node modules: go through the contract client.' },
            { group: ['**/core/**', '!**/core/contract', '!**/core/contract/**'], message: 'renderer/ may import only core/contract (types and schemas).' },
            { group: ['**/drivers/**', '**/electron/main/**'], message: 'renderer/ must not import drivers or the main process.' },
          ],
        },
      ],
    },
  },
);
