// The decision core v1, frozen: it replays runs recorded before the v2 core (core/decide.ts)
// until their first step that is not replayed, where follower-v1.ts hands over. Do not change
// what it decides: recorded histories depend on it. Remove it once no such run can be replayed.
import type { RuntimeStatus, SecretPresence } from '../../contract/adapter.ts';
import { formatDuration } from '../../contract/format.ts';
import { canCancel, type FollowerSpec } from '../../contract/spec.ts';
import type { Phase } from '../../contract/state.ts';
import type { FollowerStateV1 as FollowerState, ShaRecordV1 as ShaRecord } from './state-v1.ts';

export type FollowerEvent =
  | { type: 'observed'; sha: string }
  | { type: 'observeFailed'; reason: string; message: string }
  | { type: 'triggering' }
  | { type: 'triggered'; sha: string; jobId?: string; alreadyRunning: boolean; secrets?: SecretPresence[] }
  | { type: 'triggerFailed'; sha: string; reason: string; message: string; retryable: boolean; blocking: boolean }
  | { type: 'status'; sha: string; status: RuntimeStatus }
  | { type: 'statusFailed'; sha: string; reason: string; message: string }
  | { type: 'cancelled'; sha: string; ok: boolean; message: string }
  | { type: 'manualTrigger'; sha?: string; reason: string }
  | { type: 'refresh' }
  | { type: 'supersedeNotice'; sha: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume'; reason?: string }
  | { type: 'reconfigured'; summary: string }
  | { type: 'projected'; ok: boolean; message: string }
  | { type: 'tick' };

export type Action =
  | { kind: 'cancel'; sha: string; jobId?: string }
  | { kind: 'trigger'; sha: string; attempt: number; manual: boolean }
  | { kind: 'status'; sha: string }
  | { kind: 'observe' }
  | { kind: 'wait'; until: number; why: string };

/** What one observation means, without changing anything: the answer `run-once --dry-run` gives. */
export type Decision =
  | { kind: 'Noop'; reason: string }
  | { kind: 'PendingTrigger'; sha: string; reason: string }
  | { kind: 'Blocked'; reason: string };

export function initialState(id: string, now: number): FollowerState {
  return {
    id,
    phase: 'Observed',
    phaseSince: now,
    reason: 'follower started; first observation pending',
    pendingCancels: [],
    nextObserveAt: now,
    shas: [],
    events: [],
  };
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : '-');

export function backoffMs(spec: FollowerSpec, failedAttempt: number): number {
  const { initialBackoffMs, backoffCoefficient, maxBackoffMs } = spec.retry;
  return Math.min(maxBackoffMs, Math.round(initialBackoffMs * backoffCoefficient ** (failedAttempt - 1)));
}

/** Decide what an observed head means for this follower, given what it has done so far. */
export function decide(state: FollowerState, sha: string): Decision {
  const record = state.shas.find((r) => r.sha === sha);
  if (state.inFlight?.sha === sha) return { kind: 'Noop', reason: `${short(sha)} is already in flight` };
  if (state.retry?.sha === sha) return { kind: 'Noop', reason: `${short(sha)} is waiting for its retry` };
  if (record && record.attempts > 0) {
    const outcome = record.outcome ?? 'in progress';
    return { kind: 'Noop', reason: `${short(sha)} was already triggered (${outcome}); a sha triggers once` };
  }
  if (state.paused) return { kind: 'Blocked', reason: `Paused: ${state.paused.reason}` };
  return { kind: 'PendingTrigger', sha, reason: `new head ${short(sha)}` };
}

/** The earliest thing the follower should do now, or how long it may sleep. */
export function nextAction(state: FollowerState, now: number): Action {
  const cancel = state.pendingCancels[0];
  if (cancel) return { kind: 'cancel', ...cancel };
  if (state.phase === 'PendingTrigger' && state.targetSha) {
    const attempt = state.retry?.sha === state.targetSha ? state.retry.attempt : 1;
    return { kind: 'trigger', sha: state.targetSha, attempt, manual: Boolean(state.pendingManual) };
  }
  if (state.phase === 'ClosingOut' && state.inFlight && state.nextStatusAt !== undefined && now >= state.nextStatusAt) {
    return { kind: 'status', sha: state.inFlight.sha };
  }
  if (now >= state.nextObserveAt) return { kind: 'observe' };
  const wakeups: [number, string][] = [[state.nextObserveAt, 'next observation']];
  if (state.phase === 'ClosingOut' && state.inFlight) {
    if (state.nextStatusAt !== undefined) wakeups.push([state.nextStatusAt, 'next close-out check']);
    wakeups.push([state.inFlight.deadline, 'close-out budget']);
  }
  if (state.retry && !state.paused && !state.mirrorBlocked)
    wakeups.push([state.retry.notBefore, `retry backoff for ${short(state.retry.sha)}`]);
  wakeups.sort((a, b) => a[0] - b[0]);
  const [until, why] = wakeups[0]!;
  return { kind: 'wait', until, why };
}

/** Apply one event. Returns a new state; the input is not modified. */
export function reduce(prev: FollowerState, event: FollowerEvent, now: number, spec: FollowerSpec): FollowerState {
  // State is plain JSON (it travels through Temporal payloads), so a JSON copy is exact.
  const s: FollowerState = JSON.parse(JSON.stringify(prev)) as FollowerState;
  const r = new Reducer(s, now, spec);
  r.apply(event);
  return s;
}

class Reducer {
  constructor(
    private readonly s: FollowerState,
    private readonly now: number,
    private readonly spec: FollowerSpec,
  ) {}

  apply(e: FollowerEvent): void {
    const { s, now, spec } = this;
    switch (e.type) {
      case 'observed':
        return this.observed(e.sha);
      case 'observeFailed': {
        s.lastLookAt = now;
        s.mirrorBlocked = { reason: e.reason, message: e.message, since: s.mirrorBlocked?.since ?? now };
        s.lastError = { reason: e.reason, message: e.message, at: now };
        s.nextObserveAt = now + spec.pollIntervalMs;
        // A close-out in progress keeps going: its status comes from the runtime, not the mirror.
        if (!s.inFlight) this.to('Blocked', `${e.reason}: ${e.message}`);
        return;
      }
      case 'triggering': {
        const sha = s.targetSha!;
        const attempt = s.retry?.sha === sha ? s.retry.attempt : 1;
        const manual = Boolean(s.pendingManual);
        s.retry = undefined;
        s.pendingManual = undefined;
        s.inFlight = { sha, attempt, manual, startedAt: now, deadline: now + spec.closeout.budgetMs };
        const rec = this.record(sha);
        rec.attempts += 1;
        rec.triggeredAt = now;
        rec.outcome = undefined;
        rec.reason = undefined;
        s.lastTriggeredSha = sha;
        this.to('Triggering', `attempt ${attempt}/${spec.retry.maxAttempts}${manual ? ' (manual)' : ''}`, sha);
        return;
      }
      case 'triggered': {
        if (s.inFlight?.sha !== e.sha) return;
        s.inFlight.jobId = e.jobId ?? s.inFlight.jobId;
        if (s.inFlight.jobId) this.record(e.sha).jobId = s.inFlight.jobId;
        if (e.secrets) s.secrets = { at: now, entries: e.secrets };
        s.nextStatusAt = now;
        const job = e.jobId ? ` job ${e.jobId}` : '';
        this.to(
          'ClosingOut',
          e.alreadyRunning
            ? `runtime already on ${short(e.sha)}${job}; not fired again`
            : `trigger accepted${job}; budget ${formatDuration(spec.closeout.budgetMs)}`,
          e.sha,
        );
        return;
      }
      case 'triggerFailed': {
        if (s.inFlight?.sha !== e.sha) return;
        if (e.blocking) {
          // The adapter could not run at all: nothing reached the runtime, so no attempt is spent
          // and the same attempt runs again after a poll interval.
          const f = s.inFlight;
          this.record(e.sha).attempts -= 1;
          s.inFlight = undefined;
          s.retry = {
            sha: f.sha,
            attempt: f.attempt,
            notBefore: now + spec.pollIntervalMs,
            ...(f.manual ? { manual: true } : {}),
          };
          s.lastError = { reason: e.reason, message: e.message, at: now, sha: e.sha };
          this.to(
            'Blocked',
            `${e.reason}: ${e.message}; trying again in ${formatDuration(spec.pollIntervalMs)}`,
            e.sha,
          );
          return;
        }
        this.fail(e.reason, e.message, e.retryable);
        return;
      }
      case 'status':
        return this.status(e.sha, e.status);
      case 'statusFailed': {
        if (s.inFlight?.sha !== e.sha) return;
        s.lastError = { reason: e.reason, message: e.message, at: now, sha: e.sha };
        s.nextStatusAt = now + spec.closeout.pollIntervalMs;
        return;
      }
      case 'cancelled': {
        s.pendingCancels = s.pendingCancels.filter((c) => c.sha !== e.sha);
        this.log(s.phase, s.phase, `cancel of ${short(e.sha)} ${e.ok ? 'sent' : `failed: ${e.message}`}`, e.sha);
        return;
      }
      case 'manualTrigger': {
        s.manualRequest = { sha: e.sha, reason: e.reason, at: now };
        s.nextObserveAt = now;
        this.log(
          s.phase,
          s.phase,
          `manual trigger requested${e.sha ? ` for ${short(e.sha)}` : ''}: ${e.reason}`,
          e.sha,
        );
        return;
      }
      case 'refresh':
        s.nextObserveAt = now;
        return;
      case 'supersedeNotice':
        // The mirror stays the authority: the notice only makes us look now.
        s.nextObserveAt = now;
        this.log(s.phase, s.phase, `notice: branch moved to ${short(e.sha)}; confirming with the mirror`, e.sha);
        return;
      case 'pause': {
        s.paused = { reason: e.reason, since: s.paused?.since ?? now };
        if (s.inFlight) {
          this.log(s.phase, s.phase, `paused: ${e.reason}; the in-flight close-out continues`, s.inFlight.sha);
        } else if (s.phase === 'PendingTrigger' && s.pendingManual) {
          this.log(s.phase, s.phase, `paused: ${e.reason}; the manual trigger still runs`, s.targetSha);
        } else {
          this.to('Blocked', `Paused: ${e.reason}`, s.phase === 'PendingTrigger' ? s.targetSha : s.observedSha);
        }
        return;
      }
      case 'resume': {
        if (!s.paused) return;
        s.paused = undefined;
        s.nextObserveAt = now;
        this.log(s.phase, s.phase, `resumed${e.reason ? `: ${e.reason}` : ''}`);
        return;
      }
      case 'reconfigured':
        s.nextObserveAt = now;
        this.log(s.phase, s.phase, `reconfigured: ${e.summary}`);
        return;
      case 'projected': {
        // Logged when it starts or stops working, not on every write.
        const was = s.projection;
        s.projection = { ok: e.ok, at: now, ...(e.ok ? {} : { message: e.message }) };
        if (!e.ok && (was?.ok !== false || was.message !== e.message))
          this.log(s.phase, s.phase, `state projection not written: ${e.message}`);
        if (e.ok && was?.ok === false) this.log(s.phase, s.phase, 'state projection written again');
        return;
      }
      case 'tick':
        return this.tick();
    }
  }

  private observed(sha: string): void {
    const { s, now, spec } = this;
    const recovered = s.mirrorBlocked;
    s.mirrorBlocked = undefined;
    s.observedSha = sha;
    s.observedAt = now;
    s.lastLookAt = now;
    // Watched followers read again when woken (or at the fallback); a failed read retries at pollInterval.
    s.nextObserveAt = now + (spec.watched?.fallbackIntervalMs ?? spec.pollIntervalMs);
    if (!s.shas.some((r) => r.sha === sha)) this.record(sha);
    if (recovered)
      this.log(s.phase, s.phase, `mirror readable again after ${formatDuration(now - recovered.since)}`, sha);

    const manual = s.manualRequest;
    if (manual) {
      s.manualRequest = undefined;
      if (manual.sha && manual.sha !== sha) {
        this.log(
          s.phase,
          s.phase,
          `manual trigger refused: ${short(manual.sha)} is not the head of ${spec.source.branch} on the mirror (head is ${short(sha)})`,
          manual.sha,
        );
      } else if (s.inFlight?.sha === sha) {
        this.log(s.phase, s.phase, `manual trigger ignored: ${short(sha)} is already in flight`, sha);
      } else {
        if (s.inFlight) this.supersede(sha);
        s.targetSha = sha;
        s.retry = undefined;
        s.pendingManual = true;
        this.to('PendingTrigger', `manual trigger: ${manual.reason}`, sha);
        return;
      }
    }

    if (s.inFlight && s.inFlight.sha !== sha) this.supersede(sha);
    if (s.inFlight) return; // still on our in-flight sha: close-out goes on
    if (s.phase === 'PendingTrigger' && s.targetSha === sha) return;
    if (s.retry && s.retry.sha !== sha) {
      // The branch moved while a failed sha waited for its retry: the retry is moot.
      this.finish(s.retry.sha, 'Superseded', `superseded by ${short(sha)} before its retry`, sha);
      s.retry = undefined;
    }

    const d = decide(s, sha);
    switch (d.kind) {
      case 'PendingTrigger':
        s.targetSha = sha;
        this.to('PendingTrigger', d.reason, sha);
        return;
      case 'Blocked':
        this.to('Blocked', d.reason, sha);
        return;
      case 'Noop': {
        if (s.retry) {
          // Waiting for a retry: a Paused reason left from before a resume no longer holds.
          if (s.phase === 'Blocked' && s.reason.startsWith('Paused:')) {
            this.to(
              'Failed',
              `${s.lastError?.reason ?? 'Failed'}; retry ${s.retry.attempt}/${spec.retry.maxAttempts} due in ${formatDuration(Math.max(0, s.retry.notBefore - now))}`,
              s.retry.sha,
            );
          }
          return;
        }
        const rec = s.shas.find((r) => r.sha === sha);
        if (rec?.outcome === 'Succeeded' && sha === s.lastSucceededSha) {
          if (s.phase !== 'Succeeded') this.to('Succeeded', `${short(sha)} is deployed; branch unchanged`, sha);
        } else if (rec?.outcome === 'Failed' && s.phase === 'Failed' && s.targetSha === sha) {
          // A terminal failure stays visible until a new sha or a manual trigger.
        } else {
          this.to('Noop', d.reason, sha);
        }
        return;
      }
    }
  }

  private supersede(bySha: string): void {
    const { s } = this;
    const old = s.inFlight!;
    s.inFlight = undefined;
    s.nextStatusAt = undefined;
    this.finish(old.sha, 'Superseded', `branch advanced to ${short(bySha)}`, bySha);
    if (canCancel(this.spec.adapter)) s.pendingCancels.push({ sha: old.sha, jobId: old.jobId });
    this.to('Superseded', `${short(old.sha)} superseded by ${short(bySha)}`, old.sha);
  }

  private status(sha: string, st: RuntimeStatus): void {
    const { s, now, spec } = this;
    const f = s.inFlight;
    if (!f || f.sha !== sha || s.phase !== 'ClosingOut') return;
    if (st.jobId && (!st.sha || st.sha === sha)) f.jobId = this.record(sha).jobId = st.jobId;
    if (st.sha === sha && st.phase === 'Succeeded') {
      s.inFlight = undefined;
      s.nextStatusAt = undefined;
      s.lastSucceededSha = sha;
      s.lastError = undefined;
      this.finish(sha, 'Succeeded', `closed out in ${formatDuration(now - f.startedAt)}`);
      this.to(
        'Succeeded',
        `closed out in ${formatDuration(now - f.startedAt)} (budget ${formatDuration(spec.closeout.budgetMs)})`,
        sha,
      );
      return;
    }
    if (st.sha === sha && st.phase === 'Failed') {
      this.fail('RuntimeFailed', st.message ?? 'the runtime reported Failed', st.retryable ?? false);
      return;
    }
    f.runtimeSha = st.sha;
    f.runtimeMessage = st.message;
    s.nextStatusAt = now + spec.closeout.pollIntervalMs;
  }

  private fail(reason: string, message: string, retryable: boolean): void {
    const { s, now, spec } = this;
    const f = s.inFlight!;
    s.inFlight = undefined;
    s.nextStatusAt = undefined;
    s.lastError = { reason, message, at: now, sha: f.sha };
    const attemptsLeft = f.attempt < spec.retry.maxAttempts;
    if (retryable && attemptsLeft) {
      const wait = backoffMs(spec, f.attempt);
      s.retry = { sha: f.sha, attempt: f.attempt + 1, notBefore: now + wait };
      this.record(f.sha).reason = `${reason}: ${message}`;
      this.to(
        'Failed',
        `${reason}: ${message}; retry ${f.attempt + 1}/${spec.retry.maxAttempts} in ${formatDuration(wait)}`,
        f.sha,
      );
      return;
    }
    const why = retryable ? `${reason}: ${message}; ${spec.retry.maxAttempts} attempts used` : `${reason}: ${message}`;
    this.finish(f.sha, 'Failed', why);
    this.to('Failed', why, f.sha);
  }

  private tick(): void {
    const { s, now, spec } = this;
    const f = s.inFlight;
    if (f && s.phase === 'ClosingOut' && now >= f.deadline) {
      const src = spec.closeout.budgetSource;
      const where = runtimeWhere(f.runtimeSha, f.runtimeMessage);
      this.fail(
        'BudgetExceeded',
        `close-out took ${formatDuration(now - f.startedAt)}, over the ${formatDuration(spec.closeout.budgetMs)} budget from ${src.path} (${src.file}:${src.line})${where}`,
        false,
      );
      return;
    }
    // No retry while paused or while the mirror cannot confirm the branch still points there.
    if (
      s.retry &&
      now >= s.retry.notBefore &&
      !s.inFlight &&
      s.phase !== 'PendingTrigger' &&
      !s.paused &&
      !s.mirrorBlocked
    ) {
      s.targetSha = s.retry.sha;
      s.pendingManual = s.retry.manual;
      this.to('PendingTrigger', `retry ${s.retry.attempt}/${spec.retry.maxAttempts} after backoff`, s.retry.sha);
    }
  }

  private record(sha: string): ShaRecord {
    const { s, now, spec } = this;
    let rec = s.shas.find((r) => r.sha === sha);
    if (!rec) {
      rec = { sha, firstSeen: now, attempts: 0 };
      s.shas.push(rec);
      // Forget the oldest finished shas first; never the ones still in play.
      while (s.shas.length > spec.loop.shasKept) {
        const i = s.shas.findIndex((r) => r.sha !== sha && r.sha !== s.inFlight?.sha && r.sha !== s.retry?.sha);
        if (i < 0) break;
        s.shas.splice(i, 1);
      }
    }
    return rec;
  }

  private finish(sha: string, outcome: ShaRecord['outcome'], reason: string, supersededBy?: string): void {
    const rec = this.record(sha);
    rec.outcome = outcome;
    rec.reason = reason;
    rec.finishedAt = this.now;
    if (supersededBy) rec.supersededBy = supersededBy;
  }

  private to(phase: Phase, reason: string, sha?: string): void {
    const { s } = this;
    if (s.phase === phase && s.reason === reason) return;
    this.log(s.phase, phase, reason, sha);
    if (s.phase !== phase) s.phaseSince = this.now;
    s.phase = phase;
    s.reason = reason;
  }

  private log(from: Phase, to: Phase, reason: string, sha?: string): void {
    const { s } = this;
    s.events.push({ at: this.now, from, to, sha, reason });
    if (s.events.length > this.spec.loop.eventsKept) s.events.splice(0, s.events.length - this.spec.loop.eventsKept);
  }
}

function runtimeWhere(runtimeSha?: string, message?: string): string {
  if (!runtimeSha && !message) return '';
  const on = runtimeSha ? `; runtime reports ${short(runtimeSha)}` : '';
  return `${on}${message ? `; last status: ${message}` : ''}`;
}
