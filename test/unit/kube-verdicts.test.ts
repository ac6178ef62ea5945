// What runtime objects say about a sha (pure), and how built-in adapters name and render their runs.
// Each Kubernetes kind's own verdict is tested with its descriptor, under test/unit/kube-kinds/.
import { describe, expect, it } from 'vitest';
import { rolloutSummary } from '../../client/cluster.ts';
import {
  applicationVerdict,
  deploymentRevision,
  deploymentVerdict,
  runVerdict,
  type DeploymentObject,
} from '../../activities/kube/verdicts.ts';
import { renderRun } from '../../activities/kube/runs.ts';
import { kubernetesJob } from '../../contract/kube-kinds/kubernetes-job.ts';
import { tektonPipelineRun } from '../../contract/kube-kinds/tekton-pipelinerun.ts';
import { triggerIdFor as runName } from '../../activities/trigger-key.ts';
import type { CheckRule, KubeAdapterSpec } from '../../contract/spec.ts';
import type { AdapterCall } from '../../activities/adapter.ts';
import { sha } from '../support/spec.ts';

type DeploymentRule = Extract<CheckRule, { kind: 'deployment-rollout' }>;
const byAnnotation: DeploymentRule = {
  kind: 'deployment-rollout',
  namespace: 'lane',
  name: 'web',
  revision: { annotation: 'example.com/git-sha' },
  retryable: false,
};
const byImage: DeploymentRule = { ...byAnnotation, revision: { imageTag: { container: 'web' } }, retryable: true };
const S = sha(7);

