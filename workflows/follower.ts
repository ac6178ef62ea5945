// One long-lived workflow per follower: observe → decide → trigger → close out, with durable
// timers. The decision core (core/decide.ts) decides; this file only turns its actions into
// activities and timers, and signals into events.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AdapterCall, FollowerActivities } from '../activities/index.ts';
import {
  isCode,
  MIRROR_FAILURE_CODES,
  type Code,
  type FailureDetails,
  type MirrorFailureCode,
} from '../contract/codes.ts';
import { shortSha as short } from '../contract/format.ts';
import {
  FollowerPhaseKey,
  LastSucceededShaKey,
  notificationQueue,
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
  type Stamped,
} from '../contract/messages.ts';
import type { FollowerSpec } from '../contract/spec.ts';
import { inFlightOf, type FollowerState, type FollowerView } from '../contract/state.ts';
import { initialState, nextAction, reduce, type FollowerEvent } from '../core/decide.ts';
import { followerDetails } from '../core/details.ts';
import { happenings } from '../core/happenings.ts';
import { sinkTakes, type Outgoing } from '../contract/notify.ts';
import { followerLoopV1 } from './legacy/follower-v1.ts';
import { migrateV1 } from './legacy/migrate.ts';
import { isStateV1 } from './legacy/state-v1.ts';
import { noticesOf, phaseReporter, recordMetrics } from './outward.ts';
import { projectionEntry } from './projection.ts';

// Every call passes its own options (timeouts come from the spec); these are only the fallback.
const acts = proxyActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<FollowerActivities>({ startToCloseTimeout: '1 minute' });
/**
 * Workflow versioning: the decision core v2. Runs recorded before it replay on the frozen v1 loop
 * (workflows/legacy/) and hand over to this one at their first step that is not replayed.
 */
const DECISION_CORE_V2 = 'decision-core-v2';
/**
 * Workflow versioning: the core decides on a clock the history records. The clock of an activation
 * is not always one replay reproduces: when a local activity resolves it is the activity's
 * completion live but the next task's start on replay, and when a query reaches a worker while the
 * follower's next task still waits for a dead worker, the SDK runs the workflow on through events
 * whose task has not started (a fired timer, a signal, a result) on the last started task's clock.
 * A decision made there ("not due yet: wait") is one replay makes differently ("due: observe"),
 * and the worker that replays the follower later fails with a nondeterminism error (seen in
 * test/e2e/failover-queries.test.ts before this; the local-activity case follows from how the
 * SDK's core moves its clock). So the decision clock moves only on recorded times: a fired
 * timer's deadline, the time an activity stamped on its result or failure, and a reading of the
 * worker's clock taken as a local activity (its marker keeps it) when the follower starts and
 * when a signal wakes it. (workflows/task-boundary.ts now refuses to run on an unstarted task at
 * all; this patch still covers the local-activity case and the runs recorded before.)
 */
const RECORDED_CLOCK = 'recorded-clock';
/**
 * Workflow versioning: a refresh may carry the sha a push announced, and the core reads the mirror
 * again until it shows it. Runs recorded before applied every refresh as a plain wake-up.
 */
const PUSH_SHA_HINT = 'push-sha-hint';
/**
 * Workflow versioning: the server's continue-as-new suggestion is read only right after a fired
 * timer. After a signal wakes the follower its clock is read as a local activity, and the code
 * after a local activity may run in a later workflow task live than on replay (the activity's
 * marker in one task, its result delivered in the next): a suggestion that changed between those
 * tasks made live and replay decide differently.
 */
const SUGGESTION_AFTER_TIMER = 'continue-as-new-suggestion-after-timer';
/**
 * Workflow versioning: a follower with `notify` sinks schedules a notification activity for each
 * thing its sinks are told (on their own task queue), and hands the ones still in flight to the
 * run it continues as. Asked when a run starts and, in a run recorded before it, again after each
 * fired timer (code there runs in the same workflow task live and on replay), so running
 * followers start notifying within one wait.
 */
const NOTIFICATIONS = 'notifications';
/** A sink gets this long, retries included, to take a notice; each try gets NOTICE_TRY. */
const NOTICE_DEADLINE = '10 minutes';
const NOTICE_TRY = '30 seconds';

