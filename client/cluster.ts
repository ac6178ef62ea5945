// The cluster half of plan/apply: the rendered controller objects against the live cluster.
// `plan` asks the API server for a server-side-apply dry run of each object and diffs it with
// what is live; `apply` server-side-applies them with our field manager; `--wait` follows the
// worker Deployment's rollout and, when it does not finish within its YAML budget, says why
// (its conditions, its pods' states and the namespace's recent events).
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, PatchStrategy, type CoreV1Event, type KubernetesObject } from '@kubernetes/client-node';
import { createTwoFilesPatch } from 'diff';
import YAML from 'yaml';
import { accessFor, apiMessage, apiStatus, readObject, type KubeAccess } from '../activities/kube/access.ts';
import { rolloutOf, type DeploymentObject } from '../activities/kube/verdicts.ts';
import { parseDuration } from '../config/duration.ts';
import type { Registry } from '../config/registry.ts';
import { kubeKind } from '../contract/kube-kinds/index.ts';
import type { KubeAdapterSpec } from '../contract/spec.ts';
import { kubernetesOf, renderObjects, type KubeObject } from '../deploy/render.ts';
import { CliError, Exit } from './output.ts';

/** Where the operator's cluster is: --kubeconfig and --context, when given. */
export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
}

/**
 * The operator's Kubernetes access: --kubeconfig, else $KUBECONFIG or ~/.kube/config, else
 * in-cluster; the context from --context, else the registry's if it names one, else the current.
 */
export function operatorKubeAccess(
  registry: Registry,
  { kubeconfig, context: contextFlag }: KubeTarget = {},
): KubeAccess {
  const k = kubernetesOf(registry);
  const kc = new KubeConfig();
  const file =
    kubeconfig ??
    process.env.KUBECONFIG?.split(path.delimiter).find(Boolean) ??
    path.join(os.homedir(), '.kube', 'config');
  if (kubeconfig || existsSync(file)) {
    if (kubeconfig && !existsSync(kubeconfig))
      throw new CliError(
        `kubeconfig ${kubeconfig} does not exist`,
        'pass --kubeconfig with an existing file',
        Exit.Usage,
      );
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new CliError(
      'no Kubernetes configuration: no --kubeconfig, $KUBECONFIG or ~/.kube/config',
      'point --kubeconfig at the cluster, or use --scope followers to manage only the followers',
      Exit.Usage,
    );
  }
  const context = contextFlag ?? k.context;
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new CliError(
        `kubeconfig has no context "${context}" (${contextFlag ? '--context' : 'controller.kubernetes.context'})`,
        `contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }`,
        Exit.Usage,
      );
    }
    kc.setCurrentContext(context);
  }
  return accessFor(kc, `context ${kc.getCurrentContext()}`);
}

export type ClusterAction = 'create' | 'configure' | 'unchanged';

export interface ClusterPlanItem {
  object: string;
  action: ClusterAction;
  /** Changed field paths (configure). */
  changes: string[];
  /** A unified diff of live → applied, for --diff. */
  diff: string;
}

