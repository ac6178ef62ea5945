// Workflow bundles as released before, built from git: the "old workers" of the upgrade tests.
// The code is extracted from a past commit into .data/ (inside the repository, so its imports
// resolve from node_modules) and bundled once.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The last commit whose workflows/ is the decision core v1. */
export const PRE_V2_COMMIT = '9e27fe5';
const ROOT = path.resolve(import.meta.dirname, '../..');

export const v1WorkflowBundle = (): Promise<string> => workflowBundleAt(PRE_V2_COMMIT, ['workflows']);

/** The last commit before followers sent notifications (patched('notifications')). */
export const PRE_NOTIFICATIONS_COMMIT = 'e301685';

/** The workflows as released at PRE_NOTIFICATIONS_COMMIT, with the core and contract they were built on. */
export const preNotificationsBundle = (): Promise<string> =>
  workflowBundleAt(PRE_NOTIFICATIONS_COMMIT, ['workflows', 'core', 'contract']);

/** The workflow bundle of `dirs` as they were at `commit`, extracted into .data/ and bundled once. */
async function workflowBundleAt(commit: string, dirs: string[]): Promise<string> {
  const dir = path.join(ROOT, '.data', `workflows-${commit}`);
  const bundle = path.join(dir, 'bundle.js');
  if (existsSync(bundle)) return bundle;
  mkdirSync(dir, { recursive: true });
  let archive: Buffer;
  try {
    archive = execFileSync('git', ['-C', ROOT, 'archive', commit, ...dirs], { maxBuffer: 64 << 20 });
  } catch (err) {
    throw new Error(
      `the upgrade tests build older workflows from git commit ${commit}, which this clone lacks (a shallow clone?): ${(err as Error).message}`,
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
