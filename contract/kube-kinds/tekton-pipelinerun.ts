// `tekton-pipelinerun`: one Tekton PipelineRun per trigger. Tekton's Succeeded condition decides;
// a superseded run is cancelled the way Tekton expects (spec.status: Cancelled), so it stops its
// tasks and keeps its record.
import { condition, defineKubeKind, said, type Condition } from './kind.ts';

export const tektonPipelineRun = defineKubeKind({
  name: 'tekton-pipelinerun',
  apiVersion: 'tekton.dev/v1',
  kind: 'PipelineRun',
  podLabel: 'tekton.dev/pipelineRun',
  rbac: { resource: 'pipelineruns', verbs: ['create', 'get', 'patch'] },
  cancel: { by: 'merge-patch', patch: { spec: { status: 'Cancelled' } } },
  closesOutWhen: 'its `Succeeded` condition is `True` (`False`: failed, with its reason)',
  verdict(run: { status?: { conditions?: Condition[] } }, name, sha, retryable) {
    const c = condition(run.status?.conditions, 'Succeeded');
    if (c?.status === 'True') return { phase: 'Succeeded', sha, jobId: name, message: said(c) || 'Succeeded' };
    if (c?.status === 'False')
      return { phase: 'Failed', sha, jobId: name, retryable, message: `PipelineRun ${name}: ${said(c)}` };
    return {
      phase: 'Running',
      sha,
      jobId: name,
      message: `PipelineRun ${name}: ${said(c) || 'waiting for the Tekton controller'}`,
    };
  },
});
