// Lint is narrow on purpose: it guards the workflow sandbox. Workflow code must stay
// deterministic, so it may not import Node builtins or activity implementations (types only).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**'] },
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
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'workflows/ runs in the deterministic sandbox: no Node builtins.',
          })),
          patterns: [
            {
              group: ['**/activities', '**/activities/**', '**/worker/**', '**/client/**', '**/config/**', '**/scripts/**', '**/deploy/**', '**/bench/**', '**/test/**'],
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
);
