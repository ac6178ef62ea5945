// A model of the world a follower lives in, for property tests of the decision core: a mirror
// (pushes, force-pushes, rewinds, deletes, outages), a runtime with its own trigger log (jobs of
// varying length, fast and slow failures, cancel, a status that reports its last job), an adapter
// that can be missing, fail, hang or be orphaned, and a worker that can be lost at any activity
// boundary — including after the runtime accepted a trigger and before the result was recorded —
// with Temporal's activity retries. The follower is driven the way workflows/follower.ts drives
// it; the properties read the world (the runtime's log, the mirror's head), never the core's labels.
import { planTrigger, type RuntimeStatus } from '../../contract/adapter.ts';
import { CODES } from '../../contract/codes.ts';
import type { FollowerSpec } from '../../contract/spec.ts';
import type { FollowerState } from '../../contract/state.ts';
import { initialState, nextAction, reduce, type FollowerEvent } from '../../core/decide.ts';
import { happenings, type Happening } from '../../core/happenings.ts';
import { triggerIdFor } from '../../activities/trigger-key.ts';

export type JobOutcome = 'succeed' | 'failRetryable' | 'failTerminal';
/** Where a trigger activity attempt is lost (its worker dies). `orphanAccepts`: its trigger command outlives the worker and the runtime accepts it later. */
export type CrashPoint = 'beforeStatus' | 'afterStatus' | 'afterAccept' | 'orphanAccepts';
export type AdapterMode = 'ok' | 'missing' | 'exitNonZero' | 'hangBeforeAccept' | 'hangAfterAccept';

export type Step =
  | { k: 'push' }
  | { k: 'rewind'; back: number }
  | { k: 'delete' }
  | { k: 'recreate'; back: number }
  | { k: 'mirror'; up: boolean }
  | { k: 'pause' }
  | { k: 'resume' }
  | { k: 'manual'; which: 'head' | 'stale' | 'any' }
  /** A wake-up; with a push's sha as a hint: the head's, or one the mirror never shows (it lags, or the push was lost). */
  | { k: 'refresh'; hint?: 'head' | 'unmirrored' }
  | { k: 'job'; durationMs: number; outcome: JobOutcome }
  /** The next `times` trigger activity attempts are lost at `point`. */
  | { k: 'crash'; point: CrashPoint; times: number }
  | { k: 'adapter'; mode: AdapterMode }
  | { k: 'statusFails'; on: boolean }
  | { k: 'time'; ms: number }
  /** No worker runs for a while: the world moves on, the follower's timers fire late. */
  | { k: 'outage'; ms: number };

export interface Job {
  key: string;
  sha: string;
  startedAt: number;
  durationMs: number;
  outcome: JobOutcome;
  cancelledAt?: number;
}

/** One trigger the runtime accepted: its own log, the witness. */
export interface Accepted {
  key: string;
  sha: string;
  at: number;
  /** When the command that delivered it was started (an orphan's acceptance comes later), and in which order. */
  decidedAt: number;
  seq: number;
  /** What the world was when the trigger was decided. */
  /** The follower's latest mirror read then (the world served it), and whether it was newer than every wake-up delivered and every failure of this sha reported. */
  readThen: { head: string | undefined; fresh: boolean };
  runtimeThen: RuntimeStatus;
  pausedThen: boolean;
  manualSinceLastFireOfSha: boolean;
  /** Counts the mirror's head changes: a new epoch is a new stretch of the head on a sha. */
  epochThen: number;
}

/** Distinct in their first 8 hex digits, as real shas are (the trigger key holds 8). */
const sha = (n: number): string => `${n.toString(16).padStart(8, '0')}${'0'.repeat(32)}`;

