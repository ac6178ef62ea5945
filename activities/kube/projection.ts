// The state projection: each follower's compact state as one key of the state ConfigMap, for
// `kubectl get configmap` readers and dashboards. Writes are resourceVersion-checked (a PUT of
// what was read), so followers writing their keys at the same time never lose each other's.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FailureCode } from '../../contract/codes.ts';
import { failure } from '../failure.ts';
import { apiStatus, kubeFailure, NO_ACCESS, type KubeAccess } from './access.ts';

export interface ProjectionInput {
  namespace: string;
  configMap: string;
  follower: string;
  /** The compact state, already free of secrets (see workflows/projection.ts). */
  entry: string;
}

export interface ProjectionResult {
  written: boolean;
  /** Why nothing was written, when it was not. */
  reason?: string;
  /** Conflicting writes retried before this one went through. */
  conflicts: number;
}

export async function projectState(
  kube: KubeAccess | undefined,
  input: ProjectionInput,
  maxConflicts: number,
): Promise<ProjectionResult> {
  if (!kube) return { written: false, reason: NO_ACCESS, conflicts: 0 };
  const where = `state ConfigMap ${input.namespace}/${input.configMap}`;
  for (let conflicts = 0; ; conflicts++) {
    let cm: V1ConfigMap;
    try {
      cm = await kube.core.readNamespacedConfigMap({ name: input.configMap, namespace: input.namespace });
    } catch (err) {
      if (apiStatus(err) === 404)
        throw failure(
          FailureCode.AdapterFailed,
          `${where} does not exist: \`branch-follower apply\` creates it`,
          false,
        );
      throw kubeFailure(`read ${where}`, err);
    }
    if (cm.data?.[input.follower] === input.entry) return { written: false, reason: 'unchanged', conflicts };
    cm.data = { ...cm.data, [input.follower]: input.entry };
    try {
      // metadata.resourceVersion is what we read: the server refuses the write if anyone wrote since.
      await kube.core.replaceNamespacedConfigMap({ name: input.configMap, namespace: input.namespace, body: cm });
      return { written: true, conflicts };
    } catch (err) {
      if (apiStatus(err) !== 409 || conflicts >= maxConflicts) throw kubeFailure(`write ${where}`, err);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * (conflicts + 1)));
    }
  }
}
