// What a runtime object says about a sha, as a RuntimeStatus: pure functions over the objects the
// close-out checks read (Deployment, Argo CD Application, and the runs of built-in adapters, which
// their kinds judge: contract/kube-kinds/).
import type { RuntimeStatus } from '../../contract/adapter.ts';
import { shortSha as short } from '../../contract/format.ts';
import type { KubeKind, RunObject } from '../../contract/kube-kinds/index.ts';
import { condition, said, type Condition } from '../../contract/kube-kinds/kind.ts';
import type { CheckRule } from '../../contract/spec.ts';

/** The labels and annotations every object a built-in adapter creates carries. */
export const LABEL_FOLLOWER = 'branch-follower.dev/follower';
export const ANNOTATION_SHA = 'branch-follower.dev/sha';
export const ANNOTATION_BRANCH = 'branch-follower.dev/branch';

interface Meta {
  name?: string;
  namespace?: string;
  generation?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface DeploymentObject {
  metadata?: Meta;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: Meta; spec?: { containers?: { name: string; image?: string }[] } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    conditions?: Condition[];
  };
}

type DeploymentRule = Extract<CheckRule, { kind: 'deployment-rollout' }>;

/** The revision a Deployment is on: its (pod template's) annotation, or a container's image tag. */
export function deploymentRevision(d: DeploymentObject, revision: DeploymentRule['revision']): string | undefined {
  if ('annotation' in revision)
    return (
      d.spec?.template?.metadata?.annotations?.[revision.annotation] ?? d.metadata?.annotations?.[revision.annotation]
    );
  const image = d.spec?.template?.spec?.containers?.find((c) => c.name === revision.imageTag.container)?.image;
  if (!image) return undefined;
  const tag = /:([^:/@]+)(@|$)/.exec(image.slice(image.lastIndexOf('/') + 1));
  return tag?.[1];
}

/** An annotation holds the full sha; an image tag counts when it contains the sha's first 7 characters. */
function onSha(revision: string | undefined, sha: string, rule: DeploymentRule): boolean {
  if (!revision) return false;
  return 'annotation' in rule.revision ? revision === sha : revision === sha || revision.includes(sha.slice(0, 7));
}

/** Where a Deployment's rollout stands, as its controller reports it (the test `kubectl rollout status` makes). */
export function rolloutOf(d: Pick<DeploymentObject, 'metadata' | 'spec' | 'status'>): {
  want: number;
  observed: boolean;
  done: boolean;
  /** Its replica counts, for messages: `2/3 updated, 3/3 available, 1 old still running`. */
  figures: string;
  deadlineExceeded?: Condition;
} {
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const observed = (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const done =
    observed &&
    (st.updatedReplicas ?? 0) === want &&
    (st.replicas ?? 0) === want &&
    (st.availableReplicas ?? 0) === want;
  const progressing = condition(st.conditions, 'Progressing');
  const old = (st.replicas ?? 0) - want;
  return {
    want,
    observed,
    done,
    figures: `${st.updatedReplicas ?? 0}/${want} updated, ${st.availableReplicas ?? 0}/${want} available${old > 0 ? `, ${old} old still running` : ''}`,
    ...(progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded'
      ? { deadlineExceeded: progressing }
      : {}),
  };
}

export function deploymentVerdict(d: DeploymentObject | undefined, sha: string, rule: DeploymentRule): RuntimeStatus {
  const where = `deployment ${rule.namespace}/${rule.name}`;
  if (!d) return { phase: 'Pending', message: `${where} does not exist yet` };
  const revision = deploymentRevision(d, rule.revision);
  const sha40 = revision && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(revision) ? revision : undefined;
  if (!onSha(revision, sha, rule)) {
    return {
      phase: 'Pending',
      ...(sha40 ? { sha: sha40 } : {}),
      message: `${where} is on ${revision ?? 'no revision'}; waiting for ${short(sha)}`,
    };
  }
  const { observed, done, figures, deadlineExceeded } = rolloutOf(d);
  if (deadlineExceeded)
    return {
      phase: 'Failed',
      sha,
      retryable: rule.retryable,
      message: `${where} rollout failed: ${said(deadlineExceeded)}`,
    };
  if (done) return { phase: 'Succeeded', sha, message: `${where} rolled out: ${figures}` };
  return {
    phase: 'Running',
    sha,
    message: `${where} rolling out: ${observed ? figures : 'new generation not observed yet'}`,
  };
}

/** A run a built-in adapter created for `sha`: gone, or made for another sha, fails here; otherwise its kind judges it. */
export function runVerdict(
  kind: KubeKind,
  obj: RunObject | undefined,
  name: string,
  sha: string,
  retryable: boolean,
): RuntimeStatus {
  if (!obj)
    return {
      phase: 'Failed',
      sha,
      jobId: name,
      retryable: true,
      message: `${kind.kind} ${name} no longer exists (deleted before it finished)`,
    };
  const runSha = obj.metadata?.annotations?.[ANNOTATION_SHA];
  if (runSha && runSha !== sha)
    return {
      phase: 'Failed',
      jobId: name,
      retryable: false,
      message: `${kind.kind} ${name} is for ${short(runSha)}, not ${short(sha)}`,
    };
  return kind.verdict(obj, name, sha, retryable);
}

export interface ApplicationObject {
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    operationState?: {
      phase?: string;
      message?: string;
      syncResult?: { revision?: string };
      operation?: { sync?: { revision?: string } };
    };
  };
}

type ApplicationRule = Extract<CheckRule, { kind: 'argocd-application' }>;

/** Argo CD: synced to the sha and Healthy succeeds; a failed sync or a Degraded app on the sha fails. */
export function applicationVerdict(
  app: ApplicationObject | undefined,
  sha: string,
  rule: ApplicationRule,
): RuntimeStatus {
  const where = `application ${rule.namespace}/${rule.name}`;
  if (!app) return { phase: 'Pending', message: `${where} does not exist yet` };
  const st = app.status ?? {};
  const revision = st.sync?.revision;
  const sync = st.sync?.status ?? 'Unknown';
  const health = st.health?.status ?? 'Unknown';
  const op = st.operationState;
  const opRevision = op?.syncResult?.revision ?? op?.operation?.sync?.revision;
  if (op && (op.phase === 'Failed' || op.phase === 'Error') && opRevision === sha) {
    return {
      phase: 'Failed',
      sha,
      retryable: rule.retryable,
      message: `${where} sync ${op.phase}: ${op.message ?? ''}`.trim(),
    };
  }
  const sha40 = revision && /^[0-9a-f]{40}$/.test(revision) ? revision : undefined;
  if (revision !== sha) {
    return {
      phase: 'Pending',
      ...(sha40 ? { sha: sha40 } : {}),
      message: `${where} is at ${revision ? short(revision) : 'no revision'} (${sync}, ${health}); waiting for ${short(sha)}`,
    };
  }
  if (sync === 'Synced' && health === 'Healthy')
    return { phase: 'Succeeded', sha, message: `${where} Synced and Healthy` };
  if (health === 'Degraded')
    return {
      phase: 'Failed',
      sha,
      retryable: rule.retryable,
      message: `${where} Degraded${st.health?.message ? `: ${st.health.message}` : ''}`,
    };
  return { phase: 'Running', sha, message: `${where} ${sync}, ${health}` };
}