export class World {
  now = 1_000_000;
  state: FollowerState;
  // --- the mirror
  private n = 1;
  head: string | undefined = sha(1);
  readonly pushed: string[] = [sha(1)];
  mirrorUp = true;
  private epoch = 0;
  // --- the runtime
  readonly jobs: Job[] = [];
  readonly accepted: Accepted[] = [];
  private readonly orphans: { at: number; sha: string; key: string; decided: Omit<Accepted, 'key' | 'sha' | 'at'> }[] =
    [];
  nextJob: { durationMs: number; outcome: JobOutcome } = { durationMs: 3000, outcome: 'succeed' };
  readonly echoKeys: boolean;
  // --- the adapter and the worker
  adapterMode: AdapterMode = 'ok';
  statusFails = false;
  private readonly crashes: CrashPoint[] = [];
  private budgetFrom = 0;
  /** What the world told the follower, and when: its latest mirror read, the latest wake-up, each sha's latest reported failure. */
  private lastRead: { at: number; head: string | undefined } = { at: -1, head: undefined };
  private lastWakeAt = -1;
  private readonly failureReportedAt = new Map<string, number>();
  // --- operators
  paused = false;
  /** Redeploys an operator asked for (a sha, or '*' for whatever the head is) not yet answered by a fire decided after them. */
  private readonly manualRequests: { target: string; seq: number }[] = [];
  /** Orders what happens at the same instant (a request and a decision in one millisecond). */
  private seq = 0;
  private readonly inbox: FollowerEvent[] = [];
  /** Signals on their way: a mirror watcher rings only after its next read of the mirror. */
  private readonly inTransit: { at: number; event: FollowerEvent }[] = [];
  /** Violations found while driving (checked by the properties at the end). */
  readonly violations: string[] = [];
  /** Per sha: how many triggers the worker started (the world sees each begin). */
  private readonly triggerings = new Map<string, number>();
  /** What the follower told the outside world (its metrics and notices are drawn from these). */
  readonly happened: Happening[] = [];
  /** Per sha: the world gave a reason to fail it (a failed, cancelled or over-budget job, an adapter or status fault). */
  readonly trouble = new Set<string>();

  constructor(
    readonly spec: FollowerSpec,
    opts: { echoKeys: boolean },
  ) {
    this.echoKeys = opts.echoKeys;
    this.state = initialState(spec.id, this.now);
  }

  // ---------------------------------------------------------------- the world's own moves

  step(st: Step): void {
    switch (st.k) {
      case 'push':
        this.head = sha(++this.n);
        this.pushed.push(this.head);
        this.doorbell();
        break;
      case 'rewind':
      case 'recreate':
        if (st.k === 'rewind' && this.head === undefined) break;
        this.head = this.pushed[Math.max(0, this.pushed.length - 1 - st.back)]!;
        this.doorbell();
        break;
      case 'delete':
        this.head = undefined;
        this.doorbell();
        break;
      case 'mirror':
        this.mirrorUp = st.up;
        if (st.up && this.spec.watched) this.inbox.push({ type: 'refresh' }); // the watcher's read works again
        break;
      case 'pause':
        this.paused = true;
        this.inbox.push({ type: 'pause', reason: 'model' });
        break;
      case 'resume':
        if (this.paused) this.inbox.push({ type: 'resume' });
        this.paused = false;
        break;
      case 'manual': {
        const target = st.which === 'stale' ? sha(999_999) : st.which === 'head' ? this.head : undefined;
        // A redeploy is asked for the head the operator sees (or any head, without --sha).
        if (st.which !== 'stale' && !this.paused) this.manualRequests.push({ target: target ?? '*', seq: this.seq++ });
        this.inbox.push({ type: 'manualTrigger', ...(target ? { sha: target } : {}), reason: 'model' });
        break;
      }
      case 'refresh': {
        const hint = st.hint === 'head' ? this.head : st.hint === 'unmirrored' ? sha(888_888) : undefined;
        this.inbox.push({ type: 'refresh', ...(hint ? { sha: hint } : {}) });
        break;
      }
      case 'job':
        this.nextJob = { durationMs: st.durationMs, outcome: st.outcome };
        break;
      case 'crash':
        for (let i = 0; i < st.times; i++) this.crashes.push(st.point);
        break;
      case 'adapter':
        this.adapterMode = st.mode;
        break;
      case 'statusFails':
        this.statusFails = st.on;
        break;
      case 'time':
        break;
      case 'outage':
        this.advance(st.ms);
        break;
    }
    this.run(this.now + (st.k === 'time' ? st.ms : 0));
    this.checkAlways();
  }

  /**
   * The head moved. A watched follower is woken by its mirror watcher — after the watcher's next
   * read, up to a poll interval later; a polled one finds it itself.
   */
  private doorbell(): void {
    this.epoch++;
    if (this.spec.watched)
      this.inTransit.push({
        at: this.now + ((this.epoch * 7919) % this.spec.pollIntervalMs),
        event: { type: 'refresh' },
      });
  }

  /** Heal everything an operator would: the mirror, the adapter, the worker, the runtime. */
  heal(resume: boolean): void {
    this.mirrorUp = true;
    this.adapterMode = 'ok';
    this.statusFails = false;
    this.crashes.length = 0;
    this.nextJob = { durationMs: 500, outcome: 'succeed' };
    if (resume && this.paused) this.step({ k: 'resume' });
    this.inbox.push({ type: 'refresh' });
  }

