// The lint rules that keep the sandbox deterministic: Node builtins and runtime imports of
// activity/worker/client code are errors in workflows/ (type-only imports are fine); contract/ and
// core/, shared by both sides, import nothing but each other.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();
const lint = async (code: string, filePath = 'workflows/probe.ts') =>
  (await eslint.lintText(code, { filePath }))[0]!.messages;

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

  it.each([
    ['contract/probe.ts', "import fs from 'node:fs';"],
    ['contract/probe.ts', "import { reduce } from '../core/decide.ts';"],
    ['contract/probe.ts', "import type { FollowerActivities } from '../activities/index.ts';"],
    ['contract/probe.ts', "import { Connection } from '@temporalio/client';"],
    ['contract/kube-kinds/probe.ts', "import { KubernetesObjectApi } from '@kubernetes/client-node';"],
    ['contract/kube-kinds/probe.ts', "import { readFileSync } from 'node:fs';"],
    ['core/probe.ts', "import { createHash } from 'node:crypto';"],
    ['core/probe.ts', "import { defineSignal } from '@temporalio/workflow';"],
    ['core/probe.ts', "import { followerWorkflow } from '../workflows/follower.ts';"],
    ['core/probe.ts', "import { loadRegistry } from '../config/registry.ts';"],
  ])('refuses in %s: %s', async (file, line) => {
    const messages = await lint(`${line}\nexport const x = 1;\n`, file);
    expect(messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('lets the decision core import the contract, and the contract define messages', async () => {
    expect(
      await lint("import { canCancel } from '../contract/spec.ts';\nexport const c = canCancel;\n", 'core/probe.ts'),
    ).toEqual([]);
    expect(
      await lint(
        "import { defineSignal } from '@temporalio/workflow';\nexport const s = defineSignal('x');\n",
        'contract/probe.ts',
      ),
    ).toEqual([]);
  });

  it('the real workflows/, contract/ and core/ pass', async () => {
    const results = await eslint.lintFiles(['workflows/', 'contract/', 'core/']);
    expect(results.length).toBeGreaterThan(10);
    expect(results.flatMap((r) => r.messages)).toEqual([]);
  });
});
