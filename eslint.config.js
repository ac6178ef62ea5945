// Lint is narrow on purpose: it guards the workflow sandbox and the module set both sides share.
// Workflow code must stay deterministic, so it may not import Node builtins or activity
// implementations (types only). The contract (contract/) and the decision core (core/) run in the
// sandbox too, and are imported by the CLI and the activities: they import nothing but each other.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noBuiltins = (where) =>
  nodeBuiltins.map((name) => ({
    name,
    message: `${where} runs in the deterministic workflow sandbox: no Node builtins.`,
  }));
const outsideSandbox = [
  '**/activities',
  '**/activities/**',
  '**/worker/**',
  '**/client/**',
  '**/config/**',
  '**/scripts/**',
  '**/deploy/**',
  '**/bench/**',
  '**/test/**',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'reports/**', '.stryker-tmp/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: noBuiltins('workflows/'),
          patterns: [
            {
              group: outsideSandbox,
              allowTypeImports: true,
              message: 'workflows/ may import only types from outside the sandbox.',
            },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              allowTypeImports: true,
              message: 'workflows/ may import only @temporalio/workflow and @temporalio/common at runtime.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: noBuiltins('contract/'),
          patterns: [
            {
              group: [...outsideSandbox, '**/workflows/**', '**/core/**'],
              message: 'contract/ is the shared contract: it imports nothing but itself.',
            },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'contract/ may import only @temporalio/workflow and @temporalio/common (message definitions).',
            },
            {
              group: ['@kubernetes/*'],
              message:
                'contract/ (the Kubernetes kinds too) is pure data and functions: the Kubernetes client is for activities/ and client/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: noBuiltins('core/'),
          patterns: [
            {
              group: [...outsideSandbox, '**/workflows/**'],
              message: 'core/ is the pure decision core: it imports only contract/ and itself.',
            },
            { group: ['@temporalio/*'], message: 'core/ is pure: no Temporal imports.' },
          ],
        },
      ],
    },
  },
);