  // ---------------------------------------------------------------- the workflow, as follower.ts drives it

  private apply(e: FollowerEvent): void {
    const before = this.state;
    this.state = reduce(this.state, e, this.now, this.spec);
    this.happened.push(...happenings(before, this.state));
  }

  /** Runs the follower until it would sleep past `until`, then lets the clock reach `until`. */
  run(until: number): void {
    for (let guard = 0; guard < 500; guard++) {
      this.inTransit.sort((a, b) => a.at - b.at);
      while (this.inTransit[0] && this.inTransit[0].at <= this.now) this.inbox.push(this.inTransit.shift()!.event);
      for (const e of this.inbox.splice(0)) {
        if (e.type === 'refresh' || e.type === 'manualTrigger' || e.type === 'resume') this.lastWakeAt = this.now;
        this.apply(e);
      }
      this.apply({ type: 'tick' });
      const a = nextAction(this.state, this.now);
      this.checkAction(a);
      switch (a.kind) {
        case 'observe':
          this.advance(5);
          if (this.mirrorUp) this.lastRead = { at: this.now, head: this.head };
          if (!this.mirrorUp) this.apply({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' });
          else if (this.head === undefined)
            this.apply({ type: 'observeFailed', code: 'BranchNotFound', message: 'gone' });
          else this.apply({ type: 'observed', sha: this.head });
          break;
        case 'trigger':
          this.trigger();
          break;
        case 'status': {
          this.advance(50);
          if (this.statusFails) {
            this.trouble.add(a.sha);
            this.apply({
              type: 'statusFailed',
              sha: a.sha,
              run: a.run,
              code: 'AdapterFailed',
              message: 'status exited 1',
            });
          } else {
            const status = this.runtimeStatus();
            if (status.sha === a.sha && status.phase === 'Failed') this.failureReportedAt.set(a.sha, this.now);
            this.apply({ type: 'status', sha: a.sha, run: a.run, status });
          }
          break;
        }
        case 'cancel': {
          this.advance(50);
          const job = this.jobs.find((j) => j.key === a.jobId);
          if (job && job.cancelledAt === undefined && this.now < job.startedAt + job.durationMs)
            job.cancelledAt = this.now;
          this.apply({ type: 'cancelled', sha: a.sha, run: a.run, ok: true, message: '' });
          break;
        }
        case 'wait': {
          // A signal ends the wait early (workflows/follower.ts waits with condition(…, timeout)).
          const wake = Math.min(a.until, this.inTransit[0]?.at ?? Infinity);
          if (wake > until) {
            this.advance(Math.max(0, until - this.now));
            return;
          }
          this.advance(Math.max(0, wake - this.now));
          break;
        }
      }
    }
    throw new Error(
      `the follower never waits: ${JSON.stringify(this.state.work)} ${this.state.phase} ${this.state.code}`,
    );
  }

  /** The trigger activity (activities/index.ts triggerAdapter + adapter.ts adapterTrigger) under Temporal's retries. */
  private trigger(): void {
    this.apply({ type: 'triggering' });
    const w = this.state.work;
    if (w?.stage !== 'triggering') return;
    this.triggerings.set(w.sha, (this.triggerings.get(w.sha) ?? 0) + 1);
    const key = triggerIdFor(this.spec.id, w.sha, w.run);
    const { heartbeatTimeoutMs, maxAttempts } = this.spec.activity;
    const timeout = this.spec.adapter.timeoutMs;
    let scheduledAt = this.now;
    // The budget runs from when the worker started on this trigger (the world sees that moment).
    this.budgetFrom = this.now;
    const lost = (): void => {
      this.trouble.add(w.sha); // the budget runs on while the worker is gone
      // The server notices the silence after the heartbeat timeout and schedules the next attempt.
      this.advance(Math.max(0, scheduledAt + heartbeatTimeoutMs - this.now));
      scheduledAt = this.now + 1000;
    };
    const failed = (e: Omit<Extract<FollowerEvent, { type: 'triggerFailed' }>, 'type' | 'sha' | 'run'>): void => {
      this.failureReportedAt.set(w.sha, this.now);
      this.apply({ type: 'triggerFailed', sha: w.sha, run: w.run, ...e });
    };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) this.advance(Math.max(0, scheduledAt + timeout - this.now)); // outliveLostAttempt
      const crash = this.crashes.shift();
      if (crash === 'beforeStatus') {
        lost();
        continue;
      }
      if (this.adapterMode === 'missing')
        return failed({ code: 'AdapterMissing', message: 'not found', retryable: true, mayHaveReached: false });
      this.advance(50);
      if (this.statusFails) {
        this.trouble.add(w.sha);
        return failed({ code: 'AdapterFailed', message: 'status exited 1', retryable: true, mayHaveReached: false });
      }
      const before = this.runtimeStatus();
      const plan = planTrigger(before, {
        sha: w.sha,
        triggerId: key,
        manual: w.manual,
        maybeFired: w.maybeFired || attempt > 1,
      });
      if (!plan.fire) {
        const job = this.jobs.at(-1);
        if (job && job.startedAt + job.durationMs >= this.budgetFrom + this.spec.closeout.budgetMs)
          this.trouble.add(w.sha);
        this.apply({
          type: 'triggered',
          sha: w.sha,
          run: w.run,
          fired: false,
          ...(before.triggerId ? { triggerId: before.triggerId } : {}),
          ...(before.jobId ? { jobId: before.jobId } : {}),
        });
        return;
      }
      if (crash === 'afterStatus') {
        lost();
        continue;
      }
      const decided = this.decision(w.sha, before);
      if (crash === 'orphanAccepts') {
        this.orphans.push({
          at: this.now + 1 + Math.floor((((this.n * 7919 + attempt * 104_729) % 97) / 97) * (timeout - 2)),
          sha: w.sha,
          key,
          decided,
        });
        lost();
        continue;
      }
      if (this.adapterMode === 'exitNonZero') {
        this.trouble.add(w.sha);
        return failed({ code: 'AdapterFailed', message: 'trigger exited 3', retryable: true, mayHaveReached: false });
      }
      if (this.adapterMode === 'hangBeforeAccept' || this.adapterMode === 'hangAfterAccept') {
        this.trouble.add(w.sha);
        if (this.adapterMode === 'hangAfterAccept') this.accept(w.sha, key, decided);
        this.advance(timeout);
        return failed({ code: 'AdapterTimeout', message: 'killed', retryable: true, mayHaveReached: true });
      }
      this.advance(50);
      this.accept(w.sha, key, decided);
      if (crash === 'afterAccept') {
        lost();
        continue;
      }
      this.apply({ type: 'triggered', sha: w.sha, run: w.run, fired: true, triggerId: key, jobId: key });
      return;
    }
    this.trouble.add(w.sha);
    failed({
      code: 'ActivityFailed',
      message: 'activity lost past its retries',
      retryable: true,
      mayHaveReached: true,
    });
  }

