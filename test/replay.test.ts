// Replays committed histories (recorded from the e2e scenarios with BF_RECORD_HISTORIES=1)
// against today's workflow code: a nondeterministic change to workflows/ fails here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const DIR = path.resolve(import.meta.dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const histories = () => files.map((f) => ({ workflowId: f, history: JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as unknown }));

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

  it('covers the main scenarios', () => {
    expect(files).toEqual(
      expect.arrayContaining(['push-twice-succeed.json', 'supersede.json', 'retry-then-succeed.json', 'pause-resume-manual.json', 'continue-as-new-first-run.json', 'kube-tekton-supersede-retry.json', 'watcher-outage-recovery.json', 'watched-follower-outage.json', 'kube-projection-retry.json']),
    );
  });

  it('every history replays against the current workflow code', async () => {
    const errors = await replayErrors({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: 'current' });
    expect(errors.size).toBe(files.length);
    for (const [file, error] of errors) expect(error, file).toBeUndefined();
  });

  it('a nondeterministic change is caught (negative control)', async () => {
    const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const { code } = await bundleWorkflowCode({ workflowsPath: path.resolve(import.meta.dirname, 'support/altered-workflows/index.ts'), logger: silent });
    const errors = await replayErrors({ workflowBundle: { code }, replayName: 'altered' });
    for (const [file, error] of errors) expect((error as Error | undefined)?.name, file).toBe('DeterminismViolationError');
  });
});
