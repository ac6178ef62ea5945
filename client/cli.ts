// branch-follower: the operator CLI. One entry point to plan, apply, watch, trigger and explain
// followers. Tables by default; full data with -o json|yaml (or --json). Exit codes: docs/cli.md.
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterLogs } from '../activities/adapter.ts';
import { apiMessage } from '../activities/kube/access.ts';
import { parseDuration } from '../config/duration.ts';
import { TEMPORAL_NAME } from '../config/schema.ts';
import { DEFAULT_REGISTRY, type Registry } from '../config/registry.ts';
import { objectYaml, writeKustomizeBase } from '../deploy/kustomize.ts';
import { kubernetesOf, renderObjects, RenderError } from '../deploy/render.ts';
import { eventsQuery, pauseSignal, resumeSignal, triggerSignal, watcherIdFor, watcherStateQuery, workflowIdFor } from '../contract/messages.ts';
import { inFlightOf, type FollowerView } from '../contract/state.ts';
import { formatDuration } from '../contract/format.ts';
import { applyCluster, clusterStatus, operatorKubeAccess, planCluster, runLogs, waitRollout, type ClusterPlanItem, type ClusterStatus, type KubeTarget } from './cluster.ts';
import { connect, controllerInfo, findSpec, readRegistry, requireState, runningState, uiLink, type Ctx } from './context.ts';
import { watcherSpecs } from './followers.ts';
import { CliError, dim, emit, Exit, processIo, shortSha, table, when, type Format, type Io } from './output.ts';
import { applyPlan, applyWatcherPlan, computePlan, computeWatcherPlan, type PlanItem, type WatcherPlanItem } from './plan.ts';
import { completionScript, SHELLS, type Shell } from './completion.ts';
import { runOnceDry, runOnceLive, type RunOnceRow } from './run-once.ts';
import { eventsTable, explain, historyTable, statusTable, type StatusRow } from './views.ts';
import { waitForSha } from './wait.ts';