  private decision(s: string, runtimeThen: RuntimeStatus): Omit<Accepted, 'key' | 'sha' | 'at'> {
    return {
      decidedAt: this.now,
      seq: this.seq++,
      readThen: {
        head: this.lastRead.head,
        fresh: this.lastRead.at > this.lastWakeAt && this.lastRead.at > (this.failureReportedAt.get(s) ?? -1),
      },
      runtimeThen,
      pausedThen: this.paused,
      manualSinceLastFireOfSha: this.manualRequests.some((r) => r.target === s || r.target === '*'),
      epochThen: this.epoch,
    };
  }

  private accept(s: string, key: string, decided: Omit<Accepted, 'key' | 'sha' | 'at'>): void {
    this.accepted.push({ key, sha: s, at: this.now, ...decided });
    // A fire answers the redeploy requests its decision could have seen; later ones still stand.
    for (let i = this.manualRequests.length - 1; i >= 0; i--) {
      const r = this.manualRequests[i]!;
      if ((r.target === s || r.target === '*') && r.seq < decided.seq) this.manualRequests.splice(i, 1);
    }
    const job: Job = {
      key,
      sha: s,
      startedAt: this.now,
      durationMs: this.nextJob.durationMs,
      outcome: this.nextJob.outcome,
    };
    this.jobs.push(job);
    if (job.outcome !== 'succeed' || job.startedAt + job.durationMs >= this.budgetFrom + this.spec.closeout.budgetMs)
      this.trouble.add(s);
  }

  /** Time passes; orphaned trigger commands deliver on their own schedule. */
  private advance(ms: number): void {
    if (ms < 0) throw new Error(`the model's clock runs backwards (${ms}ms)`);
    const until = this.now + ms;
    for (;;) {
      this.orphans.sort((a, b) => a.at - b.at);
      const next = this.orphans[0];
      if (!next || next.at > until) break;
      this.orphans.shift();
      this.now = Math.max(this.now, next.at);
      this.accept(next.sha, next.key, next.decided);
    }
    this.now = until;
  }

