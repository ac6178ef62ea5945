// `kubernetes-job`: one batch Job per trigger. Its Complete and Failed conditions decide (Failed
// with the Job's own reason, e.g. BackoffLimitExceeded); until then its pod counts show progress.
// A superseded Job is deleted with its pods.
import { condition, defineKubeKind, said, type Condition } from './kind.ts';

interface JobStatus {
  conditions?: Condition[];
  active?: number;
  succeeded?: number;
  failed?: number;
}

export const kubernetesJob = defineKubeKind({
  name: 'kubernetes-job',
  apiVersion: 'batch/v1',
  kind: 'Job',
  podLabel: 'batch.kubernetes.io/job-name',
  rbac: { resource: 'jobs', verbs: ['create', 'get', 'delete'] },
  cancel: { by: 'delete', propagation: 'Background' },
  closesOutWhen:
    "its `Complete` condition is `True` (`Failed`: failed, with the Job's reason, e.g. `BackoffLimitExceeded`)",
  verdict(run: { status?: JobStatus }, name, sha, retryable) {
    const complete = condition(run.status?.conditions, 'Complete');
    const failed = condition(run.status?.conditions, 'Failed');
    if (complete?.status === 'True') return { phase: 'Succeeded', sha, jobId: name, message: `Job ${name} complete` };
    if (failed?.status === 'True')
      return { phase: 'Failed', sha, jobId: name, retryable, message: `Job ${name} failed: ${said(failed)}` };
    const s = run.status ?? {};
    return {
      phase: 'Running',
      sha,
      jobId: name,
      message: `Job ${name}: ${s.active ?? 0} active, ${s.succeeded ?? 0} succeeded, ${s.failed ?? 0} failed`,
    };
  },
});
