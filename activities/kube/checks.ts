// Close-out checks that read runtime objects other than the adapter's own run: a Deployment's
// rollout and an Argo CD Application's sync. Read-only; the verdicts are in verdicts.ts.
import type { RuntimeStatus } from '../../contract/adapter.ts';
import { CHECKED_OBJECTS, type ObjectCheckKind } from '../../contract/kube-kinds/checked-objects.ts';
import type { CheckRule } from '../../contract/spec.ts';
import { kubeFailure, readObject, requireAccess, type KubeAccess } from './access.ts';
import { applicationVerdict, deploymentVerdict, type ApplicationObject, type DeploymentObject } from './verdicts.ts';

type ObjectRule = Extract<CheckRule, { kind: ObjectCheckKind }>;

export async function objectCheck(
  kubeAccess: KubeAccess | undefined,
  rule: ObjectRule,
  sha: string,
): Promise<RuntimeStatus> {
  const kube = requireAccess(kubeAccess, `close-out check ${rule.kind}`);
  const { apiVersion, kind } = CHECKED_OBJECTS[rule.kind];
  const header = { apiVersion, kind, namespace: rule.namespace, name: rule.name };
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