  /** The runtime's status: its last job. */
  runtimeStatus(): RuntimeStatus {
    const job = this.jobs.at(-1);
    if (!job) return { phase: 'Idle' };
    const base = { sha: job.sha, jobId: job.key, ...(this.echoKeys ? { triggerId: job.key } : {}) };
    if (job.cancelledAt !== undefined) {
      this.trouble.add(job.sha);
      return { ...base, phase: 'Failed', message: 'cancelled', retryable: false };
    }
    if (this.now < job.startedAt + job.durationMs) return { ...base, phase: 'Running' };
    if (job.outcome === 'succeed') return { ...base, phase: 'Succeeded' };
    return { ...base, phase: 'Failed', retryable: job.outcome === 'failRetryable', message: 'rollout failed' };
  }

  // ---------------------------------------------------------------- what must hold

  private checkAction(a: ReturnType<typeof nextAction>): void {
    const w = this.state.work;
    if (a.kind === 'wait' && a.until < this.now) this.violations.push(`waits for a time in the past (${a.why})`);
    if (a.kind === 'wait' && w?.stage === 'closingOut' && a.until > w.deadline)
      this.violations.push('sleeps past the close-out deadline');
  }

  /** Checked after every step. */
  private checkAlways(): void {
    if (this.paused && !(this.state.phase === 'Blocked' && this.state.code === 'Paused')) {
      this.violations.push(`paused but shows ${this.state.phase} ${this.state.code}: ${this.state.message}`);
    }
    if (this.state.phase === 'Noop') this.violations.push(`rests in Noop: ${this.state.message}`);
    // A code means one phase (docs/codes.md): the core logs a change by its code.
    if (CODES[this.state.code].phase !== this.state.phase)
      this.violations.push(
        `${this.state.phase} shown with code ${this.state.code}, which is ${CODES[this.state.code].phase}`,
      );
  }

  /** Quiesce, then every property against the world's truth. */
  verdict(opts: { resume: boolean }): string[] {
    this.heal(opts.resume);
    // Long enough for every retry, stray command, budget and backoff to play out, then once more at rest.
    const window =
      this.spec.pollIntervalMs +
      this.spec.retry.maxBackoffMs +
      this.spec.adapter.timeoutMs * 3 +
      this.spec.closeout.budgetMs;
    for (
      let i = 0;
      i < 2 * this.spec.retry.maxAttempts + 2 && (this.state.work || this.state.cancels.length || i < 2);
      i++
    )
      this.run(this.now + window);
    this.run(this.now + window);
    const v = [...this.violations];
    const s = this.state;
    // No (sha, run) fired twice: the runtime's own log, by key.
    const keys = new Set<string>();
    for (const a of this.accepted) {
      if (keys.has(a.key)) v.push(`key ${a.key} fired twice`);
      keys.add(a.key);
    }
    for (const a of this.accepted) {
      // Nothing fires without a fresh read: what fires is the head the follower last read, and that
      // read is newer than any wake-up it was given and any failure of the sha it was told of.
      if (a.readThen.head !== a.sha)
        v.push(`fired ${a.sha.slice(0, 8)} but its last read showed ${a.readThen.head?.slice(0, 8)}`);
      if (!a.readThen.fresh) v.push(`fired ${a.sha.slice(0, 8)} without a read newer than its last wake-up or failure`);
      if (a.pausedThen) v.push(`fired ${a.sha.slice(0, 8)} while paused`);
      // Never fire a sha the runtime is already on (working or done), unless an operator asked to redeploy.
      const on =
        a.runtimeThen.sha === a.sha && (a.runtimeThen.phase === 'Running' || a.runtimeThen.phase === 'Succeeded');
      if (on && !a.manualSinceLastFireOfSha)
        v.push(`fired ${a.sha.slice(0, 8)} again while the runtime was ${a.runtimeThen.phase} on it`);
    }
    // Within one stretch of the head on a sha, without an operator's redeploy, at most maxAttempts fires.
    this.checkAttempts(v);
    this.checkHappenings(v);
    if (!opts.resume && this.paused) {
      if (!(s.phase === 'Blocked' && s.code === 'Paused')) v.push(`paused at rest but shows ${s.phase} ${s.code}`);
      return v;
    }
    // Every fired sha has an outcome.
    for (const a of this.accepted) {
      const r = s.shas.find((x) => x.sha === a.sha);
      if (!r?.result) v.push(`fired ${a.sha.slice(0, 8)} has no outcome`);
    }
    const last = this.jobs.at(-1);
    const runtime = this.runtimeStatus();
    if (this.head === undefined) {
      if (!(s.phase === 'Blocked' && s.code === 'BranchNotFound'))
        v.push(`branch deleted but shows ${s.phase} ${s.code}`);
      return v;
    }
    if (s.work) v.push(`work left at rest: ${JSON.stringify(s.work)}`);
    if (s.phase === 'Succeeded') {
      // What the follower shows is what is true.
      if (s.observedSha !== this.head)
        v.push(`Succeeded on ${s.observedSha?.slice(0, 8)}, head is ${this.head.slice(0, 8)}`);
      if (!(runtime.sha === this.head && runtime.phase === 'Succeeded'))
        v.push(
          `shows Succeeded on ${this.head.slice(0, 8)}, runtime is ${runtime.phase} on ${runtime.sha?.slice(0, 8)}`,
        );
    } else if (s.phase === 'Failed') {
      const failedSha = s.shas.find((r) => r.sha === this.head);
      if (s.observedSha !== this.head || failedSha?.result?.outcome !== 'Failed')
        v.push(`Failed, but not for the head ${this.head.slice(0, 8)}`);
      // A Failed head needs a reason the world gave.
      if (!this.trouble.has(this.head))
        v.push(`Failed for ${this.head.slice(0, 8)} (${s.code}) with no trouble in the world`);
    } else {
      v.push(`at rest in ${s.phase} ${s.code}: ${s.message} (runtime ${runtime.phase} on ${last?.sha.slice(0, 8)})`);
    }
    return v;
  }

