// What plan and apply both show: the cluster half (server-side dry run) and the Temporal half
// (followers to start, reconfigure or stop; mirror watchers), as a table or as data.
import { Option } from 'commander';
import type { Registry } from '../../config/registry.ts';
import { kubernetesOf } from '../../deploy/render.ts';
import type { ClusterPlanItem, KubeTarget } from '../cluster.ts';
import type { Ctx } from '../context.ts';
import { CliError, table } from '../output.ts';
import { loadCluster } from './command.ts';
import { computePlan, computeWatcherPlan, type PlanItem, type WatcherPlanItem } from '../plan.ts';
import { relayedOutput, tty, ttyLines, type TerminalText } from '../../contract/untrusted/terminal.ts';

export type Scope = 'all' | 'cluster' | 'followers';

export const scopeOption = (): Option =>
  new Option(
    '--scope <scope>',
    "cluster: the worker's Kubernetes objects; followers: the follower workflows; all: both (cluster only if the registry declares controller.kubernetes)",
  )
    .choices(['all', 'cluster', 'followers'])
    .default('all');

/** `--scope all` covers the cluster only when the registry declares one; `--scope cluster` insists. */
export function clusterInScope(registry: Registry, scope: Scope): boolean {
  if (scope === 'followers') return false;
  if (scope === 'cluster' && !registry.controller.kubernetes) kubernetesOf(registry);
  return Boolean(registry.controller.kubernetes);
}

export interface ClusterSection {
  context?: string;
  items?: ClusterPlanItem[];
  /** Why the cluster was not planned (plan only: no kubeconfig). */
  skipped?: string;
}

/** plan is read-only, so without a kubeconfig it says the cluster was skipped instead of failing (unless asked for the cluster alone). */
export async function clusterPlanOrSkip(registry: Registry, scope: Scope, target: KubeTarget): Promise<ClusterSection> {
  const { operatorKubeAccess, planCluster } = await loadCluster();
  let kube;
  try {
    kube = operatorKubeAccess(registry, target);
  } catch (err) {
    if (scope === 'all' && err instanceof CliError && err.message.startsWith('no Kubernetes configuration'))
      return { skipped: `${err.message} (${err.hint})` };
    throw err;
  }
  return { context: kube.source, items: await planCluster(kube, registry) };
}

export const clusterJson = (c: ClusterSection) =>
  c.skipped
    ? { skipped: c.skipped }
    : { context: c.context, objects: c.items!.map(({ diff: _diff, ...rest }) => rest) };

/** The Temporal half of a plan: the follower workflows and the mirror watchers. */
export interface TemporalPlan {
  followers: PlanItem[];
  watchers: WatcherPlanItem[];
}

export const temporalPlan = async (ctx: Ctx): Promise<TemporalPlan> => ({
  followers: await computePlan(ctx),
  watchers: await computeWatcherPlan(ctx),
});
export const temporalJson = (t: TemporalPlan | undefined) =>
  t ? { plan: t.followers, ...(t.watchers.length ? { watchers: t.watchers } : {}) } : {};

export function planText(
  cluster: ClusterSection | undefined,
  temporal: TemporalPlan | undefined,
  withDiff: boolean,
): TerminalText {
  const followers = temporal?.followers;
  const parts: TerminalText[] = [];
  if (cluster?.skipped) parts.push(tty`cluster: skipped — ${cluster.skipped}`);
  else if (cluster?.items) {
    parts.push(tty`cluster (${cluster.context}):`);
    parts.push(
      table(
        ['OBJECT', 'ACTION', 'CHANGES'],
        cluster.items.map((i) => [i.object, i.action, summarize(i.changes)]),
      ),
    );
    if (withDiff) parts.push(...cluster.items.filter((i) => i.diff).map((i) => relayedOutput(i.diff.trimEnd())));
    else if (cluster.items.some((i) => i.action === 'configure'))
      parts.push(tty`(see each change: branch-follower plan --diff)`);
  }
  if (followers) {
    if (cluster) parts.push(tty``, tty`followers:`);
    parts.push(
      table(
        ['FOLLOWER', 'ACTION', 'REASON'],
        followers.map((p) => [p.follower, p.action, p.reason]),
      ),
    );
  }
  if (temporal?.watchers.length) {
    parts.push(
      tty``,
      tty`mirror watchers:`,
      table(
        ['MIRROR', 'ACTION', 'REASON'],
        temporal.watchers.map((w) => [w.mirror, w.action, w.reason]),
      ),
    );
  }
  return ttyLines(parts);
}

const summarize = (paths: string[]): string =>
  paths.length <= 3 ? paths.join(', ') : `${paths.slice(0, 3).join(', ')} (+${paths.length - 3} more)`;
