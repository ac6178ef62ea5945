// One long-lived workflow per follower: observe → decide → trigger → close out, with durable
// timers. The decisions are made by the pure reducer in decide.ts; this file only turns its
// actions into activities and timers, and signals into events.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdapterCall, FollowerActivities } from '../activities/index.ts';
import {
  FailureType,
  FollowerPhaseKey,
  LastSucceededShaKey,
  ObservedShaKey,
  eventsQuery,
  pauseSignal,
  reconfigureSignal,
  refreshSignal,
  resumeSignal,
  specQuery,
  stateQuery,
  supersedeSignal,
  triggerSignal,
  type FollowerSpec,
  type FollowerState,
  type FollowerView,
  type FollowerWorkflowInput,
  workflowIdFor,
} from './api.ts';
import { initialState, nextAction, reduce, type FollowerEvent } from './decide.ts';
import { projectionEntry } from './projection.ts';

// Every call passes its own options (timeouts come from the spec); these are only the fallback.
const acts = proxyActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
/** Workflow versioning: mirror reads became local activities. */
const OBSERVE_LOCALLY = 'observe-as-local-activity';
/** Workflow versioning: a failed state projection is tried again on the next iteration. */
const RETRY_FAILED_PROJECTION = 'retry-failed-projection';

export async function followerWorkflow(input: FollowerWorkflowInput): Promise<void> {
  let spec = input.spec;
  let state: FollowerState = input.state ?? initialState(spec.id, Date.now());
  const inbox: FollowerEvent[] = [];
  let nextSpec: FollowerSpec | undefined;

  setHandler(triggerSignal, (req) => void inbox.push({ type: 'manualTrigger', sha: req.sha, reason: req.reason }));
  setHandler(refreshSignal, () => void inbox.push({ type: 'refresh' }));
  setHandler(pauseSignal, ({ reason }) => void inbox.push({ type: 'pause', reason }));
  setHandler(resumeSignal, (arg) => void inbox.push({ type: 'resume', reason: arg?.reason }));
  setHandler(supersedeSignal, ({ sha }) => void inbox.push({ type: 'supersedeNotice', sha }));
  setHandler(reconfigureSignal, (next) => {
    if (next.id !== spec.id) return; // a spec for another follower is never applied here
    nextSpec = next;
  });
  setHandler(stateQuery, () => view(spec, state, Date.now()));
  setHandler(eventsQuery, (opts) => (opts?.limit ? state.events.slice(-opts.limit) : state.events));
  setHandler(specQuery, () => nextSpec ?? spec);

  const apply = (event: FollowerEvent): void => {
    state = reduce(state, event, Date.now(), spec);
  };

  let published = '';
  const publish = (): void => {
    const key = `${state.phase}|${state.observedSha ?? ''}|${state.lastSucceededSha ?? ''}`;
    if (key === published) return;
    published = key;
    upsertSearchAttributes([
      { key: FollowerPhaseKey, value: state.phase },
      { key: ObservedShaKey, value: state.observedSha ?? '' },
      { key: LastSucceededShaKey, value: state.lastSucceededSha ?? '' },
    ]);
  };

  let projected = '';
  /**
   * Writes the compact state to the state ConfigMap when it changed; a failure never stops the
   * follower, and the write is tried again on its next iteration (the ConfigMap may be back).
   */
  const project = async (): Promise<void> => {
    if (!spec.projection) return;
    const entry = projectionEntry(state);
    if (entry === projected) return;
    const retryFailed = patched(RETRY_FAILED_PROJECTION);
    if (!retryFailed) projected = entry;
    try {
      const res = await local.projectState.executeWithOptions(
        { startToCloseTimeout: spec.adapter.timeoutMs, retry: infraRetry(spec), summary: 'project state' },
        [{ ...spec.projection, follower: spec.id, entry }],
      );
      // Written, already there, or no Kubernetes access (the worker's configuration: trying again would not help).
      projected = entry;
      apply({ type: 'projected', ok: res.written || res.reason === 'unchanged', message: res.reason ?? '' });
    } catch (err) {
      apply({ type: 'projected', ok: false, message: failureOf(err).message });
    }
  };

  for (let iteration = 0; ; iteration++) {
    if (nextSpec) {
      const changed = JSON.stringify(nextSpec) !== JSON.stringify(spec);
      spec = nextSpec;
      nextSpec = undefined;
      if (changed) apply({ type: 'reconfigured', summary: `${spec.adapter.id} ${spec.source.branch}@${spec.source.mirror}` });
    }
    for (const event of inbox.splice(0)) apply(event);
    apply({ type: 'tick' });
    publish();
    await project();

    const action = nextAction(state, Date.now());
    switch (action.kind) {
      case 'observe':
        try {
          const summary = `observe ${spec.source.branch} on the mirror`;
          const input = { mirror: spec.source.mirror, branch: spec.source.branch, timeoutMs: spec.observeTimeoutMs, dueAt: state.nextObserveAt };
          // A read takes milliseconds: as a local activity it needs no task round trip and leaves one
          // marker in the history instead of three events. Runs recorded before stay as they were.
          const { sha } = patched(OBSERVE_LOCALLY)
            ? await local.observeBranch.executeWithOptions({ startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs, retry: infraRetry(spec), summary }, [input])
            : await acts.observeBranch.executeWithOptions({ ...observeOptions(spec), summary }, [input]);
          apply({ type: 'observed', sha });
        } catch (err) {
          const f = failureOf(err);
          apply({ type: 'observeFailed', reason: f.type, message: f.message });
        }
        break;
      case 'trigger': {
        apply({ type: 'triggering' });
        publish();
        // The sha's trigger count names a built-in adapter's object: a lost-and-retried activity reuses it.
        const run = state.shas.find((r) => r.sha === action.sha)?.attempts ?? 1;
        try {
          const res = await acts.triggerAdapter.executeWithOptions(
            { ...adapterOptions(spec, 2), summary: `trigger ${short(action.sha)} via ${spec.adapter.id} (attempt ${action.attempt})` },
            [{ spec: adapterCall(spec), sha: action.sha, redeploy: action.manual, run }],
          );
          apply({ type: 'triggered', sha: action.sha, jobId: res.jobId, alreadyRunning: res.alreadyRunning, secrets: res.secrets });
        } catch (err) {
          const f = failureOf(err);
          apply({
            type: 'triggerFailed',
            sha: action.sha,
            reason: f.type,
            message: f.message,
            retryable: f.retryable,
            blocking: f.type === FailureType.AdapterMissing,
          });
        }
        break;
      }
      case 'status':
        try {
          const status = await acts.adapterStatus.executeWithOptions(
            { ...adapterOptions(spec, 1), summary: `close-out check ${spec.closeout.check} for ${short(action.sha)}` },
            [{ spec: adapterCall(spec), sha: action.sha, jobId: state.inFlight?.jobId, check: spec.closeout }],
          );
          apply({ type: 'status', sha: action.sha, status });
        } catch (err) {
          const f = failureOf(err);
          apply({ type: 'statusFailed', sha: action.sha, reason: f.type, message: f.message });
        }
        break;
      case 'cancel':
        try {
          await acts.cancelAdapter.executeWithOptions(
            { ...adapterOptions(spec, 1), summary: `cancel superseded ${short(action.sha)}` },
            [{ spec: adapterCall(spec), sha: action.sha, jobId: action.jobId }],
          );
          apply({ type: 'cancelled', sha: action.sha, ok: true, message: '' });
        } catch (err) {
          apply({ type: 'cancelled', sha: action.sha, ok: false, message: failureOf(err).message });
        }
        break;
      case 'wait': {
        const ms = Math.max(1, action.until - Date.now());
        await condition(() => inbox.length > 0 || nextSpec !== undefined, ms, { summary: `wait: ${action.why}` });
        break;
      }
    }

    const due = workflowInfo().continueAsNewSuggested || iteration + 1 >= spec.loop.continueAsNewAfter;
    if (due && action.kind === 'wait') {
      await condition(allHandlersFinished);
      for (const event of inbox.splice(0)) apply(event);
      await continueAsNew<typeof followerWorkflow>({ spec: nextSpec ?? spec, state });
    }
  }
}