  /** What the follower reported outside agrees with the runtime's log and its own record: each thing once. */
  private checkHappenings(v: string[]): void {
    const firedBySha = new Map<string, number>();
    for (const h of this.happened) if (h.kind === 'fired') firedBySha.set(h.sha, (firedBySha.get(h.sha) ?? 0) + 1);
    for (const [sha, n] of firedBySha) {
      const accepted = this.accepted.filter((a) => a.sha === sha).length;
      if (n > accepted) v.push(`reported ${n} fire(s) of ${sha.slice(0, 8)}; the runtime accepted ${accepted}`);
    }
    // Each run's end told once: no more ends of a sha than the worker started triggers of it, and
    // its last end told is the one it shows.
    const ends = new Map<string, number>();
    const lastEnd = new Map<string, Extract<Happening, { kind: 'ended' }>['result']>();
    for (const h of this.happened) {
      if (h.kind !== 'ended') continue;
      ends.set(h.sha, (ends.get(h.sha) ?? 0) + 1);
      lastEnd.set(h.sha, h.result);
    }
    for (const [sha, n] of ends) {
      const tries = this.triggerings.get(sha) ?? 0;
      if (n > tries) v.push(`reported ${n} end(s) of ${sha.slice(0, 8)} for ${tries} tries`);
    }
    for (const r of this.state.shas) {
      if (!r.result) continue;
      const told = lastEnd.get(r.sha);
      const supersededWhileWaiting = r.result.outcome === 'Superseded' && told?.outcome === 'Failed';
      if (!told || (!supersededWhileWaiting && (told.at !== r.result.at || told.code !== r.result.code)))
        v.push(`never reported the end of ${r.sha.slice(0, 8)} (${r.result.code})`);
    }
    const missed = this.happened.filter((h) => h.kind === 'missedWebhook').length;
    if (missed < (this.state.missedWebhooks ?? []).length)
      v.push(`reported ${missed} missed webhook(s); the ledger holds ${this.state.missedWebhooks!.length}`);
  }

  private checkAttempts(v: string[]): void {
    // A stretch ends when the mirror's head moves (world truth: its epoch), or an operator asked for a redeploy.
    let stretch: string | undefined;
    let count = 0;
    for (const a of this.accepted) {
      if (`${a.sha}@${a.epochThen}` !== stretch || a.manualSinceLastFireOfSha) {
        stretch = `${a.sha}@${a.epochThen}`;
        count = 0;
      }
      count++;
      if (count > this.spec.retry.maxAttempts)
        v.push(`${a.sha.slice(0, 8)} fired ${count} times in one stretch (max ${this.spec.retry.maxAttempts})`);
    }
  }
}
