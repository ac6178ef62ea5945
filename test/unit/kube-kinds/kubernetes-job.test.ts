// kubernetes-job: what a Job made for the sha says (its Complete / Failed conditions, its pod
// counts). wiring.test.ts proves every layer reads the descriptor; the e2e tests run real Jobs.
import { describe, expect, it } from 'vitest';
import { kubernetesJob as kind } from '../../../contract/kube-kinds/kubernetes-job.ts';
import { sha } from '../../support/spec.ts';

const S = sha(7);
const job = (status: object) => ({ metadata: { annotations: { 'branch-follower.dev/sha': S } }, status });

describe('kubernetes-job', () => {
  it('Complete succeeds, Failed fails with its reason as the check says, otherwise counts pods', () => {
    expect(kind.verdict(job({ conditions: [{ type: 'Complete', status: 'True' }] }), 'j1', S, false)).toEqual({
      phase: 'Succeeded',
      sha: S,
      jobId: 'j1',
      message: 'Job j1 complete',
    });
    expect(
      kind.verdict(
        job({
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
          ],
        }),
        'j1',
        S,
        true,
      ),
    ).toEqual({
      phase: 'Failed',
      sha: S,
      jobId: 'j1',
      retryable: true,
      message: 'Job j1 failed: BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
    expect(kind.verdict(job({ active: 1, failed: 1 }), 'j1', S, false)).toEqual({
      phase: 'Running',
      sha: S,
      jobId: 'j1',
      message: 'Job j1: 1 active, 0 succeeded, 1 failed',
    });
    expect(
      kind.verdict(job({ conditions: [{ type: 'Failed', status: 'False' }], active: 1 }), 'j1', S, false).phase,
    ).toBe('Running');
    expect(kind.verdict({}, 'j1', S, false).message).toBe('Job j1: 0 active, 0 succeeded, 0 failed');
  });
});
