// `status`: one row per follower, then the controller, the mirror watchers, the cluster and the
// next drill-down commands.
import { splitHostPort } from '../../config/host-port.ts';
import { DEFAULT_REGISTRY, type Registry } from '../../config/registry.ts';
import { repositoryPath } from '../../contract/repository-path.ts';
import { MISSED_KEPT_MS } from '../../core/decide.ts';
import { formatDuration, shortSha } from '../../contract/format.ts';
import type { Delivery, SinkKind } from '../../contract/notify.ts';
import { watcherIdFor, watcherStateQuery, workflowIdFor } from '../../contract/messages.ts';
import type { ClusterStatus, KubeTarget } from '../cluster.ts';
import {
  controllerInfo,
  findSpec,
  ifRunning,
  runningState,
  uiLink,
  type ControllerInfo,
  type Ctx,
} from '../context.ts';
import { watcherSpecs } from '../followers.ts';
import { CliError, emit, Exit, when } from '../output.ts';
import { statusTable, type StatusRow } from '../views.ts';
import { defineCommand, loadCluster } from './command.ts';
import { TerminalText, tty, ttyLines } from '../../contract/untrusted/terminal.ts';

/** Ours: the screen is cleared before each redraw of `status --watch` on a terminal. */
const CLEAR_SCREEN = TerminalText.ours('\x1b[2J\x1b[H');

export default defineCommand<{ follower?: string; watch?: boolean }>({
  name: 'status',
  configure: (cmd) =>
    cmd
      .description('one row per follower, then the controller and the next drill-down commands')
      .option('--follower <id>', 'only this follower')
      .option('--watch', 'redraw every 2s until interrupted'),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      const { io, format } = env;
      const draw = async () => {
        const followers = opts.follower
          ? [{ spec: findSpec(ctx.registry, opts.follower), enabled: true }]
          : ctx.registry.followers;
        const [rows, info, cluster, watchers, receiver] = await Promise.all([
          Promise.all(
            followers.map(async (f): Promise<StatusRow> => ({
              ...f,
              state: await runningState(ctx.client, f.spec.id),
            })),
          ),
          controllerInfo(ctx),
          ctx.registry.controller.kubernetes ? clusterStatusOrWhy(ctx.registry, env.kube) : undefined,
          watcherStates(ctx),
          receiverStatus(ctx.registry),
        ]);
        const now = Date.now();
        const missed = missedWebhooks(rows, now);
        const sinks = sinkStatus(ctx.registry, rows, Boolean(opts.follower));
        emit(
          io,
          format,
          {
            controller: info,
            ...(cluster ? { cluster } : {}),
            ...(watchers.length ? { watchers } : {}),
            ...(receiver ? { webhooks: { ...receiver, missed } } : {}),
            ...(sinks.length ? { notify: sinks } : {}),
            followers: rows.map((r) => ({
              id: r.spec.id,
              enabled: r.enabled,
              running: Boolean(r.state),
              state: r.state ?? null,
            })),
          },
          () =>
            ttyLines([
              statusTable(io, rows, now, format === 'wide'),
              tty``,
              ...[
                controllerLine(info),
                ...(receiver ? [webhookLine(receiver, missed)] : []),
                ...sinkLines(sinks),
                ...watcherLines(watchers, now),
                ...(cluster ? [clusterLine(cluster)] : []),
              ].map((line) => tty`${line}`),
              tty``,
              ...drillDown(ctx, info, rows).map((line) => tty`${line}`),
            ]),
        );
      };
      await draw();
      while (opts.watch) {
        await new Promise((r) => setTimeout(r, 2000));
        if ((format === 'table' || format === 'wide') && io.color) io.out(CLEAR_SCREEN);
        await draw();
      }
      return Exit.Ok;
    }, opts.follower),
});

interface ReceiverStatus {
  listen: string;
  sources: string[];
  /** Whether it answered at `listen` from where the CLI runs. */
  answering: boolean;
  /** A cluster is declared: its worker pods serve it behind their own Service. */
  inCluster: boolean;
}

