// tekton-pipelinerun: what a PipelineRun made for the sha says (its Succeeded condition).
// wiring.test.ts proves every layer reads the descriptor.
import { describe, expect, it } from 'vitest';
import { tektonPipelineRun as kind } from '../../../contract/kube-kinds/tekton-pipelinerun.ts';
import { sha } from '../../support/spec.ts';

const S = sha(7);
const run = (conditions: object[]) => ({
  metadata: { annotations: { 'branch-follower.dev/sha': S } },
  status: { conditions },
});

describe('tekton-pipelinerun', () => {
  it('its Succeeded condition decides: True succeeds, False fails as the check says, Unknown or none is Running', () => {
    expect(
      kind.verdict(
        run([{ type: 'Succeeded', status: 'True', reason: 'Succeeded', message: 'Tasks Completed: 3' }]),
        'r1',
        S,
        false,
      ),
    ).toEqual({ phase: 'Succeeded', sha: S, jobId: 'r1', message: 'Succeeded: Tasks Completed: 3' });
    expect(kind.verdict(run([{ type: 'Succeeded', status: 'True' }]), 'r1', S, false).message).toBe('Succeeded');
    expect(
      kind.verdict(
        run([{ type: 'Succeeded', status: 'False', reason: 'PipelineRunTimeout', message: 'timed out' }]),
        'r1',
        S,
        false,
      ),
    ).toEqual({
      phase: 'Failed',
      sha: S,
      jobId: 'r1',
      retryable: false,
      message: 'PipelineRun r1: PipelineRunTimeout: timed out',
    });
    expect(kind.verdict(run([{ type: 'Succeeded', status: 'False', reason: 'Failed' }]), 'r1', S, true)).toMatchObject({
      phase: 'Failed',
      retryable: true,
    });
    expect(kind.verdict(run([{ type: 'Succeeded', status: 'Unknown', reason: 'Running' }]), 'r1', S, false)).toEqual({
      phase: 'Running',
      sha: S,
      jobId: 'r1',
      message: 'PipelineRun r1: Running',
    });
    expect(kind.verdict(run([]), 'r1', S, false).message).toBe('PipelineRun r1: waiting for the Tekton controller');
    expect(kind.verdict({}, 'r1', S, false).phase).toBe('Running');
  });
});
