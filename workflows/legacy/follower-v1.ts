// The follower loop of the decision core v1, frozen: it replays runs recorded before the v2 core
// command for command. At the top of each iteration it asks `takeOver()`; once that is true (the
// run reached a step that is not replayed) it returns its state and unread signals to the v2 loop.
// Do not change what it schedules; remove it once no run recorded before v2 can be replayed.
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  allHandlersFinished,
  condition,
  continueAsNew,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdapterCall, FollowerActivities } from '../../activities/index.ts';
import { FailureCode } from '../../contract/codes.ts';
import {
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
  type FollowerWorkflowInput,
} from '../../contract/messages.ts';
import type { FollowerSpec } from '../../contract/spec.ts';
import type { FollowerView, Transition } from '../../contract/state.ts';
import { projectionEntryV1 } from './projection-v1.ts';
import { initialState, nextAction, reduce, type FollowerEvent } from './decide-v1.ts';
import type { FollowerStateV1 as FollowerState } from './state-v1.ts';

const acts = proxyActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
const OBSERVE_LOCALLY = 'observe-as-local-activity';
const RETRY_FAILED_PROJECTION = 'retry-failed-projection';

/** What the v1 loop hands over: its spec, its state and the signals it has not applied yet. */
export interface HandoverV1 {
  spec: FollowerSpec;
  state: FollowerState;
  inbox: FollowerEvent[];
}

export async function followerLoopV1(input: FollowerWorkflowInput, takeOver: () => boolean): Promise<HandoverV1> {
  let spec = input.spec;
  let state: FollowerState = (input.state as FollowerState | undefined) ?? initialState(spec.id, Date.now());
  const inbox: FollowerEvent[] = [];
  let nextSpec: FollowerSpec | undefined;

  setHandler(triggerSignal, (req) => void inbox.push({ type: 'manualTrigger', sha: req.sha, reason: req.reason }));
  setHandler(refreshSignal, () => void inbox.push({ type: 'refresh' }));
  setHandler(pauseSignal, ({ reason }) => void inbox.push({ type: 'pause', reason }));
  setHandler(resumeSignal, (arg) => void inbox.push({ type: 'resume', reason: arg?.reason }));
  setHandler(supersedeSignal, ({ sha }) => void inbox.push({ type: 'supersedeNotice', sha }));
  setHandler(reconfigureSignal, (next) => {
    if (next.id !== spec.id) return;
    nextSpec = next;
  });
  setHandler(stateQuery, () => view(spec, state, Date.now()));
  setHandler(
    eventsQuery,
    (opts) => (opts?.limit ? state.events.slice(-opts.limit) : state.events) as unknown as Transition[],
  );
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
  const project = async (): Promise<void> => {
    if (!spec.projection) return;
    const entry = projectionEntryV1(state);
    if (entry === projected) return;
    const retryFailed = patched(RETRY_FAILED_PROJECTION);
    if (!retryFailed) projected = entry;
    try {
      const res = await local.projectState.executeWithOptions(
        { startToCloseTimeout: spec.adapter.timeoutMs, retry: infraRetry(spec), summary: 'project state' },
        [{ ...spec.projection, follower: spec.id, entry }],
      );
      projected = entry;
      apply({ type: 'projected', ok: res.written || res.reason === 'unchanged', message: res.reason ?? '' });
    } catch (err) {
      apply({ type: 'projected', ok: false, message: failureOf(err).message });
    }
  };

  for (let iteration = 0; ; iteration++) {
    if (takeOver()) return { spec: nextSpec ?? spec, state, inbox: inbox.splice(0) };
    if (nextSpec) {
      const changed = JSON.stringify(nextSpec) !== JSON.stringify(spec);
      spec = nextSpec;
      nextSpec = undefined;
      if (changed)
        apply({ type: 'reconfigured', summary: `${spec.adapter.id} ${spec.source.branch}@${spec.source.mirror}` });
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
          const input = {
            mirror: spec.source.mirror,
            branch: spec.source.branch,
            timeoutMs: spec.observeTimeoutMs,
            dueAt: state.nextObserveAt,
          };
          const { sha } = patched(OBSERVE_LOCALLY)
            ? await local.observeBranch.executeWithOptions(
                {
                  startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs,
                  retry: infraRetry(spec),
                  summary,
                },
                [input],
              )
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
        const run = state.shas.find((r) => r.sha === action.sha)?.attempts ?? 1;
        try {
          const res = await acts.triggerAdapter.executeWithOptions(
            {
              ...adapterOptions(spec, 2),
              summary: `trigger ${short(action.sha)} via ${spec.adapter.id} (attempt ${action.attempt})`,
            },
            [{ spec: adapterCall(spec), sha: action.sha, redeploy: action.manual, run }],
          );
          apply({
            type: 'triggered',
            sha: action.sha,
            jobId: res.jobId,
            alreadyRunning: res.alreadyRunning,
            secrets: res.secrets,
          });
        } catch (err) {
          const f = failureOf(err);
          apply({
            type: 'triggerFailed',
            sha: action.sha,
            reason: f.type,
            message: f.message,
            retryable: f.retryable,
            blocking: f.type === FailureCode.AdapterMissing,
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
      await continueAsNew<(input: FollowerWorkflowInput) => Promise<void>>({
        spec: nextSpec ?? spec,
        state: state as unknown as Record<string, unknown>,
      });
    }
  }
}

const short = (sha: string): string => sha.slice(0, 12);

function adapterCall(spec: FollowerSpec): AdapterCall {
  return {
    follower: spec.id,
    branch: spec.source.branch,
    configRef: spec.target.configRef,
    params: spec.target.params,
    adapter: spec.adapter,
  };
}

const infraRetry = (spec: FollowerSpec) => ({
  maximumAttempts: spec.activity.maxAttempts,
  maximumInterval: spec.activity.maxRetryIntervalMs,
});

function observeOptions(spec: FollowerSpec) {
  return {
    startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs,
    heartbeatTimeout: spec.activity.heartbeatTimeoutMs,
    retry: infraRetry(spec),
  };
}

function adapterOptions(spec: FollowerSpec, commands: number) {
  return {
    startToCloseTimeout: commands * spec.adapter.timeoutMs + spec.activity.heartbeatTimeoutMs,
    heartbeatTimeout: spec.activity.heartbeatTimeoutMs,
    retry: infraRetry(spec),
  };
}

function failureOf(err: unknown): { type: string; message: string; retryable: boolean } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { retryable?: boolean };
    return { type: cause.type ?? 'ActivityFailed', message: cause.message, retryable: details.retryable ?? true };
  }
  return { type: 'ActivityFailed', message: cause instanceof Error ? cause.message : String(cause), retryable: true };
}

/** The v1 state as the `state` query showed it (queries are not replayed; shape only for readers). */
function view(spec: FollowerSpec, s: FollowerState, now: number): FollowerView {
  const { events: _events, pendingCancels: _cancels, ...rest } = s;
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
  } as unknown as FollowerView;
}
