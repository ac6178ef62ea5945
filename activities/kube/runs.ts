// The built-in Kubernetes adapters: one object per trigger, of the adapter's kind (described in
// contract/kube-kinds/: a Tekton PipelineRun, a batch Job), created from the adapter's template
// with the sha rendered in. The name is the trigger key (follower, sha, run), so a trigger retried
// after a lost worker finds its own object instead of creating a second; a superseded run is
// stopped the way its kind says (a PipelineRun cancelled, a Job deleted).
import type { KubernetesObject } from '@kubernetes/client-node';
import { renderDeep, renderString } from '../../config/placeholders.ts';
import type { TriggerResult } from '../../contract/adapter.ts';
import { FailureCode } from '../../contract/codes.ts';
import { shortSha } from '../../contract/format.ts';
import { kubeKind, type RunObject } from '../../contract/kube-kinds/index.ts';
import type { KubeAdapterSpec } from '../../contract/spec.ts';
import type { AdapterCall } from '../adapter.ts';
import { failure } from '../failure.ts';
import { triggerIdFor } from '../trigger-key.ts';
import { apiStatus, kubeFailure, readObject, requireAccess, type KubeAccess } from './access.ts';
import { ANNOTATION_BRANCH, ANNOTATION_SHA, LABEL_FOLLOWER, runVerdict } from './verdicts.ts';

type KubeCall = AdapterCall<KubeAdapterSpec>;

/** The API type of the adapter's runs. */
function typeOf(call: KubeCall): { apiVersion: string; kind: string } {
  const { apiVersion, kind } = kubeKind(call.adapter.kind);
  return { apiVersion, kind };
}

/** The object to create: the template with its placeholders rendered and our name, labels and annotations set. */
export function renderRun(
  call: KubeCall,
  sha: string,
  run: number,
): KubernetesObject & { metadata: { name: string; namespace: string } } {
  const name = triggerIdFor(call.follower, sha, run);
  const values = { ...call.params, sha, branch: call.branch, follower: call.follower, triggerId: name };
  const body = renderDeep(call.adapter.template, (text) =>
    renderString(text, values, (name) => {
      throw failure(
        FailureCode.AdapterFailed,
        `adapter ${call.adapter.id} template ${call.adapter.templateFile}: no value for {${name}}`,
        false,
      );
    }),
  ) as KubernetesObject;
  return {
    ...body,
    metadata: {
      ...body.metadata,
      name,
      namespace: call.adapter.namespace,
      labels: {
        ...body.metadata?.labels,
        [LABEL_FOLLOWER]: call.follower,
        'app.kubernetes.io/managed-by': 'branch-follower',
      },
      annotations: {
        ...body.metadata?.annotations,
        [ANNOTATION_SHA]: sha,
        [ANNOTATION_BRANCH]: call.branch,
        'branch-follower.dev/run': String(run),
      },
    },
  };
}

export async function triggerRun(
  kubeAccess: KubeAccess | undefined,
  call: KubeCall,
  sha: string,
  run: number,
): Promise<TriggerResult> {
  const kube = requireAccess(kubeAccess, `adapter ${call.adapter.id}`);
  const obj = renderRun(call, sha, run);
  const what = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
  try {
    await kube.objects.create(obj);
    return { fired: true, triggerId: obj.metadata.name, jobId: obj.metadata.name, alreadyRunning: false, secrets: [] };
  } catch (err) {
    if (apiStatus(err) !== 409) throw kubeFailure(`adapter ${call.adapter.id}: create ${what}`, err, { create: true });
  }
  // It exists: ours from an earlier try of this very trigger, or somebody else's object.
  const existing = await readObject<RunObject>(kube, {
    ...typeOf(call),
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
  }).catch((err: unknown) => {
    throw kubeFailure(`adapter ${call.adapter.id}: read ${what}`, err);
  });
  const mine =
    existing?.metadata?.labels?.[LABEL_FOLLOWER] === call.follower &&
    existing.metadata.annotations?.[ANNOTATION_SHA] === sha;
  if (!mine)
    throw failure(
      FailureCode.AdapterFailed,
      `adapter ${call.adapter.id}: ${what} already exists and was not created by ${call.follower} for ${shortSha(sha)}`,
      false,
    );
  return { fired: false, triggerId: obj.metadata.name, jobId: obj.metadata.name, alreadyRunning: true, secrets: [] };
}

/** A superseded run is stopped as its kind says: a merge patch its controller acts on (Tekton cancels a PipelineRun), or deleted with its pods (a Job). */
export async function cancelRun(
  kubeAccess: KubeAccess | undefined,
  call: KubeCall,
  jobId: string | undefined,
): Promise<void> {
  if (!jobId) return; // never created: nothing to cancel
  const kube = requireAccess(kubeAccess, `adapter ${call.adapter.id}`);
  const how = kubeKind(call.adapter.kind).cancel;
  const header = { ...typeOf(call), metadata: { name: jobId, namespace: call.adapter.namespace } };
  try {
    if (how.by === 'merge-patch') {
      await kube.objects.patch(
        { ...header, ...how.patch },
        undefined,
        undefined,
        undefined,
        undefined,
        'application/merge-patch+json',
      );
    } else {
      await kube.objects.delete(header, undefined, undefined, undefined, undefined, how.propagation);
    }
  } catch (err) {
    if (apiStatus(err) === 404) return; // already gone
    throw kubeFailure(`adapter ${call.adapter.id}: cancel ${header.kind} ${call.adapter.namespace}/${jobId}`, err);
  }
}

export async function runStatus(
  kubeAccess: KubeAccess | undefined,
  call: KubeCall,
  sha: string,
  jobId: string | undefined,
  retryable: boolean,
) {
  const kind = kubeKind(call.adapter.kind);
  if (!jobId) return { phase: 'Pending' as const, message: `no ${kind.kind} created yet` };
  const kube = requireAccess(kubeAccess, `close-out check of ${call.adapter.id}`);
  try {
    const obj = await readObject<RunObject>(kube, { ...typeOf(call), namespace: call.adapter.namespace, name: jobId });
    return runVerdict(kind, obj, jobId, sha, retryable);
  } catch (err) {
    throw kubeFailure(`read ${kind.kind} ${call.adapter.namespace}/${jobId}`, err);
  }
}