export async function followerWorkflow(input: FollowerWorkflowInput): Promise<void> {
  if (patched(DECISION_CORE_V2)) {
    const carried = input.state;
    const state = isStateV1(carried)
      ? migrateV1(carried, Date.now(), input.spec)
      : ((carried as FollowerState | undefined) ?? initialState(input.spec.id, Date.now()));
    return follow(input.spec, state, [], input.notices ?? []);
  }
  const handover = await followerLoopV1(input, () => patched(DECISION_CORE_V2));
  // The signals v1 had not applied yet have the same shape in v2.
  return follow(
    handover.spec,
    migrateV1(handover.state, Date.now(), handover.spec),
    handover.inbox as FollowerEvent[],
    [],
  );
}

async function follow(
  initialSpec: FollowerSpec,
  initial: FollowerState,
  unread: FollowerEvent[],
  carried: Outgoing[],
): Promise<void> {
  let spec = initialSpec;
  let state = initial;
  const inbox: FollowerEvent[] = [...unread];
  let nextSpec: FollowerSpec | undefined;

  setHandler(
    triggerSignal,
    (req) => void inbox.push({ type: 'manualTrigger', ...(req.sha ? { sha: req.sha } : {}), reason: req.reason }),
  );
  setHandler(refreshSignal, (req) => void inbox.push({ type: 'refresh', ...(req?.sha ? { sha: req.sha } : {}) }));
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

  /** The worker's clock, kept in the history as a local activity's marker. */
  const readClock = async (): Promise<number> =>
    (await local.readClock.executeWithOptions({ startToCloseTimeout: '10s', summary: 'read the clock' }, [])).at;
  // Asked once, before anything else can happen in this run: code that runs after a local
  // activity resolves may run in a later workflow task live than on replay (SUGGESTION_AFTER_TIMER),
  // and a patch is recognised on replay only in the task that recorded it.
  const pushShaHints = patched(PUSH_SHA_HINT);
  const suggestionAfterTimerOnly = patched(SUGGESTION_AFTER_TIMER);
  let notifies = patched(NOTIFICATIONS);
  let clock = patched(RECORDED_CLOCK) ? await readClock() : Date.now();
  /** Moves the decision clock to a recorded time (never back). */
  const reached = (at: number | undefined): void => {
    if (at !== undefined && at > clock) clock = at;
  };
  const now = (): number => (patched(RECORDED_CLOCK) ? clock : Date.now());
  const reportPhase = phaseReporter(initialSpec.id);
  /** In flight, by a number of their own: a run that continues as new hands these on. */
  const outgoing = new Map<number, Outgoing>();
  let sent = 0;
  /** Sent beside the deploy, never awaited by it: the result lands in the state when it comes. */
  const deliver = ({ sink, notice }: Outgoing): void => {
    const key = sent++;
    outgoing.set(key, { sink, notice });
    const done = (ok: boolean, at: number, message: string): void =>
      apply({
        type: 'notified',
        delivery: { sink: sink.id, ok, at, notice: notice.type, ...(notice.sha ? { sha: notice.sha } : {}), message },
      });
    acts.notify
      .executeWithOptions(
        {
          taskQueue: notificationQueue(workflowInfo().taskQueue),
          startToCloseTimeout: NOTICE_TRY,
          scheduleToCloseTimeout: NOTICE_DEADLINE,
          retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
          summary: `notify ${sink.id}: ${notice.type}${notice.sha ? ` ${short(notice.sha)}` : ''}`,
        },
        [{ sink, notice }],
      )
      .then(
        (res) => done(true, res.at ?? now(), res.message),
        (err: unknown) => {
          // Out of time (NOTICE_DEADLINE): what the last try said is the timeout's cause.
          const last = err instanceof ActivityFailure && err.cause instanceof TimeoutFailure ? err.cause.cause : err;
          const f = failureOf(last ?? err);
          done(false, f.at ?? now(), f.message);
        },
      )
      .finally(() => outgoing.delete(key));
  };
  const apply = (event: FollowerEvent): void => {
    const before = state;
    state = reduce(state, event, now(), spec);
    reportPhase(state);
    const happened = happenings(before, state);
    if (!happened.length) return;
    recordMetrics(spec, happened);
    if (notifies)
      for (const notice of noticesOf(spec, happened, workflowInfo().namespace))
        for (const sink of spec.notify?.sinks ?? []) if (sinkTakes(sink, notice)) deliver({ sink, notice });
  };
  for (const o of carried) deliver(o);

  /** A signal's event, as the code that recorded the run applied it. */
  const applySignal = (event: FollowerEvent): void =>
    apply(event.type === 'refresh' && !pushShaHints ? { type: 'refresh' } : event);

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
    try {
      const res = await local.projectState.executeWithOptions(
        { startToCloseTimeout: spec.adapter.timeoutMs, retry: infraRetry(spec), summary: 'project state' },
        [{ ...spec.projection, follower: spec.id, entry }],
      );
      reached(res.at);
      // Written, already there, or no Kubernetes access (the worker's configuration: trying again would not help).
      projected = entry;
      apply({ type: 'projected', ok: res.written || res.reason === 'unchanged', message: res.reason ?? '' });
    } catch (err) {
      const f = failureOf(err);
      reached(f.at);
      apply({ type: 'projected', ok: false, message: f.message });
    }
  };

  for (let iteration = 0; ; iteration++) {
    if (nextSpec) {
      const changed = JSON.stringify(nextSpec) !== JSON.stringify(spec);
      spec = nextSpec;
      nextSpec = undefined;
      if (changed)
        apply({ type: 'reconfigured', summary: `${spec.adapter.id} ${spec.source.branch}@${spec.source.mirror}` });
    }
    for (const event of inbox.splice(0)) applySignal(event);
    apply({ type: 'tick' });
    publish();
    await project();

    const action = nextAction(state, now());
    let timerFired = false;
    setCurrentDetails(followerDetails(spec, state, action, now()));
    switch (action.kind) {
      case 'observe':
        try {
          // A read takes milliseconds: as a local activity it needs no task round trip and leaves one marker.
          const { sha, at } = await local.observeBranch.executeWithOptions(
            {
              startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs,
              retry: infraRetry(spec),
              summary: `observe ${spec.source.branch} on the mirror`,
            },
            [
              {
                mirror: spec.source.mirror,
                branch: spec.source.branch,
                timeoutMs: spec.observeTimeoutMs,
                dueAt: state.nextObserveAt,
                ...(spec.source.auth ? { auth: spec.source.auth } : {}),
              },
            ],
          );
          reached(at);
          apply({ type: 'observed', sha });
        } catch (err) {
          const f = failureOf(err);
          reached(f.at);
          apply({ type: 'observeFailed', code: mirrorCode(f.code), message: f.message });
        }
        break;
      case 'trigger': {
        apply({ type: 'triggering' });
        publish();
        const w = inFlightOf(state.work);
        if (w?.stage !== 'triggering') break;
        try {
          const res = await acts.triggerAdapter.executeWithOptions(
            {
              ...triggerOptions(spec),
              summary: `trigger ${short(w.sha)} via ${spec.adapter.id} (attempt ${w.attempt}, run ${w.run})`,
            },
            [{ spec: adapterCall(spec), sha: w.sha, run: w.run, redeploy: w.manual, maybeFired: w.maybeFired }],
          );
          reached(res.at);
          apply({
            type: 'triggered',
            sha: w.sha,
            run: w.run,
            fired: res.fired,
            triggerId: res.triggerId,
            jobId: res.jobId,
            secrets: res.secrets,
          });
        } catch (err) {
          const f = failureOf(err);
          reached(f.at);
          apply({
            type: 'triggerFailed',
            sha: w.sha,
            run: w.run,
            code: f.code,
            message: f.message,
            retryable: f.retryable,
            mayHaveReached: f.mayHaveReached,
          });
        }
        break;
      }
      case 'status':
        try {
          const { at, ...status } = await acts.adapterStatus.executeWithOptions(
            { ...adapterOptions(spec, 1), summary: `close-out check ${spec.closeout.check} for ${short(action.sha)}` },
            [{ spec: adapterCall(spec), sha: action.sha, jobId: action.jobId, check: spec.closeout }],
          );
          reached(at);
          apply({ type: 'status', sha: action.sha, run: action.run, status });
        } catch (err) {
          const f = failureOf(err);
          reached(f.at);
          apply({ type: 'statusFailed', sha: action.sha, run: action.run, code: f.code, message: f.message });
        }
        break;
      case 'cancel':
        try {
          // Nothing (undefined) in runs recorded before the stamp.
          const done: Stamped | undefined = await acts.cancelAdapter.executeWithOptions(
            { ...adapterOptions(spec, 1), summary: `cancel superseded ${short(action.sha)}` },
            [{ spec: adapterCall(spec), sha: action.sha, jobId: action.jobId }],
          );
          reached(done?.at);
          apply({ type: 'cancelled', sha: action.sha, run: action.run, ok: true, message: '' });
        } catch (err) {
          const f = failureOf(err);
          reached(f.at);
          apply({ type: 'cancelled', sha: action.sha, run: action.run, ok: false, message: f.message });
        }
        break;
      case 'wait': {
        const ms = Math.max(1, action.until - Date.now());
        const woken = await condition(() => inbox.length > 0 || nextSpec !== undefined, ms, {
          summary: `wait: ${action.why}`,
        });
        // A fired timer: its deadline has passed. A signal: it is applied at the time read next.
        timerFired = !woken;
        if (!woken) reached(action.until);
        else if (patched(RECORDED_CLOCK)) reached(await readClock());
        break;
      }
    }

    if (timerFired && !notifies) notifies = patched(NOTIFICATIONS);
    const suggested = workflowInfo().continueAsNewSuggested && (timerFired || !suggestionAfterTimerOnly);
    const due = suggested || iteration + 1 >= spec.loop.continueAsNewAfter;
    if (due && action.kind === 'wait') {
      await condition(allHandlersFinished);
      for (const event of inbox.splice(0)) applySignal(event);
      // A notice a sink has not taken yet is sent again by the next run (the same CloudEvent id).
      const notices = [...outgoing.values()];
      await continueAsNew<typeof followerWorkflow>({
        spec: nextSpec ?? spec,
        state,
        ...(notices.length ? { notices } : {}),
      });
    }
  }
}

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
const infraRetry = (spec: FollowerSpec) => ({
  maximumAttempts: spec.activity.maxAttempts,
  maximumInterval: spec.activity.maxRetryIntervalMs,
});

