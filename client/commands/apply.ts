// `apply`: install or update the worker in the cluster, then make the running followers match the
// registry. Everything is planned (and Temporal reached) before anything is written.
import { workflowIdFor } from '../../contract/messages.ts';
import { runningState, type Ctx } from '../context.ts';
import { CliError, emit, Exit } from '../output.ts';
import { applyPlan, applyWatcherPlan, type PlanItem } from '../plan.ts';
import { defineCommand, durationOption, loadCluster } from './command.ts';
import {
  clusterInScope,
  clusterJson,
  planText,
  scopeOption,
  temporalJson,
  temporalPlan,
  type Scope,
} from './plan-view.ts';
import { tty, ttyLines } from '../../contract/untrusted/terminal.ts';

interface ApplyOptions {
  scope: Scope;
  confirm?: boolean;
  wait?: boolean;
  forceConflicts?: boolean;
  timeout: number;
}

export default defineCommand<ApplyOptions>({
  name: 'apply',
  configure: (cmd) =>
    cmd
      .description(
        'install or update the worker in the cluster (server-side apply), then make the running followers match the registry; idempotent',
      )
      .addOption(scopeOption())
      .option('--confirm', 'actually apply; without it, print the plan and exit 5 when it has changes')
      .option(
        '--wait',
        "wait for the worker Deployment to roll out (within controller.kubernetes.deployment.rollout.budget), then for each started or reconfigured follower's first decision and each stopped one to close",
      )
      .option('--force-conflicts', 'take over fields another field manager owns (server-side apply force)')
      .addOption(durationOption('--timeout <duration>', 'how long --wait waits for the followers', '2m')),
  async run(env, opts) {
    const { io, progress } = env;
    const registry = env.readRegistry();
    const clusterHalf = clusterInScope(registry, opts.scope) ? await loadCluster() : undefined;
    const kube = clusterHalf?.operatorKubeAccess(registry, env.kube);
    const cluster = kube && { context: kube.source, items: await clusterHalf!.planCluster(kube, registry) };
    const body = async (ctx?: Ctx): Promise<number> => {
      const temporal = ctx ? await temporalPlan(ctx) : undefined;
      const changed = <T extends { action: string }>(items: T[] | undefined): T[] =>
        items?.filter((i) => i.action !== 'unchanged' && i.action !== 'leave') ?? [];
      const changes = [...changed(cluster?.items), ...changed(temporal?.followers), ...changed(temporal?.watchers)];
      const data = { ...(cluster ? { cluster: clusterJson(cluster) } : {}), ...temporalJson(temporal) };
      if (!opts.confirm) {
        emit(io, env.format, { ...data, applied: false }, () =>
          ttyLines([
            planText(cluster, temporal, false),
            tty``,
            changes.length ? tty`not applied: run again with --confirm` : tty`nothing to change`,
          ]),
        );
        return changes.length ? Exit.PendingChanges : Exit.Ok;
      }
      if (kube && clusterHalf) {
        await clusterHalf.applyCluster(kube, registry, { force: Boolean(opts.forceConflicts) }, progress);
        if (opts.wait) {
          const rollout = await clusterHalf.waitRollout(kube, registry, progress);
          if (!rollout.ok) {
            io.err(tty`${rollout.message}`);
            throw new CliError(
              'the worker did not roll out',
              ctx
                ? 'followers were not applied; fix the Deployment and apply again'
                : 'see the conditions and events above',
              Exit.Failed,
            );
          }
          progress(rollout.message);
        }
      }
      let exit: number = Exit.Ok;
      if (ctx && temporal) {
        await applyPlan(ctx, temporal.followers, progress);
        await applyWatcherPlan(ctx, temporal.watchers, progress);
        if (opts.wait) exit = await waitFirstDecisions(ctx, changed(temporal.followers), opts.timeout, progress);
      }
      emit(io, env.format, { ...data, applied: true }, () =>
        ttyLines([planText(cluster, temporal, false), tty``, tty`applied ${changes.length} change(s)`]),
      );
      return exit;
    };
    return opts.scope === 'cluster' ? body() : env.withCtx(body);
  },
});

/** Until each started/reconfigured follower has decided once, and each stopped one has closed. */
async function waitFirstDecisions(
  ctx: Ctx,
  changes: PlanItem[],
  timeoutMs: number,
  progress: (l: string) => void,
): Promise<number> {
  const stopping = new Set(changes.filter((c) => c.action === 'stop').map((c) => c.follower));
  const pending = new Set(changes.map((c) => c.follower));
  const deadline = Date.now() + timeoutMs;
  while (pending.size && Date.now() < deadline) {
    for (const id of [...pending]) {
      if (stopping.has(id)) {
        const status = (await ctx.client.workflow.getHandle(workflowIdFor(id)).describe()).status.name;
        if (status !== 'RUNNING') {
          progress(`${id}: stopped (${status})`);
          pending.delete(id);
        }
        continue;
      }
      const s = await runningState(ctx.client, id);
      if (s && s.phase !== 'Observed') {
        progress(`${id}: ${s.phase} ${s.code} — ${s.message}`);
        pending.delete(id);
      }
    }
    if (pending.size) await new Promise((r) => setTimeout(r, 300));
  }
  if (pending.size) {
    progress(
      `no first decision within ${Math.round(timeoutMs / 1000)}s from: ${[...pending].join(', ')} (is a worker running?)`,
    );
    return Exit.Timeout;
  }
  return Exit.Ok;
}