const ref = (o: KubeObject): string =>
  `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** A server-side-apply dry run of every object, compared with what is live. Writes nothing. */
export async function planCluster(kube: KubeAccess, registry: Registry): Promise<ClusterPlanItem[]> {
  const fieldManager = kubernetesOf(registry).fieldManager;
  const items: ClusterPlanItem[] = [];
  for (const obj of renderObjects(registry)) {
    const live = await readObject<KubernetesObject>(kube, {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name,
    }).catch((err: unknown) => {
      throw clusterError(`read ${ref(obj)}`, err);
    });
    // A namespace that does not exist yet cannot take a dry run of what goes in it.
    const dry =
      live || obj.kind === 'Namespace' || (await namespaceExists(kube, obj.metadata.namespace))
        ? await apply(kube, obj, fieldManager, { dryRun: true, force: false })
        : obj;
    const before = live ? comparable(live) : undefined;
    const after = comparable(dry);
    const changes = before ? changedPaths(before, after) : [];
    items.push({
      object: ref(obj),
      action: !live ? 'create' : changes.length ? 'configure' : 'unchanged',
      changes,
      diff:
        !live || changes.length
          ? createTwoFilesPatch(
              `live/${ref(obj)}`,
              `applied/${ref(obj)}`,
              before ? YAML.stringify(before) : '',
              YAML.stringify(after),
              undefined,
              undefined,
              { context: 3 },
            )
          : '',
    });
  }
  return items;
}

async function namespaceExists(kube: KubeAccess, name: string | undefined): Promise<boolean> {
  if (!name) return true;
  return Boolean(await readObject(kube, { apiVersion: 'v1', kind: 'Namespace', namespace: '', name }));
}

/** Server-side apply of every object in order (the Namespace first), with our field manager. */
export async function applyCluster(
  kube: KubeAccess,
  registry: Registry,
  opts: { force: boolean },
  log: (line: string) => void,
): Promise<void> {
  const fieldManager = kubernetesOf(registry).fieldManager;
  for (const obj of renderObjects(registry)) {
    await apply(kube, obj, fieldManager, { dryRun: false, force: opts.force });
    log(`applied ${ref(obj)}`);
  }
}

async function apply(
  kube: KubeAccess,
  obj: KubeObject,
  fieldManager: string,
  opts: { dryRun: boolean; force: boolean },
): Promise<KubernetesObject> {
  try {
    return await kube.objects.patch(
      obj,
      undefined,
      opts.dryRun ? 'All' : undefined,
      fieldManager,
      opts.force,
      PatchStrategy.ServerSideApply,
    );
  } catch (err) {
    throw clusterError(`${opts.dryRun ? 'dry-run apply' : 'apply'} ${ref(obj)}`, err);
  }
}

function clusterError(what: string, err: unknown): CliError {
  const code = apiStatus(err);
  const hint =
    code === 409
      ? 'another field manager owns these fields; resolve it, or take them over with --force-conflicts'
      : code === 403 || code === 401
        ? 'your Kubernetes identity may not do this; apply needs rights to create Namespaces, RBAC, ConfigMaps and Deployments'
        : code === undefined
          ? 'is the cluster reachable? check --kubeconfig and --context (or controller.kubernetes.context)'
          : 'see the API server message above';
  return new CliError(`${what}: ${apiMessage(err)}`, hint, code === undefined ? Exit.Unreachable : Exit.Failed);
}

/** What is worth comparing: no server bookkeeping, no status. */
function comparable(o: KubernetesObject): Record<string, unknown> {
  const { status: _status, ...rest } = o as KubernetesObject & { status?: unknown };
  const meta = { ...(rest.metadata ?? {}) } as Record<string, unknown>;
  for (const key of ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp']) delete meta[key];
  const annotations = { ...(meta.annotations as Record<string, string> | undefined) };
  delete annotations['deployment.kubernetes.io/revision'];
  meta.annotations = Object.keys(annotations).length ? annotations : undefined;
  if (meta.annotations === undefined) delete meta.annotations;
  return JSON.parse(JSON.stringify({ ...rest, metadata: meta })) as Record<string, unknown>;
}

/** Leaf paths whose values differ, such as spec.template.spec.containers[0].image. */
export function changedPaths(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) =>
      changedPaths(a[k], b[k], at ? `${at}.${k}` : k),
    );
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
    return a.flatMap((v, i) => changedPaths(v, b[i], `${at}[${i}]`));
  return [at || '(object)'];
}

export interface RolloutResult {
  ok: boolean;
  message: string;
}

/** Follows the worker Deployment until it is rolled out or its YAML budget is spent. */
export async function waitRollout(
  kube: KubeAccess,
  registry: Registry,
  progress: (line: string) => void,
): Promise<RolloutResult> {
  const k = kubernetesOf(registry);
  const budgetMs = parseDuration(k.deployment.rollout.budget);
  const pollMs = parseDuration(k.deployment.rollout.pollInterval);
  const where = `deployment ${k.namespace}/${k.deployment.name}`;
  const started = Date.now();
  let last = '';
  for (;;) {
    const d = await readObject<DeploymentObject>(kube, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: k.namespace,
      name: k.deployment.name,
    }).catch((err: unknown) => {
      throw clusterError(`read ${where}`, err);
    });
    const elapsed = Date.now() - started;
    if (!d) throw new CliError(`${where} does not exist`, 'apply it first (apply --confirm)', Exit.Failed);
    const { want, observed, done, deadlineExceeded: stuck } = rolloutOf(d);
    const s = d.status ?? {};
    const line = `${where}: generation ${d.metadata?.generation ?? '?'} ${observed ? 'observed' : `(controller has seen ${s.observedGeneration ?? 'none'})`}; updated ${s.updatedReplicas ?? 0}/${want}, ready ${s.readyReplicas ?? 0}/${want}, available ${s.availableReplicas ?? 0}/${want}`;
    if (line !== last) progress(`${line} (${Math.round(elapsed / 1000)}s of ${k.deployment.rollout.budget})`);
    last = line;
    if (done)
      return {
        ok: true,
        message: `${where} rolled out: ${want}/${want} available in ${Math.round(elapsed / 1000)}s (budget ${k.deployment.rollout.budget}, controller.kubernetes.deployment.rollout.budget)`,
      };
    if (stuck || elapsed >= budgetMs) {
      const why = await rolloutDiagnosis(kube, k.namespace, k.deployment.name, d);
      const head = stuck
        ? `${where} failed to roll out: ${stuck.reason}`
        : `${where} not rolled out within its budget ${k.deployment.rollout.budget} (controller.kubernetes.deployment.rollout.budget)`;
      return { ok: false, message: [head, ...why].join('\n') };
    }
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, budgetMs - elapsed))));
  }
}

/** Conditions, pod states and recent events around a Deployment: what `kubectl describe` would show. */
async function rolloutDiagnosis(
  kube: KubeAccess,
  namespace: string,
  name: string,
  d: DeploymentObject,
): Promise<string[]> {
  const lines: string[] = [];
  for (const c of d.status?.conditions ?? [])
    lines.push(
      `  condition ${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`,
    );
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: selector }).catch(() => undefined);
  const names = new Set([name]);
  for (const p of pods?.items ?? []) {
    names.add(p.metadata?.name ?? '');
    for (const o of p.metadata?.ownerReferences ?? []) names.add(o.name);
    const waiting = p.status?.containerStatuses?.map((c) => c.state?.waiting?.reason).filter(Boolean) ?? [];
    const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    lines.push(
      `  pod ${p.metadata?.name}: ${p.status?.phase ?? 'Unknown'}${unscheduled ? ` (${unscheduled.reason}: ${unscheduled.message})` : ''}${waiting.length ? ` (${waiting.join(', ')})` : ''}`,
    );
  }
  const events = await kube.core.listNamespacedEvent({ namespace }).catch(() => undefined);
  const around = (events?.items ?? [])
    .filter((e) => names.has(e.involvedObject.name ?? ''))
    .sort((a, b) => eventTime(a) - eventTime(b));
  // Every warning (the likely reason), and the last few normal events for context.
  const normal = new Set(around.filter((e) => e.type !== 'Warning').slice(-4));
  const relevant = around.filter((e) => e.type === 'Warning' || normal.has(e)).slice(-12);
  for (const e of relevant)
    lines.push(
      `  event ${[e.type, e.reason, `${e.involvedObject.kind}/${e.involvedObject.name}:`, e.message].filter(Boolean).join(' ').replace(/\s+/g, ' ')}`,
    );
  if (!relevant.length) lines.push('  no events recorded for the deployment or its pods');
  return lines;
}

const eventTime = (e: CoreV1Event): number =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();

/** The logs of a built-in adapter's run: every container of every pod it made (last lines of each). */
export async function runLogs(
  kube: KubeAccess,
  adapter: KubeAdapterSpec,
  jobId: string,
  tailLines: number,
): Promise<{ header: string; text: string; error?: string }[]> {
  const pods = await kube.core
    .listNamespacedPod({ namespace: adapter.namespace, labelSelector: `${kubeKind(adapter.kind).podLabel}=${jobId}` })
    .catch((err: unknown) => {
      throw clusterError(`list pods of ${jobId} in ${adapter.namespace}`, err);
    });
  const out: { header: string; text: string; error?: string }[] = [];
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      const header = `pod ${adapter.namespace}/${name} container ${c.name} (${pod.status?.phase ?? 'Unknown'})`;
      try {
        out.push({
          header,
          text: await kube.core.readNamespacedPodLog({
            name,
            namespace: adapter.namespace,
            container: c.name,
            tailLines,
          }),
        });
      } catch (err) {
        out.push({ header, text: '', error: apiMessage(err) });
      }
    }
  }
  return out;
}

export interface ClusterStatus {
  context: string;
  deployment: string;
  /** e.g. "2/2 available" or "not installed". */
  rollout: string;
  stateConfigMap: string;
  /** Follower keys in the state ConfigMap, with their projected phase. */
  projected: Record<string, string>;
}

/** A Deployment's rollout in a few words, judged as `apply --wait` judges it (rolloutOf). */
export function rolloutSummary(d: DeploymentObject): string {
  const { done, figures, deadlineExceeded } = rolloutOf(d);
  if (done) return `rolled out: ${figures}`;
  return deadlineExceeded ? `rollout failed (${deadlineExceeded.reason}): ${figures}` : `rolling out: ${figures}`;
}

/** The worker Deployment and the state ConfigMap, read-only: what `status` shows of the cluster. */
export async function clusterStatus(kube: KubeAccess, registry: Registry): Promise<ClusterStatus> {
  const k = kubernetesOf(registry);
  const d = await readObject<DeploymentObject>(kube, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: k.namespace,
    name: k.deployment.name,
  });
  const cm = await readObject<KubernetesObject & { data?: Record<string, string> }>(kube, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: k.namespace,
    name: k.configMaps.state,
  });
  const projected = Object.fromEntries(
    Object.entries(cm?.data ?? {}).map(([id, entry]) => {
      try {
        return [id, String((JSON.parse(entry) as { phase?: unknown }).phase ?? '?')];
      } catch {
        return [id, 'unreadable'];
      }
    }),
  );
  return {
    context: kube.source,
    deployment: `${k.namespace}/${k.deployment.name}`,
    rollout: d ? rolloutSummary(d) : 'not installed',
    stateConfigMap: cm ? `${k.namespace}/${k.configMaps.state}` : `${k.namespace}/${k.configMaps.state} (missing)`,
    projected,
  };
}