function deployment(
  over: {
    annotation?: string;
    image?: string;
    generation?: number;
    status?: DeploymentObject['status'];
    replicas?: number;
  } = {},
): DeploymentObject {
  return {
    metadata: { generation: over.generation ?? 2 },
    spec: {
      replicas: over.replicas ?? 2,
      template: {
        metadata: { annotations: over.annotation ? { 'example.com/git-sha': over.annotation } : {} },
        spec: {
          containers: [
            { name: 'sidecar', image: 'proxy:9' },
            { name: 'web', image: over.image ?? 'registry:5000/team/web:1.0' },
          ],
        },
      },
    },
    status: over.status ?? { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
  };
}

describe('deployment-rollout verdict', () => {
  it("reads the revision from the pod template annotation, or from the named container's image tag (digest and registry port ignored)", () => {
    expect(deploymentRevision(deployment({ annotation: S }), byAnnotation.revision)).toBe(S);
    expect(deploymentRevision({ metadata: { annotations: { 'example.com/git-sha': S } } }, byAnnotation.revision)).toBe(
      S,
    );
    expect(
      deploymentRevision(
        deployment({ image: `registry:5000/team/web:sha-${S.slice(0, 7)}@sha256:${'e'.repeat(64)}` }),
        byImage.revision,
      ),
    ).toBe(`sha-${S.slice(0, 7)}`);
    expect(deploymentRevision(deployment({ image: 'registry:5000/team/web' }), byImage.revision)).toBeUndefined();
  });

  it('is Pending while the Deployment is missing or on another revision, naming what it is on', () => {
    expect(deploymentVerdict(undefined, S, byAnnotation)).toEqual({
      phase: 'Pending',
      message: 'deployment lane/web does not exist yet',
    });
    expect(deploymentVerdict(deployment({ annotation: sha(6) }), S, byAnnotation)).toEqual({
      phase: 'Pending',
      sha: sha(6),
      message: `deployment lane/web is on ${sha(6)}; waiting for ${S.slice(0, 12)}`,
    });
    expect(deploymentVerdict(deployment({ image: 'web:latest' }), S, byImage)).toMatchObject({
      phase: 'Pending',
      message: `deployment lane/web is on latest; waiting for ${S.slice(0, 12)}`,
    });
  });

  it('is Running until the new generation is observed and every replica is updated and available, with no old ones left', () => {
    const on = (status: DeploymentObject['status']) =>
      deploymentVerdict(deployment({ annotation: S, status }), S, byAnnotation);
    expect(on({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).toEqual({
      phase: 'Running',
      sha: S,
      message: 'deployment lane/web rolling out: new generation not observed yet',
    });
    expect(on({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 })).toEqual({
      phase: 'Running',
      sha: S,
      message: 'deployment lane/web rolling out: 1/2 updated, 2/2 available, 1 old still running',
    });
    expect(on({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }).phase).toBe('Running');
    expect(on({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).toEqual({
      phase: 'Succeeded',
      sha: S,
      message: 'deployment lane/web rolled out: 2/2 updated, 2/2 available',
    });
  });

  it("status says the worker Deployment's rollout by the same test: rolled out, rolling out, or failed", () => {
    const done = { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
    expect(rolloutSummary(deployment({ status: done }))).toBe('rolled out: 2/2 updated, 2/2 available');
    // Not observed yet: the counts are the old generation's, so it is not rolled out.
    expect(rolloutSummary(deployment({ status: { ...done, observedGeneration: 1 } }))).toBe(
      'rolling out: 2/2 updated, 2/2 available',
    );
    expect(
      rolloutSummary(
        deployment({ status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 } }),
      ),
    ).toBe('rolling out: 1/2 updated, 2/2 available, 1 old still running');
    const stuck = {
      ...done,
      availableReplicas: 1,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    };
    expect(rolloutSummary(deployment({ status: stuck }))).toBe(
      'rollout failed (ProgressDeadlineExceeded): 2/2 updated, 1/2 available',
    );
    // No replicas field: Kubernetes defaults it to 1.
    expect(rolloutSummary({ metadata: { generation: 1 }, status: { observedGeneration: 1 } })).toBe(
      'rolling out: 0/1 updated, 0/1 available',
    );
  });

  it('fails on ProgressDeadlineExceeded, retryable as the check says; an image tag holding the short sha counts', () => {
    const stuck = {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-1" has timed out progressing.',
        },
      ],
    };
    expect(deploymentVerdict(deployment({ image: `web:${S.slice(0, 7)}`, status: stuck }), S, byImage)).toEqual({
      phase: 'Failed',
      sha: S,
      retryable: true,
      message:
        'deployment lane/web rollout failed: ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.',
    });
  });
});

describe('runs of built-in adapters', () => {
  const run = (conditions: object[], annotations: Record<string, string> = { 'branch-follower.dev/sha': S }) => ({
    metadata: { annotations },
    status: { conditions },
  });

  it('a run deleted before it finished fails retryably, named by its kind', () => {
    expect(runVerdict(tektonPipelineRun, undefined, 'r1', S, false)).toMatchObject({
      phase: 'Failed',
      sha: S,
      jobId: 'r1',
      retryable: true,
      message: 'PipelineRun r1 no longer exists (deleted before it finished)',
    });
    expect(runVerdict(kubernetesJob, undefined, 'j1', S, false).message).toBe(
      'Job j1 no longer exists (deleted before it finished)',
    );
  });

  it('refuses a run that was made for another sha', () => {
    expect(
      runVerdict(
        kubernetesJob,
        run([{ type: 'Complete', status: 'True' }], { 'branch-follower.dev/sha': sha(1) }),
        'j1',
        S,
        false,
      ),
    ).toMatchObject({
      phase: 'Failed',
      retryable: false,
      message: `Job j1 is for ${sha(1).slice(0, 12)}, not ${S.slice(0, 12)}`,
    });
  });

  it('otherwise its kind judges it (test/unit/kube-kinds/)', () => {
    const done = run([{ type: 'Succeeded', status: 'True', reason: 'Succeeded' }]);
    expect(runVerdict(tektonPipelineRun, done, 'r1', S, true)).toEqual(tektonPipelineRun.verdict(done, 'r1', S, true));
    expect(runVerdict(kubernetesJob, run([]), 'j1', S, true)).toEqual(kubernetesJob.verdict(run([]), 'j1', S, true));
  });
});

describe('argocd-application verdict', () => {
  const rule = { kind: 'argocd-application' as const, namespace: 'argocd', name: 'web', retryable: false };
  const app = (status: object) => ({ status });

  it('succeeds only when synced to the sha and Healthy', () => {
    expect(
      applicationVerdict(app({ sync: { status: 'Synced', revision: S }, health: { status: 'Healthy' } }), S, rule),
    ).toEqual({ phase: 'Succeeded', sha: S, message: 'application argocd/web Synced and Healthy' });
    expect(
      applicationVerdict(app({ sync: { status: 'Synced', revision: S }, health: { status: 'Progressing' } }), S, rule),
    ).toEqual({ phase: 'Running', sha: S, message: 'application argocd/web Synced, Progressing' });
    expect(
      applicationVerdict(app({ sync: { status: 'Synced', revision: sha(1) }, health: { status: 'Healthy' } }), S, rule),
    ).toEqual({
      phase: 'Pending',
      sha: sha(1),
      message: `application argocd/web is at ${sha(1).slice(0, 12)} (Synced, Healthy); waiting for ${S.slice(0, 12)}`,
    });
    expect(applicationVerdict(undefined, S, rule)).toEqual({
      phase: 'Pending',
      message: 'application argocd/web does not exist yet',
    });
  });

  it("fails on a failed sync of the sha or a Degraded app on it, not on an old sha's failed sync", () => {
    expect(
      applicationVerdict(
        app({
          sync: { status: 'OutOfSync', revision: sha(1) },
          operationState: {
            phase: 'Failed',
            message: 'one or more objects failed to apply',
            syncResult: { revision: S },
          },
        }),
        S,
        rule,
      ),
    ).toEqual({
      phase: 'Failed',
      sha: S,
      retryable: false,
      message: 'application argocd/web sync Failed: one or more objects failed to apply',
    });
    expect(
      applicationVerdict(
        app({ sync: { status: 'Synced', revision: S }, health: { status: 'Degraded', message: 'crash loop' } }),
        S,
        rule,
      ),
    ).toMatchObject({ phase: 'Failed', message: 'application argocd/web Degraded: crash loop' });
    expect(
      applicationVerdict(
        app({
          sync: { status: 'Synced', revision: sha(1) },
          operationState: { phase: 'Error', operation: { sync: { revision: sha(1) } } },
        }),
        S,
        rule,
      ).phase,
    ).toBe('Pending');
  });
});

describe('built-in adapter runs', () => {
  const call = (follower: string, template: Record<string, unknown>): AdapterCall<KubeAdapterSpec> => ({
    follower,
    branch: 'release/v1',
    configRef: 'lanes.yaml',
    params: { lane: 'blue' },
    adapter: {
      id: 'job',
      kind: 'kubernetes-job',
      timeoutMs: 1000,
      env: [],
      namespace: 'lanes',
      template,
      templateFile: 'job.yaml',
    },
  });

  it('names a run by its trigger key <follower>-<sha8>-<run>, at most 63 characters, and keeps long follower ids apart', () => {
    expect(runName('web', S, 2)).toBe(`web-${S.slice(0, 8)}-2`);
    const long = 'a'.repeat(60);
    const a = runName(`${long}-one`, S, 1);
    const b = runName(`${long}-two`, S, 1);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(runName(`${long}-one`, S, 1)).toBe(a);
  });

  it('renders placeholders in string values only, and sets the name, namespace, labels and annotations itself', () => {
    const obj = renderRun(
      call('web', {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { labels: { team: 'x' } },
        spec: {
          parallelism: 1,
          template: { spec: { containers: [{ args: ['{sha}', '--branch={branch}', '{lane}', '{follower}'] }] } },
        },
      }),
      S,
      3,
    );
    expect(obj.metadata).toEqual({
      name: `web-${S.slice(0, 8)}-3`,
      namespace: 'lanes',
      labels: { team: 'x', 'branch-follower.dev/follower': 'web', 'app.kubernetes.io/managed-by': 'branch-follower' },
      annotations: {
        'branch-follower.dev/sha': S,
        'branch-follower.dev/branch': 'release/v1',
        'branch-follower.dev/run': '3',
      },
    });
    expect(obj).toMatchObject({
      spec: {
        parallelism: 1,
        template: { spec: { containers: [{ args: [S, '--branch=release/v1', 'blue', 'web'] }] } },
      },
    });
  });

  it('refuses a placeholder it has no value for', () => {
    expect(() => renderRun(call('web', { apiVersion: 'batch/v1', kind: 'Job', spec: { x: '{nope}' } }), S, 1)).toThrow(
      'adapter job template job.yaml: no value for {nope}',
    );
  });
});
