// Close-out checks that read runtime objects other than the adapter's own run: a Deployment's
// rollout and an Argo CD Application's sync. Read-only; the verdicts are in verdicts.ts.
import type { RuntimeStatus } from '../../contract/adapter.ts';
import type { CheckRule } from '../../contract/spec.ts';
import { kubeFailure, readObject, requireAccess, type KubeAccess } from './access.ts';
import { applicationVerdict, deploymentVerdict, type ApplicationObject, type DeploymentObject } from './verdicts.ts';

type ObjectRule = Extract<CheckRule, { kind: 'deployment-rollout' | 'argocd-application' }>;

const OBJECT = {
  'deployment-rollout': { apiVersion: 'apps/v1', kind: 'Deployment' },
  'argocd-application': { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' },
} as const;

export async function objectCheck(
  kubeAccess: KubeAccess | undefined,
  rule: ObjectRule,
  sha: string,
): Promise<RuntimeStatus> {
  const kube = requireAccess(kubeAccess, `close-out check ${rule.kind}`);
  const header = { ...OBJECT[rule.kind], namespace: rule.namespace, name: rule.name };
  let obj: unknown;
  try {
    obj = await readObject(kube, header);
  } catch (err) {
    throw kubeFailure(`read ${header.kind} ${rule.namespace}/${rule.name}`, err);
  }
  return rule.kind === 'deployment-rollout'
    ? deploymentVerdict(obj as DeploymentObject | undefined, sha, rule)
    : applicationVerdict(obj as ApplicationObject | undefined, sha, rule);
}