/** Adapter activities run `commands` adapter commands, each within the adapter timeout. */
function adapterOptions(spec: FollowerSpec, commands: number) {
  return {
    startToCloseTimeout: commands * spec.adapter.timeoutMs + spec.activity.heartbeatTimeoutMs,
    heartbeatTimeout: spec.activity.heartbeatTimeoutMs,
    retry: infraRetry(spec),
  };
}

/** A trigger runs `status` then `trigger`; a retried one first waits out its lost predecessor's command (one more timeout). */
const triggerOptions = (spec: FollowerSpec) => adapterOptions(spec, 3);

interface FailureFacts {
  code: Code;
  message: string;
  retryable: boolean;
  mayHaveReached: boolean;
  /** When a domain failure happened (its activity's stamp); unknown for a lost worker or a timeout. */
  at?: number;
}

/**
 * Activities report domain failures as non-retryable ApplicationFailures typed with a code and
 * carrying FailureDetails. Anything else (a lost worker past its retries, a timeout, a bug) is an
 * infrastructure failure: worth another attempt, and a trigger's outcome is then unknown.
 */
function failureOf(err: unknown): FailureFacts {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof ApplicationFailure && isCode(cause.type)) {
    const details = cause.details?.[0] as FailureDetails | undefined;
    return {
      code: cause.type,
      message,
      retryable: details?.retryable ?? true,
      mayHaveReached: details?.mayHaveReached ?? false,
      ...(details?.at !== undefined ? { at: details.at } : {}),
    };
  }
  return { code: 'ActivityFailed', message, retryable: true, mayHaveReached: true };
}

/** Only the state's data depends on the code (no command does), so a new code needs no patch. */
const mirrorCode = (code: Code): MirrorFailureCode =>
  (MIRROR_FAILURE_CODES as readonly Code[]).includes(code) ? (code as MirrorFailureCode) : 'MirrorUnreachable';

function view(spec: FollowerSpec, s: FollowerState, now: number): FollowerView {
  const { events: _events, cancels: _cancels, ...rest } = s;
  const inFlight = inFlightOf(s.work);
  return {
    ...rest,
    adapter: spec.adapter.id,
    branch: spec.source.branch,
    mirror: spec.source.mirror,
    targetSha: s.work?.sha ?? s.observedSha,
    budget: {
      usedMs: inFlight ? now - inFlight.startedAt : undefined,
      totalMs: spec.closeout.budgetMs,
      source: spec.closeout.budgetSource,
    },
  };
}
