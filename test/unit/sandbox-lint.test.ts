// The lint rule that keeps workflows/ deterministic: Node builtins and runtime imports of
// activity/worker/client code are errors there; type-only imports are fine.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();
const lint = async (code: string, filePath = 'workflows/probe.ts') => (await eslint.lintText(code, { filePath }))[0]!.messages;

describe('workflow sandbox lint', () => {
  it.each([
    "import fs from 'node:fs';",
    "import { spawn } from 'child_process';",
    "import { createActivities } from '../activities/index.ts';",
    "import { Connection } from '@temporalio/client';",
    "import { loadRegistry } from '../config/registry.ts';",
  ])('refuses %s in workflows/', async (line) => {
    const messages = await lint(`${line}\nexport const x = 1;\n`);
    expect(messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('allows type-only imports and the workflow SDK', async () => {
    const messages = await lint(
      "import type { FollowerActivities } from '../activities/index.ts';\nimport { sleep } from '@temporalio/workflow';\nexport type A = FollowerActivities;\nexport const s = sleep;\n",
    );
    expect(messages).toEqual([]);
  });

  it('does not restrict code outside workflows/', async () => {
    expect(await lint("import fs from 'node:fs';\nexport const f = fs;\n", 'activities/probe.ts')).toEqual([]);
  });

  it('the real workflows/ passes', async () => {
    const results = await eslint.lintFiles(['workflows/']);
    expect(results.length).toBeGreaterThan(0);
    expect(results.flatMap((r) => r.messages)).toEqual([]);
  });
});