const short = (sha: string): string => sha.slice(0, 12);

/** The part of the spec an adapter activity needs: no state, no secrets (env names only). */
function adapterCall(spec: FollowerSpec): AdapterCall {
  return {
    follower: spec.id,
    branch: spec.source.branch,
    configRef: spec.target.configRef,
    params: spec.target.params,
    adapter: spec.adapter,
  };
}

/** Temporal retries only lost activities (dead worker, timeout); domain failures come back to us. */
const infraRetry = (spec: FollowerSpec) => ({ maximumAttempts: spec.activity.maxAttempts, maximumInterval: spec.activity.maxRetryIntervalMs });

function observeOptions(spec: FollowerSpec) {
  return {
    startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs,
    heartbeatTimeout: spec.activity.heartbeatTimeoutMs,
    retry: infraRetry(spec),
  };
}

/** Adapter activities run `commands` adapter commands (a trigger runs `status`, then `trigger`). */
function adapterOptions(spec: FollowerSpec, commands: number) {
  return {
    startToCloseTimeout: commands * spec.adapter.timeoutMs + spec.activity.heartbeatTimeoutMs,
    heartbeatTimeout: spec.activity.heartbeatTimeoutMs,
    retry: infraRetry(spec),
  };
}

interface FailureFacts {
  type: string;
  message: string;
  retryable: boolean;
}

/** Activities report domain failures as non-retryable ApplicationFailures with `{ retryable }` details. */
function failureOf(err: unknown): FailureFacts {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { retryable?: boolean };
    return { type: cause.type ?? 'ActivityFailed', message: cause.message, retryable: details.retryable ?? true };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  // Timeouts and lost workers are infrastructure trouble: worth another attempt.
  return { type: 'ActivityFailed', message, retryable: true };
}

function view(spec: FollowerSpec, s: FollowerState, now: number): FollowerView {
  const { events: _events, pendingCancels: _cancels, ...rest } = s;
  const wid = workflowIdFor(spec.id);
  return {
    ...rest,
    adapter: spec.adapter.id,
    branch: spec.source.branch,
    mirror: spec.source.mirror,
    budget: {
      usedMs: s.inFlight ? now - s.inFlight.startedAt : undefined,
      totalMs: spec.closeout.budgetMs,
      source: spec.closeout.budgetSource,
    },
    stateAgeMs: now - s.phaseSince,
    shas: s.shas,
    drillDown: [
      `temporal workflow query --workflow-id ${wid} --name events`,
      `temporal workflow show --workflow-id ${wid}`,
    ],
  };
}
