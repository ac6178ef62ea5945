// Replays committed histories against today's workflow code: a nondeterministic change to
// workflows/ fails here. One folder per generation: test/histories/v1/ holds runs recorded before
// the decision core v2 (they replay on the frozen v1 loop), wall-clock/ runs of v2 that read the
// mirror with local activities (before `reads-as-activities`), and test/histories/ runs recorded
// since (BF_RECORD_HISTORIES=1).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const DIR = path.resolve(import.meta.dirname, 'histories');
const files = ['v1', 'wall-clock', '.'].flatMap((sub) =>
  readdirSync(path.join(DIR, sub))
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(sub, f)),
);
const histories = () =>
  files.map((f) => ({ workflowId: f, history: JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as unknown }));

async function replayErrors(options: Parameters<typeof Worker.runReplayHistories>[0]): Promise<Map<string, unknown>> {
  const errors = new Map<string, unknown>();
  for await (const result of Worker.runReplayHistories(options, histories())) {
    errors.set(result.workflowId, result.error);
  }
  return errors;
}

describe('replay of committed histories', () => {
  beforeAll(() => {
    try {
      // The negative control makes the core log nondeterminism warnings on purpose.
      Runtime.install({
        logger: new DefaultLogger('ERROR'),
        telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
      });
    } catch {
      // already installed in this process
    }
  });

  it('covers the main scenarios in every generation', () => {
    const followers = [
      'push-twice-succeed',
      'supersede',
      'retry-then-succeed',
      'pause-resume-manual',
      'continue-as-new-first-run',
      'kube-tekton-supersede-retry',
      'watched-follower-outage',
      'kube-projection-retry',
    ];
    const v1 = [...followers, 'watcher-outage-recovery'];
    const v2 = [
      ...followers,
      'flip-flop',
      'rewind-redeploy',
      'killed-after-accept',
      'budget-during-outage',
      'paused-watch-fallback',
      'continued-from-v1-state',
      'upgraded-from-v1',
    ];
    const watchers = ['watcher-outage-recovery', 'watcher-continue-as-new'];
    expect(files).toEqual(
      expect.arrayContaining([
        ...v1.map((f) => path.join('v1', `${f}.json`)),
        ...v2.map((f) => path.join('wall-clock', `${f}.json`)),
        ...[...v2, ...watchers].map((f) => `${f}.json`),
      ]),
    );
  });

  it('every history replays against the current workflow code', async () => {
    const errors = await replayErrors({
      workflowBundle: { codePath: inject('workflowBundlePath') },
      replayName: 'current',
    });
    expect(errors.size).toBe(files.length);
    for (const [file, error] of errors) expect(error, file).toBeUndefined();
  });

  it('a nondeterministic change is caught in every history (negative control)', async () => {
    const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(import.meta.dirname, 'support/altered-workflows/index.ts'),
      logger: silent,
    });
    const errors = await replayErrors({ workflowBundle: { code }, replayName: 'altered' });
    expect(errors.size).toBe(files.length);
    for (const [file, error] of errors)
      expect((error as Error | undefined)?.name, file).toBe('DeterminismViolationError');
  });
});