/** The push webhook receiver the registry declares, and whether it answers from here. */
async function receiverStatus(registry: Registry): Promise<ReceiverStatus | undefined> {
  const hooks = registry.controller.webhooks;
  if (!hooks) return undefined;
  const sources = Object.keys(hooks.sources);
  const [host, port] = splitHostPort(hooks.listen);
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/hooks/${sources[0]}`;
  // A GET is refused with 405 by the receiver itself: proof it listens, without sending a push.
  const answering = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (res) => res.status === 405,
    () => false,
  );
  return { listen: hooks.listen, sources, answering, inCluster: Boolean(registry.controller.kubernetes) };
}

/** The missed-webhook ledger per repository: moves found by reading in the last 24 h that no push announced. */
function missedWebhooks(rows: StatusRow[], now: number): Record<string, number> {
  const missed: Record<string, number> = {};
  for (const r of rows) {
    const count = (r.state?.missedWebhooks ?? []).filter((at) => now - at < MISSED_KEPT_MS).length;
    if (count === 0) continue;
    const repo = repositoryPath(r.spec.source.mirror);
    missed[repo] = (missed[repo] ?? 0) + count;
  }
  return missed;
}

function webhookLine(receiver: ReceiverStatus, missed: Record<string, number>): string {
  const where = receiver.answering
    ? `${receiver.listen} answering`
    : receiver.inCluster
      ? `${receiver.listen} not answering here (in the cluster the worker pods serve it)`
      : `${receiver.listen} NOT answering`;
  const ledger = Object.entries(missed);
  return (
    `webhooks: receiver ${where} (sources: ${receiver.sources.join(', ')}); ` +
    (ledger.length
      ? ledger.map(([repo, n]) => `${repo}: ${n} move(s) found by reading that no webhook announced in 24 h`).join('; ')
      : 'no move in 24 h went unannounced')
  );
}

interface SinkStatus {
  id: string;
  kind: SinkKind;
  /** The enabled followers that notify it. */
  followers: string[];
  /** What to show: the latest failed delivery when a follower's last one failed, else the latest. */
  last?: Delivery & { follower: string };
  /** The followers whose last delivery to it failed. */
  failing: string[];
}

/**
 * Each sink of the registry's `notify:` (only this follower's, with `--follower`), from the last
 * delivery each follower's state records: one follower's success does not hide another's failure.
 */
function sinkStatus(registry: Registry, rows: StatusRow[], oneFollower: boolean): SinkStatus[] {
  return registry.sinks.flatMap(({ id, kind }) => {
    const users = rows.filter((r) => r.enabled && r.spec.notify?.sinks.some((s) => s.id === id));
    if (oneFollower && !users.length) return [];
    const lasts = users
      .flatMap((r) =>
        (r.state?.deliveries ?? []).filter((d) => d.sink === id).map((d) => ({ ...d, follower: r.spec.id })),
      )
      .sort((a, b) => b.at - a.at);
    const failed = lasts.filter((d) => !d.ok);
    const last = failed[0] ?? lasts[0];
    return [
      {
        id,
        kind,
        followers: users.map((r) => r.spec.id),
        ...(last ? { last } : {}),
        failing: failed.map((d) => d.follower),
      },
    ];
  });
}

function sinkLines(sinks: SinkStatus[]): string[] {
  if (!sinks.length) return [];
  return [
    'notify:',
    ...sinks.map((s) => {
      const d = s.last;
      const what =
        d && `${d.notice}${d.sha ? ` ${shortSha(d.sha)}` : ''} of ${d.follower} at ${when(d.at)}: ${d.message}`;
      const last = !d
        ? 'nothing sent yet'
        : d.ok
          ? `delivered ${what}`
          : `FAILED for ${s.failing.join(', ')}; the latest: ${what}`;
      return `  ${s.id} (${s.kind}, ${s.followers.length ? s.followers.join(', ') : 'no follower'}): ${last}`;
    }),
  ];
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
      const id = watcherIdFor(ctx.registry.controller.registryId, w.mirror);
      const s = await ifRunning(ctx.client, id, (handle) => handle.query(watcherStateQuery));
      return {
        mirror: w.mirror,
        running: s !== undefined,
        followers: w.followers.length,
        ...(s ? { readAt: s.readAt, failing: s.failing, wakeUps: s.wakeUps } : {}),
      };
    }),
  );
}

function watcherLines(watchers: WatcherStatus[], now: number): string[] {
  if (!watchers.length) return [];
  const reads = watchers.filter((w) => w.readAt).map((w) => now - w.readAt!);
  const oldest = reads.length
    ? `, oldest read ${formatDuration(Math.round(Math.max(...reads) / 1000) * 1000)} ago`
    : '';
  return [
    `mirror watchers: ${watchers.filter((w) => w.running).length}/${watchers.length} running${oldest}`,
    ...watchers.filter((w) => !w.running).map((w) => `  NOT RUNNING: ${w.mirror} (apply --confirm starts it)`),
    ...watchers
      .filter((w) => w.failing)
      .map((w) => `  FAILING since ${when(w.failing!.since)}: ${w.mirror}: ${w.failing!.message}`),
  ];
}

/** The cluster half of status; never fails the command: a missing kubeconfig or an unreachable cluster is said, not thrown. */
async function clusterStatusOrWhy(
  registry: Registry,
  target: KubeTarget,
): Promise<ClusterStatus | { unavailable: string }> {
  const { clusterStatus, operatorKubeAccess } = await loadCluster();
  const { apiMessage } = await import('../../activities/kube/access.ts');
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

function controllerLine(info: ControllerInfo): string {
  const workers = info.workers.length ? `${info.workers.length} worker(s) polling` : 'NO worker polling';
  return `controller: temporal ${info.address} (reachable), namespace ${info.namespace}, task queue ${info.taskQueue}: ${workers}`;
}

function drillDown(ctx: Ctx, info: ControllerInfo, rows: StatusRow[]): string[] {
  const focus = rows.find((r) => r.state && r.state.phase !== 'Succeeded') ?? rows.find((r) => r.state) ?? rows[0];
  if (!focus) return [];
  const id = focus.spec.id;
  const sha = focus.state?.targetSha ?? focus.state?.observedSha;
  const reg = ctx.registry.file === DEFAULT_REGISTRY ? '' : ` --registry ${ctx.registry.file}`;
  const link = uiLink(info, id);
  const secrets = focus.state?.secrets?.entries ?? [];
  return [
    ...(secrets.length
      ? [
          `secrets (worker env at the last trigger): ${secrets.map((s) => (s.present ? `${s.name} present${s.fingerprint ? ` (${s.fingerprint})` : ''}` : `${s.name} MISSING`)).join(', ')}`,
          '',
        ]
      : []),
    `next (${id}):`,
    `  branch-follower${reg} events --follower ${id}`,
    `  branch-follower${reg} logs --follower ${id}`,
    ...(sha ? [`  branch-follower${reg} explain --follower ${id} --sha ${shortSha(sha)}`] : []),
    `  temporal workflow query --address ${info.address} --namespace ${info.namespace} --workflow-id ${workflowIdFor(id)} --name state`,
    ...(link ? [`  ${link}`] : []),
  ];
}
