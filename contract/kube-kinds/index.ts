// The Kubernetes kinds the built-in adapters create, one descriptor module each (see kind.ts).
// Every layer reads them from here: the registry schema and its checks (config/), creating,
// judging and cancelling runs (activities/kube/), the Role (deploy/rbac.ts) and `logs`
// (client/cluster.ts), and the kinds table in docs/adapters.md (`npm run docs`). A new kind is a
// new module listed below, plus its tests. (The objects close-out checks read by name, such as a
// Deployment, are in checked-objects.ts.)
import type { KubeKind } from './kind.ts';
import { kubernetesJob } from './kubernetes-job.ts';
import { tektonPipelineRun } from './tekton-pipelinerun.ts';

export { apiGroupOf } from './kind.ts';
export type { CancelStrategy, KubeKind, RunObject } from './kind.ts';

/** In the order the registry schema (and its JSON Schema) lists them. */
export const KUBE_KINDS = [tektonPipelineRun, kubernetesJob] as const;

/** A built-in adapter kind, which is also the kind of the close-out check that reads its runs. */
export type KubeAdapterKind = (typeof KUBE_KINDS)[number]['name'];

export const KUBE_ADAPTER_KINDS: readonly KubeAdapterKind[] = KUBE_KINDS.map((k) => k.name);

const BY_NAME = new Map<string, KubeKind<KubeAdapterKind>>(KUBE_KINDS.map((k) => [k.name, k]));

/** The descriptor of a built-in adapter kind. */
export function kubeKind(name: KubeAdapterKind): KubeKind<KubeAdapterKind> {
  const kind = BY_NAME.get(name);
  if (!kind) throw new Error(`no built-in Kubernetes adapter kind ${JSON.stringify(name)}`);
  return kind;
}
