// The workflow bundle as released before the decision core v2, built from git: the "old worker"
// of the upgrade tests. Its workflows/ is extracted from the last commit before v2 into .data/
// (inside the repository, so its imports resolve from node_modules) and bundled once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The last commit whose workflows/ is the decision core v1. */
export const PRE_V2_COMMIT = '9e27fe5';
const ROOT = path.resolve(import.meta.dirname, '../..');

export async function v1WorkflowBundle(): Promise<string> {
  const dir = path.join(ROOT, '.data', `workflows-${PRE_V2_COMMIT}`);
  const bundle = path.join(dir, 'bundle.js');
  if (existsSync(bundle)) return bundle;
  mkdirSync(dir, { recursive: true });
  let archive: Buffer;
  try {
    archive = execFileSync('git', ['-C', ROOT, 'archive', PRE_V2_COMMIT, 'workflows'], { maxBuffer: 64 << 20 });
  } catch (err) {
    throw new Error(
      `the upgrade tests build the pre-v2 workflows from git commit ${PRE_V2_COMMIT}, which this clone lacks (a shallow clone?): ${(err as Error).message}`,
    );
  }
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  const noop = (): void => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(dir, 'workflows', 'index.ts'),
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error },
  });
  writeFileSync(bundle, code);
  return bundle;
}