interface Globals {
  registry: string;
  output: Format;
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

type Scope = 'all' | 'cluster' | 'followers';

/** `--scope all` covers the cluster only when the registry declares one; `--scope cluster` insists. */
function clusterInScope(registry: Registry, scope: Scope): boolean {
  if (scope === 'followers') return false;
  if (scope === 'cluster' && !registry.controller.kubernetes) kubernetesOf(registry);
  return Boolean(registry.controller.kubernetes);
}

interface ClusterSection {
  context?: string;
  items?: ClusterPlanItem[];
  /** Why the cluster was not planned (plan only: no kubeconfig). */
  skipped?: string;
}

/** plan is read-only, so without a kubeconfig it says the cluster was skipped instead of failing (unless asked for the cluster alone). */
async function clusterPlanOrSkip(registry: Registry, scope: Scope, target: KubeTarget): Promise<ClusterSection> {
  let kube;
  try {
    kube = operatorKubeAccess(registry, target);
  } catch (err) {
    if (scope === 'all' && err instanceof CliError && err.message.startsWith('no Kubernetes configuration')) return { skipped: `${err.message} (${err.hint})` };
    throw err;
  }
  return { context: kube.source, items: await planCluster(kube, registry) };
}

const clusterJson = (c: ClusterSection) => (c.skipped ? { skipped: c.skipped } : { context: c.context, objects: c.items!.map(({ diff: _diff, ...rest }) => rest) });

/** The Temporal half of a plan: the follower workflows and the mirror watchers. */
interface TemporalPlan {
  followers: PlanItem[];
  watchers: WatcherPlanItem[];
}

const temporalPlan = async (ctx: Ctx): Promise<TemporalPlan> => ({ followers: await computePlan(ctx), watchers: await computeWatcherPlan(ctx) });
const temporalJson = (t: TemporalPlan | undefined) => (t ? { plan: t.followers, ...(t.watchers.length ? { watchers: t.watchers } : {}) } : {});

function planText(cluster: ClusterSection | undefined, temporal: TemporalPlan | undefined, withDiff: boolean): string {
  const followers = temporal?.followers;
  const parts: string[] = [];
  if (cluster?.skipped) parts.push(`cluster: skipped — ${cluster.skipped}`);
  else if (cluster?.items) {
    parts.push(`cluster (${cluster.context}):`);
    parts.push(table(['OBJECT', 'ACTION', 'CHANGES'], cluster.items.map((i) => [i.object, i.action, summarize(i.changes)])));
    if (withDiff) parts.push(...cluster.items.filter((i) => i.diff).map((i) => i.diff.trimEnd()));
    else if (cluster.items.some((i) => i.action === 'configure')) parts.push('(see each change: branch-follower plan --diff)');
  }
  if (followers) {
    if (cluster) parts.push('', 'followers:');
    parts.push(planTable(followers));
  }
  if (temporal?.watchers.length) {
    parts.push('', 'mirror watchers:', table(['MIRROR', 'ACTION', 'REASON'], temporal.watchers.map((w) => [w.mirror, w.action, w.reason])));
  }
  return parts.join('\n');
}

const summarize = (paths: string[]): string => (paths.length <= 3 ? paths.join(', ') : `${paths.slice(0, 3).join(', ')} (+${paths.length - 3} more)`);

/** A duration option, parsed as it is read: a bad value is a usage error (exit 2) that says what to write. */
function durationOption(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description).default(parseDuration(fallback), fallback).argParser((value) => {
    try {
      return parseDuration(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let exit: number = Exit.Ok;
  const program = new Command('branch-follower')
    .description('Follow git branches on a mirror and deploy each new commit once, through Temporal.')
    .option('--registry <file>', 'the registry YAML', process.env.BRANCH_FOLLOWER_REGISTRY ?? DEFAULT_REGISTRY)
    .addOption(new Option('-o, --output <format>', 'output format (wide: more columns)').choices(['table', 'wide', 'json', 'yaml']).default('table'))
    .option('--json', 'same as -o json')
    .option('--kubeconfig <file>', 'the kubeconfig for cluster commands (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context for cluster commands (default: controller.kubernetes.context, else the current one)')
    .option('-n, --namespace <namespace>', 'the Temporal namespace (overrides the registry and the environment)')
    .version(cliVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showSuggestionAfterError();

  const globals = (): Globals => program.opts<Globals>();
  const kubeTarget = (): KubeTarget => ({ kubeconfig: globals().kubeconfig, context: globals().context });
  /** -n/--namespace, checked like the registry's namespace. */
  const temporalNamespace = (): string | undefined => {
    const ns = globals().namespace;
    if (ns !== undefined && !TEMPORAL_NAME.test(ns)) throw new CliError(`-n ${JSON.stringify(ns)} is not a Temporal namespace name`, 'use letters, digits, ".", "_" and "-"', Exit.Usage);
    return ns;
  };
  const format = (): Format => (globals().json ? 'json' : globals().output);
  /**
   * Runs `body` with a connected context and closes it afterwards. What can be checked locally is
   * checked first: the registry, and the follower a command names.
   */
  const withCtx = async <T>(body: (ctx: Ctx) => Promise<T>, follower?: string): Promise<T> => {
    const registry = readRegistry(globals().registry);
    if (follower !== undefined) findSpec(registry, follower);
    const ctx = await connect(registry, temporalNamespace());
    try {
      return await body(ctx);
    } finally {
      await ctx.close();
    }
  };
  const progress = (line: string): void => io.err(dim(io, line));

  const scopeOption = () =>
    new Option('--scope <scope>', 'cluster: the worker\'s Kubernetes objects; followers: the follower workflows; all: both (cluster only if the registry declares controller.kubernetes)')
      .choices(['all', 'cluster', 'followers'])
      .default('all');

  program
    .command('plan')
    .description('show what apply would change (cluster objects by server-side dry run, workflows to start, reconfigure or stop); writes nothing')
    .addOption(scopeOption())
    .option('--diff', 'print a unified diff of each cluster object that would change')
    .action(async (opts: { scope: Scope; diff?: boolean }) => {
      const registry = readRegistry(globals().registry);
      const cluster = clusterInScope(registry, opts.scope) ? await clusterPlanOrSkip(registry, opts.scope, kubeTarget()) : undefined;
      // Without Temporal the cluster half still stands: it is shown, and the followers say why they are missing.
      const temporal =
        opts.scope === 'cluster'
          ? undefined
          : await withCtx(temporalPlan).catch((err: unknown) => {
              if (err instanceof CliError && err.exitCode === Exit.Unreachable) return err;
              throw err;
            });
      if (temporal instanceof CliError) {
        emit(io, format(), { ...(cluster ? { cluster: clusterJson(cluster) } : {}), followers: { unavailable: temporal.message } }, () =>
          [...(cluster ? [planText(cluster, undefined, Boolean(opts.diff)), ''] : []), `followers: not planned — ${temporal.message}`].join('\n'),
        );
        io.err(`hint: ${temporal.hint}`);
        exit = Exit.Unreachable;
        return;
      }
      emit(io, format(), { ...(cluster ? { cluster: clusterJson(cluster) } : {}), ...temporalJson(temporal) }, () => planText(cluster, temporal, Boolean(opts.diff)));
    });

  program
    .command('apply')
    .description('install or update the worker in the cluster (server-side apply), then make the running followers match the registry; idempotent')
    .addOption(scopeOption())
    .option('--confirm', 'actually apply; without it, print the plan and exit 5 when it has changes')
    .option('--wait', 'wait for the worker Deployment to roll out (within controller.kubernetes.deployment.rollout.budget), then for each started or reconfigured follower\'s first decision and each stopped one to close')
    .option('--force-conflicts', 'take over fields another field manager owns (server-side apply force)')
    .addOption(durationOption('--timeout <duration>', 'how long --wait waits for the followers', '2m'))
    .action(async (opts: { scope: Scope; confirm?: boolean; wait?: boolean; forceConflicts?: boolean; timeout: number }) => {
      const registry = readRegistry(globals().registry);
      const kube = clusterInScope(registry, opts.scope) ? operatorKubeAccess(registry, kubeTarget()) : undefined;
      // Everything is planned (and Temporal reached) before anything is written.
      const cluster = kube ? { context: kube.source, items: await planCluster(kube, registry) } : undefined;
      const body = async (ctx?: Ctx) => {
        const temporal = ctx ? await temporalPlan(ctx) : undefined;
        const changed = <T extends { action: string }>(items: T[] | undefined): T[] => items?.filter((i) => i.action !== 'unchanged' && i.action !== 'leave') ?? [];
        const changes = [...changed(cluster?.items), ...changed(temporal?.followers), ...changed(temporal?.watchers)];
        const data = { ...(cluster ? { cluster: clusterJson(cluster) } : {}), ...temporalJson(temporal) };
        if (!opts.confirm) {
          emit(io, format(), { ...data, applied: false }, () => `${planText(cluster, temporal, false)}\n\n${changes.length ? 'not applied: run again with --confirm' : 'nothing to change'}`);
          exit = changes.length ? Exit.PendingChanges : Exit.Ok;
          return;
        }
        if (kube) {
          await applyCluster(kube, registry, { force: Boolean(opts.forceConflicts) }, progress);
          if (opts.wait) {
            const rollout = await waitRollout(kube, registry, progress);
            if (!rollout.ok) {
              io.err(rollout.message);
              throw new CliError('the worker did not roll out', ctx ? 'followers were not applied; fix the Deployment and apply again' : 'see the conditions and events above', Exit.Failed);
            }
            progress(rollout.message);
          }
        }
        if (ctx && temporal) {
          await applyPlan(ctx, temporal.followers, progress);
          await applyWatcherPlan(ctx, temporal.watchers, progress);
          if (opts.wait) exit = await waitFirstDecisions(ctx, changed(temporal.followers), opts.timeout, progress);
        }
        emit(io, format(), { ...data, applied: true }, () => `${planText(cluster, temporal, false)}\n\napplied ${changes.length} change(s)`);
      };
      await (opts.scope === 'cluster' ? body() : withCtx(body));
    });

  program
    .command('render')
    .description('print the Kubernetes objects apply would install (YAML), or write them as a kustomize base')
    .option('--out <dir>', 'write one file per kind and a kustomization.yaml into this directory')
    .action((opts: { out?: string }) => {
      const registry = readRegistry(globals().registry);
      const objects = renderObjects(registry);
      if (!opts.out) {
        io.out(objects.map((o) => objectYaml(o).trimEnd()).join('\n---\n'));
        return;
      }
      const written = writeKustomizeBase(registry, objects, opts.out);
      io.out(`wrote ${written.join(', ')} to ${opts.out}`);
    });

  program
    .command('status')
    .description('one row per follower, then the controller and the next drill-down commands')
    .option('--follower <id>', 'only this follower')
    .option('--watch', 'redraw every 2s until interrupted')
    .action((opts: { follower?: string; watch?: boolean }) =>
      withCtx(async (ctx) => {
        const draw = async () => {
          const followers = opts.follower ? [{ spec: findSpec(ctx.registry, opts.follower), enabled: true }] : ctx.registry.followers;
          const rows: StatusRow[] = await Promise.all(followers.map(async (f) => ({ ...f, state: await runningState(ctx.client, f.spec.id) })));
          const info = await controllerInfo(ctx);
          const cluster = ctx.registry.controller.kubernetes ? await clusterStatusOrWhy(ctx.registry, kubeTarget()) : undefined;
          const watchers = await watcherStates(ctx);
          emit(
            io,
            format(),
            { controller: info, ...(cluster ? { cluster } : {}), ...(watchers.length ? { watchers } : {}), followers: rows.map((r) => ({ id: r.spec.id, enabled: r.enabled, running: Boolean(r.state), state: r.state ?? null })) },
            () => [statusTable(io, rows, Date.now(), format() === 'wide'), '', controllerLine(info), ...watcherLines(watchers, Date.now()), ...(cluster ? [clusterLine(cluster)] : []), '', ...drillDown(ctx, info, rows)].join('\n'),
          );
        };
        await draw();
        while (opts.watch) {
          await new Promise((r) => setTimeout(r, 2000));
          if ((format() === 'table' || format() === 'wide') && io.color) io.out('\x1b[2J\x1b[H');
          await draw();
        }
      }, opts.follower),
    );

  program
    .command('run-once')
    .description('one observe + decide pass per follower: Noop, PendingTrigger or Blocked, with the reason')
    .option('--all', 'every enabled follower')
    .option('--follower <id>', 'one follower')
    .option('--dry-run', 'read the mirror and the follower state; write nothing anywhere')
    .addOption(durationOption('--timeout <duration>', 'how long to wait for the followers to observe (without --dry-run)', '30s'))
    .action(async (opts: { all?: boolean; follower?: string; dryRun?: boolean; timeout: number }) => {
      if (!opts.all && !opts.follower) throw new CliError('run-once needs --all or --follower <id>', 'e.g. branch-follower run-once --all --dry-run', Exit.Usage);
      const registry = readRegistry(globals().registry);
      const specs = opts.follower ? [findSpec(registry, opts.follower)] : registry.followers.filter((f) => f.enabled).map((f) => f.spec);
      const report = (rows: RunOnceRow[], offline?: string): void => {
        const footer = opts.dryRun ? `\n\n${dim(io, `dry run: nothing was written${offline ? `; ${offline}, so each follower was decided from the mirror alone` : ''}`)}` : '';
        emit(io, format(), { dryRun: Boolean(opts.dryRun), ...(offline ? { offline } : {}), decisions: rows }, () => runOnceTable(rows) + footer);
        if (rows.some((r) => r.decision === 'Blocked' || r.decision === 'Failed')) exit = Exit.Failed;
      };
      if (!opts.dryRun) return withCtx(async (ctx) => report(await runOnceLive(ctx, specs, opts.timeout)));
      // A dry run needs only the mirror and the decision core: Temporal adds the followers' states when it answers.
      const ctx = await connect(registry, temporalNamespace()).catch((err: unknown) => {
        if (err instanceof CliError && err.exitCode === Exit.Unreachable) return err;
        throw err;
      });
      if (ctx instanceof CliError) return report(await runOnceDry(undefined, specs), ctx.message);
      try {
        report(await runOnceDry(ctx.client, specs));
      } finally {
        await ctx.close();
      }
    });

  program
    .command('trigger')
    .description('deploy the head again now, as a new run (a manual trigger; refused while paused)')
    .requiredOption('--follower <id>', 'the follower')
    .requiredOption('--reason <text>', 'why (recorded in the follower events)')
    .option('--sha <sha>', 'refuse unless this is the head on the mirror')
    .option('--wait', 'wait until the triggered sha succeeds, fails or is superseded')
    .addOption(durationOption('--timeout <duration>', 'how long --wait waits', '5m'))
    .action((opts: { follower: string; reason: string; sha?: string; wait?: boolean; timeout: number }) =>
      withCtx(async (ctx) => {
        const before = await requireState(ctx, opts.follower);
        if (before.paused) {
          throw new CliError(`${opts.follower} is paused (${before.paused.reason}): a manual trigger is refused while paused`, `branch-follower resume --follower ${opts.follower}, then trigger`, Exit.Failed);
        }
        const handle = ctx.client.workflow.getHandle(workflowIdFor(opts.follower));
        const seen = (await handle.query(eventsQuery, {})).length;
        await handle.signal(triggerSignal, { reason: opts.reason, ...(opts.sha ? { sha: opts.sha } : {}) });
        io.out(`trigger sent to ${opts.follower}${opts.sha ? ` for ${shortSha(opts.sha)}` : ''}: ${opts.reason}`);
        if (!opts.wait) return;
        const sha = await acceptedSha(ctx, opts.follower, before, seen, opts.timeout);
        const result = await waitForSha(ctx, opts.follower, sha, opts.timeout, progress);
        io.out(result.message);
        exit = result.exit;
      }, opts.follower),
    );

  for (const [name, signal, verb] of [
    ['pause', pauseSignal, 'stop new triggers (it keeps observing; an in-flight close-out finishes)'],
    ['resume', resumeSignal, 'allow triggers again and observe now'],
  ] as const) {
    program
      .command(name)
      .description(verb)
      .requiredOption('--follower <id>', 'the follower')
      .option('--reason <text>', 'why (recorded in the follower events)', `${name}d by operator`)
      .action((opts: { follower: string; reason: string }) =>
        withCtx(async (ctx) => {
          await requireState(ctx, opts.follower);
          await ctx.client.workflow.getHandle(workflowIdFor(opts.follower)).signal(signal as typeof pauseSignal, { reason: opts.reason });
          io.out(`${name} sent to ${opts.follower}: ${opts.reason}`);
        }, opts.follower),
      );
  }

  program
    .command('events')
    .description('the follower transitions: time, phase change, sha and reason')
    .requiredOption('--follower <id>', 'the follower')
    .option('--limit <n>', 'only the last n', (v) => Number(v))
    .action((opts: { follower: string; limit?: number }) =>
      withCtx(async (ctx) => {
        await requireState(ctx, opts.follower);
        const events = await ctx.client.workflow.getHandle(workflowIdFor(opts.follower)).query(eventsQuery, opts.limit ? { limit: opts.limit } : {});
        emit(io, format(), { follower: opts.follower, events }, () => eventsTable(events));
      }, opts.follower),
    );

  program
    .command('logs')
    .description("the in-flight or last job's logs: the adapter's logs command, or the pods of a built-in adapter's run")
    .requiredOption('--follower <id>', 'the follower')
    .option('--tail <n>', 'lines per container (built-in adapters)', (v) => Number(v), 200)
    .action((opts: { follower: string; tail: number }) =>
      withCtx(async (ctx) => {
        const spec = findSpec(ctx.registry, opts.follower);
        const adapter = spec.adapter;
        if (adapter.kind === 'command' && !adapter.logs) throw new CliError(`adapter ${adapter.id} declares no logs command`, `add logs: { argv: [...] } under adapters.${adapter.id}`, Exit.Usage);
        const s = await requireState(ctx, opts.follower);
        const last = [...s.shas].reverse().find((r) => r.jobId);
        const inFlight = inFlightOf(s.work);
        const jobId = (inFlight?.stage === 'closingOut' ? inFlight.jobId : undefined) ?? last?.jobId;
        if (!jobId) throw new CliError(`${opts.follower} has no job yet`, 'nothing has been triggered', Exit.NotFound);
        if (adapter.kind !== 'command') {
          const logs = await runLogs(operatorKubeAccess(ctx.registry, kubeTarget()), adapter, jobId, opts.tail);
          if (!logs.length) io.out(dim(io, `# no pods for ${jobId} in ${adapter.namespace} (yet)`));
          for (const l of logs) {
            io.out(dim(io, `# ${l.header}`));
            if (l.error) io.err(`logs unavailable: ${l.error}`);
            else io.out(l.text.trimEnd());
          }
          if (logs.some((l) => l.error)) exit = Exit.Failed;
          return;
        }
        const workDir = mkdtempSync(path.join(os.tmpdir(), 'branch-follower-logs-'));
        try {
          const res = await adapterLogs(
            { follower: spec.id, branch: spec.source.branch, configRef: spec.target.configRef, params: spec.target.params, adapter },
            inFlight?.sha ?? last?.sha,
            jobId,
            { registryDir: ctx.registry.dir, workDir, env: process.env },
          );
          io.out(dim(io, `# ${adapter.id} logs for job ${jobId}`));
          io.out(res.stdout.trimEnd());
          if (res.stderr.trim()) io.err(res.stderr.trimEnd());
          if (res.exitCode !== 0) exit = Exit.Failed;
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      }, opts.follower),
    );

  program
    .command('history')
    .description('one row per sha: first seen, triggered, outcome, attempts, time to succeed, superseded by')
    .requiredOption('--follower <id>', 'the follower')
    .action((opts: { follower: string }) =>
      withCtx(async (ctx) => {
        const s = await requireState(ctx, opts.follower);
        emit(io, format(), { follower: opts.follower, shas: s.shas }, () => historyTable(s));
      }, opts.follower),
    );

  program
    .command('explain')
    .description('why a sha did or did not deploy')
    .requiredOption('--follower <id>', 'the follower')
    .requiredOption('--sha <sha>', 'the sha (a prefix is enough)')
    .action((opts: { follower: string; sha: string }) =>
      withCtx(async (ctx) => {
        const s = await requireState(ctx, opts.follower);
        const lines = explain(s, opts.sha);
        emit(io, format(), { follower: opts.follower, sha: opts.sha, explanation: lines }, () => lines.join('\n'));
      }, opts.follower),
    );

  program
    .command('wait')
    .description('exit 0 when the sha succeeded; non-zero at once on Failed, Superseded or timeout')
    .requiredOption('--follower <id>', 'the follower')
    .requiredOption('--sha <sha>', 'the sha (a prefix is enough)')
    .addOption(durationOption('--timeout <duration>', 'give up after this long', '5m'))
    .action((opts: { follower: string; sha: string; timeout: number }) =>
      withCtx(async (ctx) => {
        const result = await waitForSha(ctx, opts.follower, opts.sha, opts.timeout, progress);
        io.out(result.message);
        exit = result.exit;
      }, opts.follower),
    );

  program
    .command('completion')
    .description('print shell completion: source <(branch-follower completion bash), or zsh; fish: … completion fish | source')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: Shell) => io.out(completionScript(program, shell).trimEnd()));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? Exit.Ok : Exit.Usage;
    if (err instanceof CliError || err instanceof RenderError) {
      io.err(`error: ${err.message}`);
      io.err(`hint: ${err.hint}`);
      return err instanceof CliError ? err.exitCode : Exit.Usage;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return Exit.Failed;
  }
}

function planTable(plan: PlanItem[]): string {
  return table(['FOLLOWER', 'ACTION', 'REASON'], plan.map((p) => [p.follower, p.action, p.reason]));
}

function runOnceTable(rows: RunOnceRow[]): string {
  return table(['FOLLOWER', 'BRANCH', 'HEAD', 'DECISION', 'CODE', 'MESSAGE'], rows.map((r) => [r.follower, r.branch, shortSha(r.head), r.decision, r.code, r.message]));
}

interface WatcherStatus {
  mirror: string;
  running: boolean;
  followers: number;
  readAt?: number;
  failing?: { message: string; since: number };
  wakeUps?: number;
}

/** The mirror watchers the registry implies, and what each last read. */
async function watcherStates(ctx: Ctx): Promise<WatcherStatus[]> {
  return Promise.all(
    watcherSpecs(ctx.registry).map(async (w) => {
      const handle = ctx.client.workflow.getHandle(watcherIdFor(ctx.registry.controller.registryId, w.mirror));
      const running = await handle.describe().then((d) => d.status.name === 'RUNNING', () => false);
      const s = running ? await handle.query(watcherStateQuery) : undefined;
      return { mirror: w.mirror, running, followers: w.followers.length, ...(s ? { readAt: s.readAt, failing: s.failing, wakeUps: s.wakeUps } : {}) };
    }),
  );
}

function watcherLines(watchers: WatcherStatus[], now: number): string[] {
  if (!watchers.length) return [];
  const reads = watchers.filter((w) => w.readAt).map((w) => now - w.readAt!);
  const oldest = reads.length ? `, oldest read ${formatDuration(Math.round(Math.max(...reads) / 1000) * 1000)} ago` : '';
  return [
    `mirror watchers: ${watchers.filter((w) => w.running).length}/${watchers.length} running${oldest}`,
    ...watchers.filter((w) => !w.running).map((w) => `  NOT RUNNING: ${w.mirror} (apply --confirm starts it)`),
    ...watchers.filter((w) => w.failing).map((w) => `  FAILING since ${when(w.failing!.since)}: ${w.mirror}: ${w.failing!.message}`),
  ];
}

/** The cluster half of status; never fails the command: a missing kubeconfig or an unreachable cluster is said, not thrown. */
async function clusterStatusOrWhy(registry: Registry, target: KubeTarget): Promise<ClusterStatus | { unavailable: string }> {
  try {
    return await clusterStatus(operatorKubeAccess(registry, target), registry);
  } catch (err) {
    return { unavailable: err instanceof CliError ? err.message : apiMessage(err) };
  }
}

function clusterLine(c: ClusterStatus | { unavailable: string }): string {
  if ('unavailable' in c) return `cluster: not checked (${c.unavailable})`;
  const ids = Object.keys(c.projected);
  return `cluster (${c.context}): deployment ${c.deployment} ${c.rollout}; state ConfigMap ${c.stateConfigMap}: ${ids.length} follower(s) projected`;
}

function controllerLine(info: Awaited<ReturnType<typeof controllerInfo>>): string {
  const workers = info.workers.length ? `${info.workers.length} worker(s) polling` : 'NO worker polling';
  return `controller: temporal ${info.address} (reachable), namespace ${info.namespace}, task queue ${info.taskQueue}: ${workers}`;
}

function drillDown(ctx: Ctx, info: Awaited<ReturnType<typeof controllerInfo>>, rows: StatusRow[]): string[] {
  const focus = rows.find((r) => r.state && r.state.phase !== 'Succeeded') ?? rows.find((r) => r.state) ?? rows[0];
  if (!focus) return [];
  const id = focus.spec.id;
  const sha = focus.state?.targetSha ?? focus.state?.observedSha;
  const reg = ctx.registry.file === DEFAULT_REGISTRY ? '' : ` --registry ${ctx.registry.file}`;
  const link = uiLink(info, id);
  const secrets = focus.state?.secrets?.entries ?? [];
  return [
    ...(secrets.length
      ? [`secrets (worker env at the last trigger): ${secrets.map((s) => (s.present ? `${s.name} present${s.fingerprint ? ` (${s.fingerprint})` : ''}` : `${s.name} MISSING`)).join(', ')}`, '']
      : []),
    `next (${id}):`,
    `  branch-follower${reg} events --follower ${id}`,
    `  branch-follower${reg} logs --follower ${id}`,
    ...(sha ? [`  branch-follower${reg} explain --follower ${id} --sha ${shortSha(sha)}`] : []),
    `  temporal workflow query --address ${info.address} --namespace ${info.namespace} --workflow-id ${workflowIdFor(id)} --name state`,
    ...(link ? [`  ${link}`] : []),
  ];
}

/** After a manual trigger: the sha the follower took it for (a new run, or the one already in flight), or why it refused. */
async function acceptedSha(ctx: Ctx, id: string, before: FollowerView, seenEvents: number, timeoutMs: number): Promise<string> {
  const handle = ctx.client.workflow.getHandle(workflowIdFor(id));
  const runs = new Map(before.shas.map((r) => [r.sha, r.runs]));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const events = (await handle.query(eventsQuery, {})).slice(seenEvents);
    const refused = events.find((e) => e.code === 'ManualNotHead' || e.code === 'ManualWhilePaused');
    if (refused) throw new CliError(refused.message, 'see `branch-follower events`', Exit.Failed);
    const inFlight = events.find((e) => e.code === 'ManualInFlight');
    if (inFlight?.sha) return inFlight.sha;
    const s = await requireState(ctx, id);
    const fired = s.shas.find((r) => r.runs > (runs.get(r.sha) ?? 0));
    if (fired) return fired.sha;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new CliError(`${id} did not act on the trigger within the timeout`, 'is a worker running? see `branch-follower status`', Exit.Timeout);
}

/** Until each started/reconfigured follower has decided once, and each stopped one has closed. */
async function waitFirstDecisions(ctx: Ctx, changes: PlanItem[], timeoutMs: number, progress: (l: string) => void): Promise<number> {
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
    progress(`no first decision within ${Math.round(timeoutMs / 1000)}s from: ${[...pending].join(', ')} (is a worker running?)`);
    return Exit.Timeout;
  }
  return Exit.Ok;
}

const cliVersion = (): string => (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
