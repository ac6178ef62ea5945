// `plan`: what apply would change; writes nothing. Without Temporal the cluster half still stands.
import { emit, Exit, CliError } from '../output.ts';
import { defineCommand } from './command.ts';
import {
  clusterInScope,
  clusterJson,
  clusterPlanOrSkip,
  planText,
  scopeOption,
  temporalJson,
  temporalPlan,
  type Scope,
} from './plan-view.ts';
import { tty, ttyLines } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ scope: Scope; diff?: boolean }>({
  name: 'plan',
  configure: (cmd) =>
    cmd
      .description(
        'show what apply would change (cluster objects by server-side dry run, workflows to start, reconfigure or stop); writes nothing',
      )
      .addOption(scopeOption())
      .option('--diff', 'print a unified diff of each cluster object that would change'),
  async run(env, opts) {
    const registry = env.readRegistry();
    const cluster = clusterInScope(registry, opts.scope)
      ? await clusterPlanOrSkip(registry, opts.scope, env.kube)
      : undefined;
    const withDiff = Boolean(opts.diff);
    // Without Temporal the cluster half is still shown, and the followers say why they are missing.
    const temporal =
      opts.scope === 'cluster'
        ? undefined
        : await env.withCtx(temporalPlan).catch((err: unknown) => {
            if (err instanceof CliError && err.exitCode === Exit.Unreachable) return err;
            throw err;
          });
    const clusterData = cluster ? { cluster: clusterJson(cluster) } : {};
    if (temporal instanceof CliError) {
      emit(env.io, env.format, { ...clusterData, followers: { unavailable: temporal.message } }, () =>
        ttyLines([
          ...(cluster ? [planText(cluster, undefined, withDiff), tty``] : []),
          tty`followers: not planned — ${temporal.message}`,
        ]),
      );
      env.io.err(tty`hint: ${temporal.hint}`);
      return Exit.Unreachable;
    }
    emit(env.io, env.format, { ...clusterData, ...temporalJson(temporal) }, () =>
      planText(cluster, temporal, withDiff),
    );
    return Exit.Ok;
  },
});
