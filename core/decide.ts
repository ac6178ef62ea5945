// The follower's decision core: a pure state machine. `reduce(state, event, now, spec)` applies
// one event, `nextAction(state, now)` says what to do next, `condition(state, spec)` says what the
// state means (phase, code, message). No Temporal, no I/O, no clock: the workflow supplies `now`
// and turns actions into activities and timers. The rules are in docs/architecture.md.
import type { RuntimeStatus, SecretPresence } from '../contract/adapter.ts';
import type { Code, MirrorFailureCode } from '../contract/codes.ts';
import type { Delivery } from '../contract/notify.ts';
import { shortSha as short } from '../contract/format.ts';
import { canCancel, type FollowerSpec } from '../contract/spec.ts';
import {
  inFlightOf,
  type FollowerState,
  type InFlight,
  type PendingCause,
  type Phase,
  type RunResult,
  type ShaRecord,
  type Work,
} from '../contract/state.ts';
import { copy } from './copy.ts';
import { text } from './describe.ts';

export type FollowerEvent =
  | { type: 'observed'; sha: string }
  | { type: 'observeFailed'; code: MirrorFailureCode; message: string }
  /** The trigger activity for the pending work is about to run. */
  | { type: 'triggering' }
  | {
      type: 'triggered';
      sha: string;
      run: number;
      fired: boolean;
      triggerId?: string;
      jobId?: string;
      secrets?: SecretPresence[];
    }
  /** `mayHaveReached`: the trigger was lost or killed after it may have been accepted. */
  | {
      type: 'triggerFailed';
      sha: string;
      run: number;
      code: Code;
      message: string;
      retryable: boolean;
      mayHaveReached: boolean;
    }
  | { type: 'status'; sha: string; run: number; status: RuntimeStatus }
  | { type: 'statusFailed'; sha: string; run: number; code: Code; message: string }
  | { type: 'cancelled'; sha: string; run: number; ok: boolean; message: string }
  | { type: 'manualTrigger'; sha?: string; reason: string }
  /** A wake-up; `sha` is what a push announced (a hint: only the mirror's answer is decided on). */
  | { type: 'refresh'; sha?: string }
  | { type: 'supersedeNotice'; sha: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume'; reason?: string }
  | { type: 'reconfigured'; summary: string }
  | { type: 'projected'; ok: boolean; message: string }
  /** A notification sink's delivery ended (activities/notify.ts). */
  | { type: 'notified'; delivery: Delivery }
  | { type: 'tick' };

export type Action =
  | { kind: 'cancel'; sha: string; run: number; jobId?: string }
  | { kind: 'observe' }
  /** Apply `triggering`, then run the trigger the work then describes. */
  | { kind: 'trigger'; sha: string }
  | { kind: 'status'; sha: string; run: number; jobId?: string }
  | { kind: 'wait'; until: number; why: string };

export interface Condition {
  phase: Phase;
  code: Code;
  message: string;
  sha?: string;
}

/** What one observation would mean, without changing anything: the answer `run-once --dry-run` gives. */
export interface Decision {
  kind: 'Noop' | 'PendingTrigger' | 'Blocked';
  code: Code;
  message: string;
}

/** How long a push's sha is waited for on the mirror before the follower falls back to its cadence. */
export const PUSH_READS_FOR_MS = 30_000;
/** How long the ledger keeps a missed webhook. */
export const MISSED_KEPT_MS = 24 * 3_600_000;
/** The most entries each list of the ledger keeps (a flood of pushes, a branch moved every poll). */
const LEDGER_KEPT = 200;
/** An empty list of the ledger is left out of the state. */
const kept = <T>(xs: T[]): T[] | undefined => (xs.length ? xs : undefined);
/** The wait before the n-th read again for a pushed sha: 250 ms, doubling, at most 2 s. */
export const pushReadBackoffMs = (read: number): number => Math.min(2000, 250 * 2 ** (read - 1));

export function initialState(id: string, now: number): FollowerState {
  return {
    version: 2,
    id,
    phase: 'Observed',
    code: 'Starting',
    message: text.starting(),
    phaseSince: now,
    codeSince: now,
    nextObserveAt: now,
    cancels: [],
    shas: [],
    events: [],
  };
}

export function backoffMs(spec: FollowerSpec, failedAttempt: number): number {
  const { initialBackoffMs, backoffCoefficient, maxBackoffMs } = spec.retry;
  return Math.min(maxBackoffMs, Math.round(initialBackoffMs * backoffCoefficient ** (failedAttempt - 1)));
}

const record = (s: FollowerState, sha: string | undefined): ShaRecord | undefined => s.shas.find((r) => r.sha === sha);

/** How a failed run is followed up: not at all, by a retry (a new run), or by sending the same key again (its outcome was lost). */
type FailureFollowUp = 'terminal' | 'retry' | 'resend';

/** What the state means. Total and pure: the phase is never stored on its own, so it cannot drift from the facts. */
export function condition(s: FollowerState, spec: FollowerSpec): Condition {
  const w = s.work;
  const head = s.observedSha;
  if (s.paused)
    return { phase: 'Blocked', code: 'Paused', message: text.paused(s.paused.reason, w, spec), sha: w?.sha ?? head };
  if (w) {
    switch (w.stage) {
      case 'triggering':
        return { phase: 'Triggering', code: 'Triggering', message: text.triggering(w, spec), sha: w.sha };
      case 'closingOut':
        return w.fired
          ? { phase: 'ClosingOut', code: 'TriggerAccepted', message: text.accepted(w.jobId, spec), sha: w.sha }
          : { phase: 'ClosingOut', code: 'AlreadyOnRuntime', message: text.adopted(w.sha, w.jobId), sha: w.sha };
      case 'pending':
        if (w.blocked)
          return {
            phase: 'Blocked',
            code: w.blocked.code,
            message: text.adapterBlocked(w.blocked.message, spec),
            sha: w.sha,
          };
        if (s.mirrorBlocked)
          return {
            phase: 'Blocked',
            code: s.mirrorBlocked.code,
            message: text.retryWaitsForMirror(s.mirrorBlocked.message, w),
            sha: w.sha,
          };
        if (w.quietUntil !== undefined)
          return {
            phase: 'PendingTrigger',
            code: 'QuietPeriod',
            message: text.quiet(w.sha, w.quietUntil, spec),
            sha: w.sha,
          };
        return { phase: 'PendingTrigger', code: w.cause, message: text.pending(w, spec), sha: w.sha };
      case 'backoff':
        if (s.mirrorBlocked)
          return {
            phase: 'Blocked',
            code: s.mirrorBlocked.code,
            message: text.retryWaitsForMirror(s.mirrorBlocked.message, w),
            sha: w.sha,
          };
        return {
          phase: 'Failed',
          code: w.failure.code,
          message: text.retrying(w.failure.message, w.attempt, w.backoffMs, spec),
          sha: w.sha,
        };
    }
  }
  if (s.mirrorBlocked)
    return { phase: 'Blocked', code: s.mirrorBlocked.code, message: s.mirrorBlocked.message, sha: head };
  if (head === undefined) return { phase: 'Observed', code: 'Starting', message: text.starting() };
  const done = record(s, head)?.result;
  if (s.deployed?.sha === head && done?.outcome === 'Succeeded')
    return { phase: 'Succeeded', code: done.code, message: done.message, sha: head };
  if (done?.outcome === 'Failed') return { phase: 'Failed', code: done.code, message: done.message, sha: head };
  return { phase: 'Observed', code: 'AwaitingRead', message: text.awaitingRead(head), sha: head };
}

/** The earliest thing the follower should do now, or until when it may sleep. */
export function nextAction(s: FollowerState, now: number): Action {
  const cancel = s.cancels[0];
  if (cancel) return { kind: 'cancel', ...cancel };
  // A read that is due comes first: nothing fires on a head older than the latest wake-up.
  if (now >= s.nextObserveAt) return { kind: 'observe' };
  const w = s.work;
  const strayUntil = s.strayTriggerUntil ?? 0;
  const stillUntil = w?.stage === 'pending' ? (w.quietUntil ?? 0) : 0;
  if (w?.stage === 'pending' && !w.blocked && !s.paused && !s.mirrorBlocked && now >= strayUntil && now >= stillUntil)
    return { kind: 'trigger', sha: w.sha };
  if (w?.stage === 'closingOut' && now >= Math.min(w.nextCheckAt, w.deadline))
    return { kind: 'status', sha: w.sha, run: w.run, jobId: w.jobId };
  const wakeups: [number, string][] = [[s.nextObserveAt, 'next observation']];
  if (w?.stage === 'closingOut') {
    wakeups.push([w.nextCheckAt, 'next close-out check']);
    wakeups.push([w.deadline, 'close-out budget']);
  }
  if (w?.stage === 'backoff' && !s.paused) wakeups.push([w.notBefore, `retry backoff for ${short(w.sha)}`]);
  if (w?.stage === 'pending' && w.blocked) wakeups.push([w.blocked.retryAt, `the adapter of ${short(w.sha)}, again`]);
  if (w?.stage === 'pending' && now < strayUntil) wakeups.push([strayUntil, 'a lost trigger command to time out']);
  if (w?.stage === 'pending' && now < stillUntil) wakeups.push([stillUntil, 'the quiet period']);
  for (const u of s.unannounced ?? []) wakeups.push([u.missedAt, `a webhook for ${short(u.sha)}`]);
  wakeups.sort((a, b) => a[0] - b[0]);
  const [until, why] = wakeups[0]!;
  return { kind: 'wait', until, why };
}

/** Apply one event. Returns a new state; the input is not modified. */
export function reduce(prev: FollowerState, event: FollowerEvent, now: number, spec: FollowerSpec): FollowerState {
  const s = copy(prev);
  new Reducer(s, now, spec).apply(event);
  return s;
}

/** What observing `sha` would decide, from this state, without changing it. */
export function decide(s: FollowerState, sha: string, now: number, spec: FollowerSpec): Decision {
  const next = reduce(s, { type: 'observed', sha }, now, spec);
  const kind = next.phase === 'PendingTrigger' || next.phase === 'Blocked' ? next.phase : 'Noop';
  return { kind, code: next.code, message: next.message };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

class Reducer {
  constructor(
    private readonly s: FollowerState,
    private readonly now: number,
    private readonly spec: FollowerSpec,
  ) {}

  apply(e: FollowerEvent): void {
    this.handle(e);
    this.settle();
  }

  private handle(e: FollowerEvent): void {
    const { s, now, spec } = this;
    switch (e.type) {
      case 'observed':
        return this.observed(e.sha);
      case 'observeFailed':
        s.lastLookAt = now;
        s.mirrorBlocked = { code: e.code, message: e.message, since: s.mirrorBlocked?.since ?? now };
        s.lastError = { code: e.code, message: e.message, at: now };
        s.nextObserveAt = now + spec.pollIntervalMs;
        return;
      case 'triggering':
        return this.triggering();
      case 'triggered':
        return this.triggered(e);
      case 'triggerFailed':
        return this.triggerFailed(e);
      case 'status':
        return this.status(e.sha, e.run, e.status);
      case 'statusFailed': {
        const w = this.closingOut(e.sha, e.run);
        if (!w) return;
        s.lastError = { code: e.code, message: e.message, at: now, sha: e.sha };
        if (now >= w.deadline)
          return this.fail(
            w,
            'BudgetExceeded',
            text.budgetExceeded(now - w.startedAt, spec, w.runtime, e.message),
            'terminal',
          );
        w.nextCheckAt = now + spec.closeout.pollIntervalMs;
        return;
      }
      case 'cancelled':
        s.cancels = s.cancels.filter((c) => c.sha !== e.sha || c.run !== e.run);
        return this.note(e.ok ? 'CancelSent' : 'CancelFailed', text.cancel(e.sha, e.ok, e.message), e.sha);
      case 'manualTrigger':
        if (s.paused) return this.note('ManualWhilePaused', text.manualWhilePaused(s.paused.reason), e.sha);
        // Decided at the next read: the head has to be confirmed by the mirror first.
        s.manualRequest = { ...(e.sha ? { sha: e.sha } : {}), reason: e.reason, at: now };
        s.nextObserveAt = now;
        return;
      case 'refresh':
        s.nextObserveAt = now;
        if (e.sha !== undefined && e.sha !== s.observedSha) s.awaitedPush = { sha: e.sha, since: now, reads: 0 };
        if (e.sha !== undefined && spec.pushWebhooks) this.announce(e.sha);
        return;
      case 'supersedeNotice':
        // A wake-up only makes the follower read now: the mirror stays the authority.
        s.nextObserveAt = now;
        return;
      case 'pause':
        s.paused = { reason: e.reason, since: s.paused?.since ?? now };
        return;
      case 'resume':
        if (!s.paused) return;
        s.paused = undefined;
        s.nextObserveAt = now;
        return this.note('Resumed', text.resumed(e.reason));
      case 'reconfigured':
        s.nextObserveAt = now;
        return this.note('Reconfigured', text.reconfigured(e.summary));
      case 'projected': {
        // Noted when it starts or stops working, not on every write.
        const was = s.projection;
        s.projection = { ok: e.ok, at: now, ...(e.ok ? {} : { message: e.message }) };
        if (!e.ok && (was?.ok !== false || was.message !== e.message))
          this.note('ProjectionFailed', text.projectionFailed(e.message));
        if (e.ok && was?.ok === false) this.note('ProjectionRecovered', text.projectionRecovered());
        return;
      }
      case 'notified': {
        const d = e.delivery;
        s.deliveries = [...(s.deliveries ?? []).filter((x) => x.sink !== d.sink), d];
        if (!d.ok) this.note('NotificationFailed', text.notificationFailed(d.sink, d.notice, d.message), d.sha);
        return;
      }
      case 'tick':
        return this.tick();
    }
  }

  private observed(sha: string): void {
    const { s, now, spec } = this;
    const previousHead = s.observedSha;
    const outage = s.mirrorBlocked;
    s.mirrorBlocked = undefined;
    s.observedSha = sha;
    s.observedAt = now;
    s.lastLookAt = now;
    // Watched followers read again when woken (or at the fallback); a failed read retries at pollInterval.
    s.nextObserveAt = now + (spec.watched?.fallbackIntervalMs ?? spec.pollIntervalMs);
    this.record(sha);
    if (outage) this.note('MirrorRecovered', text.mirrorRecovered(now - outage.since), sha);
    this.awaitPush(sha);
    if (spec.pushWebhooks && previousHead !== undefined && sha !== previousHead) this.found(sha);

    const w = s.work;
    if (w && w.sha !== sha) this.moveOn(w, sha, previousHead);
    if (s.manualRequest) this.manual(sha);
    if (!s.work && !s.paused) this.decideHead(sha);
    // The quiet period ends with a read that finds the branch still there.
    if (s.work?.stage === 'pending' && s.work.quietUntil !== undefined)
      s.nextObserveAt = Math.min(s.nextObserveAt, s.work.quietUntil);
  }

  /** The ledger: a push announced `sha`. */
  private announce(sha: string): void {
    const { s, now } = this;
    s.announced = [...(s.announced ?? []).filter((a) => a.sha !== sha), { sha, at: now }].slice(-LEDGER_KEPT);
    s.unannounced = (s.unannounced ?? []).filter((u) => u.sha !== sha);
  }

  /** The ledger: a read found the branch moved to `sha`; a webhook may still announce it. */
  private found(sha: string): void {
    const { s, now } = this;
    if ((s.announced ?? []).some((a) => a.sha === sha)) return;
    const missedAt = now + (this.spec.pushWebhooks?.announceWindowMs ?? 0);
    s.unannounced = [...(s.unannounced ?? []).filter((u) => u.sha !== sha), { sha, foundAt: now, missedAt }];
  }

  /** The ledger, as time passes: unannounced moves become missed webhooks; old entries go. */
  private ageLedger(): void {
    const { s, now } = this;
    if (!s.announced && !s.unannounced && !s.missedWebhooks) return;
    const windowMs = this.spec.pushWebhooks?.announceWindowMs;
    for (const u of s.unannounced ?? [])
      // Without webhooks (a reconfiguration took them away) nothing was missed.
      if (windowMs !== undefined && now >= u.missedAt) {
        s.missedWebhooks = [...(s.missedWebhooks ?? []), u.foundAt].slice(-LEDGER_KEPT);
        this.note('MissedWebhook', text.missedWebhook(u.sha, u.missedAt - u.foundAt), u.sha);
      }
    s.unannounced = kept((s.unannounced ?? []).filter((u) => windowMs !== undefined && now < u.missedAt));
    s.announced = kept((s.announced ?? []).filter((a) => windowMs !== undefined && now - a.at < windowMs));
    s.missedWebhooks = kept((s.missedWebhooks ?? []).filter((at) => now - at < MISSED_KEPT_MS));
  }

  /** A push announced a sha the mirror may not show yet (it can lag the git host): read again soon. */
  private awaitPush(shown: string): void {
    const { s, now } = this;
    const a = s.awaitedPush;
    if (!a) return;
    if (a.sha === shown) {
      s.awaitedPush = undefined;
    } else if (now - a.since >= PUSH_READS_FOR_MS) {
      s.awaitedPush = undefined;
      this.note('MirrorBehindPush', text.mirrorBehindPush(a.sha, shown, now - a.since), a.sha);
    } else {
      a.reads += 1;
      s.nextObserveAt = Math.min(s.nextObserveAt, now + pushReadBackoffMs(a.reads));
    }
  }

  /** The branch left the work's sha. */
  private moveOn(w: Work, head: string, previousHead: string | undefined): void {
    const { s } = this;
    switch (w.stage) {
      case 'triggering':
      case 'closingOut':
        if (s.paused) {
          // A change freeze does not cancel work: the close-out finishes, the new head waits for resume.
          if (head !== previousHead) this.note('HeadMovedWhilePaused', text.headMovedWhilePaused(head, w.sha), head);
          return;
        }
        this.supersede(w.sha, head, text.superseded(w.sha, head));
        if (canCancel(this.spec.adapter))
          s.cancels.push({
            sha: w.sha,
            run: w.run,
            ...(w.stage === 'closingOut' && w.jobId ? { jobId: w.jobId } : {}),
          });
        break;
      case 'backoff':
        this.supersede(w.sha, head, text.supersededBeforeRetry(w.sha, head));
        break;
      case 'pending':
        // Never fired in this run, unless an earlier try of its key may have reached the runtime.
        if (w.reuse?.maybeFired) this.supersede(w.sha, head, text.superseded(w.sha, head));
        break;
    }
    s.work = undefined;
  }

  private supersede(sha: string, by: string, message: string): void {
    this.finish(sha, { outcome: 'Superseded', code: 'Superseded', message, by });
    this.log(this.s.phase, 'Superseded', 'Superseded', message, sha);
  }

  private manual(head: string): void {
    const { s } = this;
    const m = s.manualRequest!;
    s.manualRequest = undefined;
    const busy = inFlightOf(s.work);
    if (m.sha !== undefined && m.sha !== head)
      return this.note('ManualNotHead', text.manualNotHead(m.sha, head, this.spec.source.branch), m.sha);
    if (s.paused) return this.note('ManualWhilePaused', text.manualWhilePaused(s.paused.reason), head);
    if (busy) return this.note('ManualInFlight', text.manualInFlight(head), head);
    s.work = this.pending(head, 'ManualTrigger', 1, true, { reason: m.reason });
  }

  /** No work: the head is deployed, visibly Failed, or goes to trigger. */
  private decideHead(head: string): void {
    const { s } = this;
    if (s.deployed?.sha === head) return;
    const r = this.record(head);
    // A Failed head stays Failed (through pauses, blips and rewinds) until a new sha or a manual trigger.
    if (r.result?.outcome === 'Failed') return;
    const quiet = this.spec.quietPeriodMs ? { quietUntil: this.now + this.spec.quietPeriodMs } : {};
    s.work = this.pending(head, r.runs > 0 ? 'HeadReturned' : 'NewHead', 1, false, quiet);
  }

  private pending(
    sha: string,
    cause: PendingCause,
    attempt: number,
    manual: boolean,
    extra: Partial<Extract<Work, { stage: 'pending' }>> = {},
  ): Work {
    return { stage: 'pending', sha, attempt, manual, cause, since: this.now, ...extra };
  }

  private triggering(): void {
    const { s, now, spec } = this;
    const w = s.work;
    if (w?.stage !== 'pending') return;
    const r = this.record(w.sha);
    const run = w.reuse?.run ?? r.runs + 1;
    r.runs = Math.max(r.runs, run);
    s.deployed = undefined; // the runtime may move from here on
    s.lastTriggeredSha = w.sha;
    s.work = {
      stage: 'triggering',
      sha: w.sha,
      attempt: w.attempt,
      manual: w.manual,
      run,
      maybeFired: w.reuse?.maybeFired ?? false,
      startedAt: now,
      deadline: now + spec.closeout.budgetMs,
    };
  }

  private triggered(e: Extract<FollowerEvent, { type: 'triggered' }>): void {
    const { s, now } = this;
    const w = s.work;
    if (w?.stage !== 'triggering' || w.sha !== e.sha || w.run !== e.run) return;
    if (e.secrets) s.secrets = { at: now, entries: e.secrets };
    // The run is under way: the sha's record describes it from now on.
    const r = this.record(e.sha);
    r.triggeredAt = w.startedAt;
    delete r.result;
    delete r.jobId;
    if (e.jobId) r.jobId = e.jobId;
    s.work = {
      stage: 'closingOut',
      sha: w.sha,
      attempt: w.attempt,
      manual: w.manual,
      run: w.run,
      fired: e.fired,
      ...(e.triggerId ? { triggerId: e.triggerId } : {}),
      ...(e.jobId ? { jobId: e.jobId } : {}),
      startedAt: w.startedAt,
      deadline: w.deadline,
      nextCheckAt: now,
    };
  }

  private triggerFailed(e: Extract<FollowerEvent, { type: 'triggerFailed' }>): void {
    const { s, now, spec } = this;
    const w = s.work;
    if (w?.stage !== 'triggering' || w.sha !== e.sha || w.run !== e.run) return;
    if (e.code === 'AdapterMissing') {
      // Nothing reached the runtime: no attempt is spent, and the same key goes out when it can run.
      s.lastError = { code: e.code, message: e.message, at: now, sha: w.sha };
      const cause: PendingCause = w.manual
        ? 'ManualTrigger'
        : w.maybeFired
          ? 'TriggerOutcomeUnknown'
          : w.attempt > 1
            ? 'RetryDue'
            : w.run > 1
              ? 'HeadReturned'
              : 'NewHead';
      s.work = this.pending(w.sha, cause, w.attempt, w.manual, {
        reuse: { run: w.run, maybeFired: w.maybeFired },
        blocked: { code: 'AdapterMissing', message: e.message, retryAt: now + spec.pollIntervalMs },
      });
      return;
    }
    // Its command may still be running somewhere: nothing fires until it has certainly timed out.
    if (e.mayHaveReached) s.strayTriggerUntil = now + spec.adapter.timeoutMs;
    this.fail(w, e.code, e.message, e.mayHaveReached ? 'resend' : e.retryable ? 'retry' : 'terminal');
  }

  private closingOut(sha: string, run: number): Extract<Work, { stage: 'closingOut' }> | undefined {
    const w = this.s.work;
    return w?.stage === 'closingOut' && w.sha === sha && w.run === run ? w : undefined;
  }

  private status(sha: string, run: number, st: RuntimeStatus): void {
    const { now, spec } = this;
    const w = this.closingOut(sha, run);
    if (!w) return;
    // A status naming another key describes another run of this sha, not ours.
    const ours =
      st.sha === sha && (st.triggerId === undefined || w.triggerId === undefined || st.triggerId === w.triggerId);
    if (ours && st.jobId) w.jobId = this.record(sha).jobId = st.jobId;
    if (ours && st.phase === 'Succeeded') return this.succeed(w);
    if (ours && st.phase === 'Failed')
      return this.fail(w, 'RuntimeFailed', text.runtimeFailed(st.message), st.retryable ? 'retry' : 'terminal');
    w.runtime = { phase: st.phase, ...(st.sha ? { sha: st.sha } : {}), ...(st.message ? { message: st.message } : {}) };
    // Only a status read taken at or after the deadline can decide that the budget was missed.
    if (now >= w.deadline)
      return this.fail(w, 'BudgetExceeded', text.budgetExceeded(now - w.startedAt, spec, w.runtime), 'terminal');
    w.nextCheckAt = now + spec.closeout.pollIntervalMs;
  }

  private succeed(w: InFlight): void {
    const { s, now, spec } = this;
    const tookMs = now - w.startedAt;
    this.finish(
      w.sha,
      now > w.deadline
        ? {
            outcome: 'Succeeded',
            code: 'ClosedOutOverBudget',
            overrunMs: now - w.deadline,
            message: text.closedOut(tookMs, now - w.deadline, spec),
          }
        : { outcome: 'Succeeded', code: 'ClosedOut', message: text.closedOut(tookMs, undefined, spec) },
    );
    s.deployed = { sha: w.sha, at: now };
    s.lastSucceededSha = w.sha;
    s.lastError = undefined;
    s.work = undefined;
  }

  /** The run failed; followed up after backoff when it may be and attempts are left. Either way it has an outcome now. */
  private fail(w: InFlight, code: Code, message: string, followUp: FailureFollowUp): void {
    const { s, now, spec } = this;
    s.lastError = { code, message, at: now, sha: w.sha };
    // An attempt that failed before it could ask the runtime (its status check, say) learned
    // nothing: when an earlier try of this run may have fired, the next one still reuses its key.
    const outcomeUnknown = followUp === 'resend' || (w.stage === 'triggering' && w.maybeFired);
    if ((followUp === 'retry' || outcomeUnknown) && w.attempt < spec.retry.maxAttempts) {
      const wait = backoffMs(spec, w.attempt);
      this.finish(w.sha, { outcome: 'Failed', code, message });
      s.work = {
        stage: 'backoff',
        sha: w.sha,
        attempt: w.attempt + 1,
        manual: w.manual,
        run: w.run,
        failure: { code, message },
        backoffMs: wait,
        notBefore: now + wait,
        outcomeUnknown,
      };
      return;
    }
    this.finish(w.sha, {
      outcome: 'Failed',
      code,
      message: followUp === 'terminal' ? message : text.attemptsUsed(message, spec, outcomeUnknown),
    });
    s.work = undefined;
  }

  private tick(): void {
    const { s, now } = this;
    const w = s.work;
    if (w?.stage === 'backoff' && now >= w.notBefore && !s.paused) {
      s.work = this.pending(
        w.sha,
        w.outcomeUnknown ? 'TriggerOutcomeUnknown' : 'RetryDue',
        w.attempt,
        w.manual,
        w.outcomeUnknown ? { reuse: { run: w.run, maybeFired: true } } : {},
      );
      s.nextObserveAt = now; // a fresh read confirms the head before the retry fires
    }
    if (w?.stage === 'pending' && w.blocked && now >= w.blocked.retryAt) {
      delete w.blocked;
      s.nextObserveAt = now;
    }
    if (w?.stage === 'pending' && w.quietUntil !== undefined && now >= w.quietUntil) delete w.quietUntil;
    this.ageLedger();
  }

  private record(sha: string): ShaRecord {
    const { s, now, spec } = this;
    let rec = record(s, sha);
    if (!rec) {
      rec = { sha, firstSeen: now, runs: 0 };
      s.shas.push(rec);
      // Forget the oldest shas first; never one still in play.
      const inPlay = new Set([sha, s.observedSha, s.work?.sha, s.deployed?.sha, ...s.cancels.map((c) => c.sha)]);
      while (s.shas.length > spec.loop.shasKept) {
        const i = s.shas.findIndex((r) => !inPlay.has(r.sha));
        if (i < 0) break;
        s.shas.splice(i, 1);
      }
    }
    return rec;
  }

  private finish(sha: string, result: DistributiveOmit<RunResult, 'at'>): void {
    this.record(sha).result = { ...result, at: this.now };
  }

  /** Re-derives the condition; a change is logged, a new phase restarts its clock. A code has one phase (contract/codes.ts). */
  private settle(): void {
    const { s } = this;
    const c = condition(s, this.spec);
    if (c.code === s.code && c.message === s.message) return;
    this.log(s.phase, c.phase, c.code, c.message, c.sha);
    if (c.phase !== s.phase) s.phaseSince = this.now;
    if (c.phase !== s.phase || c.code !== s.code) s.codeSince = this.now;
    s.phase = c.phase;
    s.code = c.code;
    s.message = c.message;
  }

  private note(code: Code, message: string, sha?: string): void {
    this.log(this.s.phase, this.s.phase, code, message, sha);
  }

  private log(from: Phase, to: Phase, code: Code, message: string, sha?: string): void {
    const { s } = this;
    s.events.push({ at: this.now, from, to, ...(sha ? { sha } : {}), code, message });
    s.events = s.events.slice(-this.spec.loop.eventsKept);
  }
}
