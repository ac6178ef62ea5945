// The activities the follower workflow calls. Each one heartbeats while it works, so a cancelled
// or timed-out activity kills its child process group promptly. Adapters and close-out checks
// dispatch on their kind: a command adapter runs its CLI, a built-in one talks to Kubernetes.
import { Context } from '@temporalio/activity';
import type { MetricCounter } from '@temporalio/common';
import type { RuntimeStatus, TriggerResult } from '../contract/adapter.ts';
import type { Stamped } from '../contract/messages.ts';
import { METRICS } from '../contract/metrics.ts';
import type { Outgoing } from '../contract/notify.ts';
import type { CloseoutSpec, KubeAdapterSpec } from '../contract/spec.ts';
import { adapterCancel, adapterStatus, adapterTrigger, type AdapterCall, type AdapterContext } from './adapter.ts';
import type { KubeAccess } from './kube/access.ts';
import { objectCheck } from './kube/checks.ts';
import { projectState, type ProjectionInput, type ProjectionResult } from './kube/projection.ts';
import { cancelRun, runStatus, triggerRun } from './kube/runs.ts';
import { deliver, type DeliveryResult } from './notify.ts';
import { readBranchHead, readBranchHeads, type HeadsInput, type ObserveInput } from './observe.ts';
import { readsObject } from '../contract/kube-kinds/checked-objects.ts';

export type { AdapterCall } from './adapter.ts';

export interface ActivityDeps {
  registryDir: string;
  workDir: string;
  env: NodeJS.ProcessEnv;
  /** Kubernetes access for built-in adapters, object checks and the state projection (none: they say so). */
  kube?: KubeAccess;
}

export interface TriggerInput {
  spec: AdapterCall;
  sha: string;
  /** The run: with the follower and the sha, the trigger key. Absent in histories recorded before runs had numbers. */
  run?: number;
  /** An operator's redeploy. */
  redeploy: boolean;
  /** An earlier try of this key may have reached the runtime (absent before the decision core v2). */
  maybeFired?: boolean;
}

/** Writes racing on the state ConfigMap settle in a few tries; past this something is wrong. */
const MAX_PROJECTION_CONFLICTS = 10;

export interface StatusInput {
  spec: AdapterCall;
  sha: string;
  /** The in-flight job (a built-in adapter's object name). */
  jobId?: string;
  /** Absent in histories recorded before checks had kinds: those are adapter-status checks. */
  check?: CloseoutSpec;
}

export function createActivities(deps: ActivityDeps) {
  const context = (): AdapterContext => ({ ...deps, signal: Context.current().cancellationSignal });
  // Made by the first notification (only an activity has the meter); the tags its meter adds
  // (namespace, task queue, activity type) are the same for every notification of this worker.
  let notifications: MetricCounter | undefined;
  return {
    async observeBranch(input: ObserveInput): Promise<Stamped<{ sha: string }>> {
      return stamped(
        await withHeartbeat(() => readBranchHead(input, deps.workDir, deps.env, Context.current().cancellationSignal)),
      );
    },
    /** Every branch head of a mirror repository (a mirror watcher's read; run as a local activity). */
    async readBranchHeads(input: HeadsInput): Promise<Record<string, string>> {
      return readBranchHeads(input, deps.workDir, deps.env, Context.current().cancellationSignal);
    },
    /** The close-out check. */
    async adapterStatus(input: StatusInput): Promise<Stamped<RuntimeStatus>> {
      return withHeartbeat(async () => {
        const { spec: call, sha, jobId, check } = input;
        if (!check || check.kind === 'adapter-status')
          return stamped(await adapterStatus(asCommand(call), sha, context()));
        if (readsObject(check)) return stamped(await objectCheck(deps.kube, check, sha));
        return stamped(await runStatus(deps.kube, asKube(call), sha, jobId, check.retryable));
      });
    },
    /**
     * At most once per key. A retried attempt (its predecessor's worker was lost) first waits until
     * any command that predecessor started is dead (each dies on its timeout, even orphaned), then
     * treats any job of the sha as possibly its own.
     */
    async triggerAdapter(input: TriggerInput): Promise<Stamped<TriggerResult>> {
      return withHeartbeat(async () => {
        const run = input.run ?? 1;
        if (input.spec.adapter.kind !== 'command')
          return stamped(await triggerRun(deps.kube, asKube(input.spec), input.sha, run));
        const retried = Context.current().info.attempt > 1;
        if (retried) await outliveLostAttempt(input.spec.adapter.timeoutMs);
        return stamped(
          await adapterTrigger(
            asCommand(input.spec),
            { sha: input.sha, run, manual: input.redeploy, maybeFired: Boolean(input.maybeFired) || retried },
            context(),
          ),
        );
      });
    },
    async cancelAdapter(input: { spec: AdapterCall; sha: string; jobId?: string }): Promise<Stamped> {
      await withHeartbeat(() =>
        input.spec.adapter.kind === 'command'
          ? adapterCancel(asCommand(input.spec), input.sha, input.jobId, context())
          : cancelRun(deps.kube, asKube(input.spec), input.jobId),
      );
      return stamped({});
    },
    /** The worker's clock, for the follower's decision clock (run as a local activity: its marker keeps the reading). */
    async readClock(): Promise<{ at: number }> {
      return { at: Date.now() };
    },
    /** One notice to one sink; Temporal's retry policy retries what the sink may take later (activities/notify.ts). */
    async notify({ sink, notice }: Outgoing): Promise<Stamped<DeliveryResult>> {
      const counter = (notifications ??= Context.current().metricMeter.createCounter(
        'branch_follower_notifications_total',
        undefined,
        METRICS.branch_follower_notifications_total.help,
      ));
      const count = (result: 'delivered' | 'failed') =>
        counter.add(1, { sink: sink.id, kind: sink.kind, notice: notice.type, result });
      try {
        const result = await deliver(sink, notice, deps.env);
        count('delivered');
        return stamped(result);
      } catch (err) {
        count('failed');
        throw err;
      }
    },
    /** Run as a local activity: one marker in the history, no task round trip. */
    async projectState(input: ProjectionInput): Promise<Stamped<ProjectionResult>> {
      return stamped(await projectState(deps.kube, input, MAX_PROJECTION_CONFLICTS));
    },
  };
}

export type FollowerActivities = ReturnType<typeof createActivities>;

const asCommand = (call: AdapterCall) => call as AdapterCall<Extract<AdapterCall['adapter'], { kind: 'command' }>>;
const asKube = (call: AdapterCall) => call as AdapterCall<KubeAdapterSpec>;

/** The result with the time it is returned (see Stamped). */
const stamped = <T extends object>(result: T): Stamped<T> => ({ ...result, at: Date.now() });

/** Sleeps until a command started by the previous attempt (no later than this attempt was scheduled) has passed its timeout. */
async function outliveLostAttempt(commandTimeoutMs: number): Promise<void> {
  const ctx = Context.current();
  const waitMs = ctx.info.currentAttemptScheduledTimestampMs + commandTimeoutMs - Date.now();
  if (waitMs > 0) await ctx.sleep(waitMs);
}

/**
 * Heartbeats well inside the activity's heartbeat timeout, so only a dead worker misses it. Not at
 * once: the timeout runs from the start anyway, and most reads and checks finish before the first
 * beat is due, which spares the server a write per activity.
 */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  if (ctx.info.isLocal) return work(); // local activities have no heartbeat; their workflow task times them out
  const every = Math.min(1000, Math.max(100, (ctx.info.heartbeatTimeoutMs ?? 3000) / 3));
  const beat = setInterval(() => ctx.heartbeat(), every);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
