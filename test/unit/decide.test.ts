// The decision core, rule by rule (docs/architecture.md "The rules"). Scenarios drive the real
// reducer the way the workflow does and check codes and actions, never message text; the world
// model in promise.test.ts checks the same rules against a simulated mirror and runtime.
import { describe, expect, it } from 'vitest';
import type { RuntimeStatus } from '../../contract/adapter.ts';
import type { FollowerSpec } from '../../contract/spec.ts';
import type { FollowerState } from '../../contract/state.ts';
import {
  backoffMs,
  condition,
  decide,
  initialState,
  nextAction,
  reduce,
  type Action,
  type FollowerEvent,
} from '../../core/decide.ts';
import { makeSpec, sha } from '../support/spec.ts';

/** Drives the core as workflows/follower.ts does: tick, ask for the next action, report back. */
class Sim {
  state: FollowerState;
  now = 1_000_000;
  constructor(readonly spec: FollowerSpec = makeSpec()) {
    this.state = initialState(spec.id, this.now);
  }
  ev(e: FollowerEvent): this {
    this.state = reduce(this.state, e, this.now, this.spec);
    return this;
  }
  next(): Action {
    this.ev({ type: 'tick' });
    return nextAction(this.state, this.now);
  }
  advance(ms: number): this {
    this.now += ms;
    return this;
  }
  get work() {
    return this.state.work;
  }
  get run(): number {
    const w = this.state.work;
    if (!w || w.stage === 'pending') throw new Error(`no run: ${JSON.stringify(w)}`);
    return w.run;
  }
  record(s: string) {
    return this.state.shas.find((r) => r.sha === s);
  }
  codes(): string[] {
    return this.state.events.map((e) => e.code);
  }
  /** Reads `head`, and runs the trigger the core then asks for, accepted by the runtime. */
  deliver(head: string, opts: { fired?: boolean; jobId?: string; triggerId?: string } = {}): this {
    this.ev({ type: 'observed', sha: head });
    const a = this.next();
    if (a.kind === 'trigger') this.fire(opts);
    return this;
  }
  fire(opts: { fired?: boolean; jobId?: string; triggerId?: string } = {}): this {
    this.ev({ type: 'triggering' });
    const w = this.state.work!;
    return this.ev({
      type: 'triggered',
      sha: w.sha,
      run: this.run,
      fired: opts.fired ?? true,
      jobId: opts.jobId ?? `job-${w.sha.slice(-3)}`,
      ...(opts.triggerId ? { triggerId: opts.triggerId } : {}),
    });
  }
  status(st: Partial<RuntimeStatus> & Pick<RuntimeStatus, 'phase'>): this {
    const w = this.state.work!;
    return this.ev({ type: 'status', sha: w.sha, run: this.run, status: { sha: w.sha, ...st } });
  }
  succeed(): this {
    return this.status({ phase: 'Succeeded' });
  }
  expectPhase(phase: string, code: string): this {
    expect({ phase: this.state.phase, code: this.state.code }, this.state.message).toEqual({ phase, code });
    return this;
  }
}

const A = sha(0xa);
const B = sha(0xb);
const C = sha(0xc);

describe('one head: observe, trigger once, close out', () => {
  it('starts Observed, reads first, then triggers a new head once and closes out on the runtime status', () => {
    const s = new Sim().expectPhase('Observed', 'Starting');
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'NewHead');
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
    s.ev({ type: 'triggering' }).expectPhase('Triggering', 'Triggering');
    expect(s.work).toMatchObject({
      stage: 'triggering',
      sha: A,
      run: 1,
      attempt: 1,
      manual: false,
      maybeFired: false,
      deadline: s.now + 120_000,
    });
    expect(s.state.lastTriggeredSha).toBe(A);
    s.ev({ type: 'triggered', sha: A, run: 1, fired: true, jobId: 'j1', triggerId: 'demo-a-1' }).expectPhase(
      'ClosingOut',
      'TriggerAccepted',
    );
    expect(s.next()).toEqual({ kind: 'status', sha: A, run: 1, jobId: 'j1' });
    s.status({ phase: 'Running' });
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 2000, why: 'next close-out check' });
    s.advance(2000).succeed().expectPhase('Succeeded', 'ClosedOut');
    expect(s.state).toMatchObject({
      deployed: { sha: A, at: s.now },
      lastSucceededSha: A,
      work: undefined,
      lastError: undefined,
    });
    expect(s.record(A)).toStrictEqual({
      sha: A,
      firstSeen: s.now - 2000,
      runs: 1,
      jobId: 'j1',
      triggeredAt: s.now - 2000,
      result: { outcome: 'Succeeded', code: 'ClosedOut', message: 'closed out in 2s (budget 2m)', at: s.now },
    });
  });

  it('a repeated observation of the deployed head triggers nothing and logs nothing', () => {
    const s = new Sim().deliver(A).succeed();
    const events = s.state.events.length;
    for (let i = 0; i < 5; i++) {
      s.advance(10_000).ev({ type: 'observed', sha: A });
      expect(s.next()).toEqual({ kind: 'wait', until: s.now + 10_000, why: 'next observation' });
    }
    s.expectPhase('Succeeded', 'ClosedOut');
    expect(s.state.events.length).toBe(events);
    expect(s.record(A)?.runs).toBe(1);
  });

  it('a runtime already on the sha is adopted: nothing fired, the close-out decides', () => {
    const s = new Sim().deliver(A, { fired: false }).expectPhase('ClosingOut', 'AlreadyOnRuntime');
    s.succeed().expectPhase('Succeeded', 'ClosedOut');
  });

  it('a status naming another run of the sha (by key) is not ours; one naming ours is', () => {
    const s = new Sim().deliver(A, { triggerId: 'k2' });
    s.status({ phase: 'Failed', triggerId: 'k1', retryable: false }).expectPhase('ClosingOut', 'TriggerAccepted');
    expect(s.work).toMatchObject({ stage: 'closingOut', runtime: { phase: 'Failed', sha: A } });
    s.status({ phase: 'Succeeded', triggerId: 'k2', jobId: 'j9' }).expectPhase('Succeeded', 'ClosedOut');
    expect(s.record(A)?.jobId).toBe('j9');
  });

  it('a run adopted without a known key closes out on whatever key the runtime echoes for the sha', () => {
    const s = new Sim().deliver(A, { fired: false });
    s.status({ phase: 'Succeeded', triggerId: 'theirs' }).expectPhase('Succeeded', 'ClosedOut');
  });

  it('a status naming another sha keeps the close-out going, and records what the runtime says', () => {
    const s = new Sim().deliver(A);
    s.ev({
      type: 'status',
      sha: A,
      run: 1,
      status: { phase: 'Succeeded', sha: B, jobId: 'other', message: 'old release' },
    });
    expect(s.work).toMatchObject({
      stage: 'closingOut',
      jobId: 'job-00a',
      runtime: { phase: 'Succeeded', sha: B, message: 'old release' },
      nextCheckAt: s.now + 2000,
    });
  });

  it('ignores results that are not for the current run', () => {
    const s = new Sim().deliver(A);
    const before = JSON.stringify(s.state);
    s.ev({ type: 'status', sha: A, run: 2, status: { phase: 'Succeeded', sha: A } });
    s.ev({ type: 'status', sha: B, run: 1, status: { phase: 'Succeeded', sha: B } });
    s.ev({ type: 'statusFailed', sha: A, run: 7, code: 'AdapterFailed', message: 'x' });
    s.ev({ type: 'triggered', sha: A, run: 1, fired: true });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterFailed',
      message: 'x',
      retryable: true,
      mayHaveReached: false,
    });
    expect(JSON.stringify(s.state)).toBe(before);
    const t = new Sim();
    t.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    const triggering = JSON.stringify(t.state);
    t.ev({ type: 'triggered', sha: A, run: 2, fired: true }).ev({ type: 'triggered', sha: B, run: 1, fired: true });
    t.ev({
      type: 'triggerFailed',
      sha: A,
      run: 2,
      code: 'AdapterFailed',
      message: 'x',
      retryable: true,
      mayHaveReached: false,
    });
    t.ev({
      type: 'triggerFailed',
      sha: B,
      run: 1,
      code: 'AdapterFailed',
      message: 'x',
      retryable: true,
      mayHaveReached: false,
    });
    t.ev({ type: 'triggering' });
    expect(JSON.stringify(t.state)).toBe(triggering);
    const idle = new Sim();
    const fresh = JSON.stringify(idle.state);
    idle.ev({ type: 'triggering' }).ev({ type: 'triggered', sha: A, run: 1, fired: true });
    idle.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterFailed',
      message: 'x',
      retryable: true,
      mayHaveReached: false,
    });
    idle.ev({ type: 'status', sha: A, run: 1, status: { phase: 'Succeeded', sha: A } });
    expect(JSON.stringify(idle.state)).toBe(fresh);
    const waiting = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    const backoff = JSON.stringify(waiting.state);
    waiting.ev({ type: 'status', sha: A, run: 1, status: { phase: 'Succeeded', sha: A } });
    expect(JSON.stringify(waiting.state)).toBe(backoff);
  });

  it('records the secrets the worker had at the trigger, and a fresh run clears the last outcome', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'manualTrigger', reason: 'again' }).ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    expect(s.record(A)?.result?.outcome).toBe('Succeeded'); // until the runtime has the run
    s.ev({
      type: 'triggered',
      sha: A,
      run: 2,
      fired: true,
      secrets: [{ name: 'T', present: true, fingerprint: 'sha256:0' }],
    });
    expect(s.record(A)).toEqual({ sha: A, firstSeen: s.now, runs: 2, triggeredAt: s.now });
    expect(s.state.secrets).toEqual({ at: s.now, entries: [{ name: 'T', present: true, fingerprint: 'sha256:0' }] });
    // A later trigger that reports no secrets and no job keeps the last secrets, and no stale job id.
    s.succeed()
      .ev({ type: 'manualTrigger', reason: 'again' })
      .ev({ type: 'observed', sha: A })
      .ev({ type: 'triggering' });
    s.advance(1000).ev({ type: 'triggered', sha: A, run: 3, fired: true });
    expect(s.state.secrets?.at).toBe(s.now - 1000);
    expect(s.record(A)).not.toHaveProperty('jobId');
    expect(s.work).not.toHaveProperty('jobId');
  });
});

describe('supersede: the branch moves while a sha is in flight', () => {
  it('marks the old sha Superseded (with its successor), queues its cancel, and the new head follows', () => {
    const s = new Sim().deliver(A, { jobId: 'jA' });
    s.advance(1000).ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
    expect(s.record(A)?.result).toStrictEqual({
      outcome: 'Superseded',
      code: 'Superseded',
      by: B,
      at: s.now,
      message: `${A.slice(0, 12)} superseded by ${B.slice(0, 12)}`,
    });
    expect(s.state.events.find((e) => e.to === 'Superseded')).toMatchObject({
      from: 'ClosingOut',
      sha: A,
      code: 'Superseded',
    });
    expect(s.next()).toEqual({ kind: 'cancel', sha: A, run: 1, jobId: 'jA' });
    s.ev({ type: 'cancelled', sha: A, run: 1, ok: true, message: '' });
    expect(s.state.cancels).toEqual([]);
    expect(s.codes()).toContain('CancelSent');
    expect(s.next()).toEqual({ kind: 'trigger', sha: B });
  });

  it('a failed cancel is noted and forgotten; nothing else waits for it', () => {
    const s = new Sim().deliver(A).ev({ type: 'observed', sha: B });
    s.ev({ type: 'cancelled', sha: A, run: 1, ok: false, message: 'no such job' });
    expect(s.codes()).toContain('CancelFailed');
    expect(s.next()).toEqual({ kind: 'trigger', sha: B });
  });

  it('each cancel is sent once, in order: a cancel removes its own entry only', () => {
    const s = new Sim().deliver(A, { jobId: 'jA' });
    s.ev({ type: 'observed', sha: B }).fire({ jobId: 'jB' });
    s.ev({ type: 'observed', sha: C });
    expect(s.state.cancels).toEqual([
      { sha: A, run: 1, jobId: 'jA' },
      { sha: B, run: 1, jobId: 'jB' },
    ]);
    s.ev({ type: 'cancelled', sha: B, run: 2, ok: true, message: '' }); // not queued: nothing changes
    expect(s.state.cancels).toHaveLength(2);
    s.ev({ type: 'cancelled', sha: A, run: 1, ok: true, message: '' });
    expect(s.next()).toEqual({ kind: 'cancel', sha: B, run: 1, jobId: 'jB' });
  });

  it('an observation while a trigger is running (never made by the workflow) is handled as in flight', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' }).ev({ type: 'observed', sha: B });
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Superseded', by: B });
    expect(s.state.cancels).toStrictEqual([{ sha: A, run: 1 }]);
    expect(s.work).toMatchObject({ stage: 'pending', sha: B });
  });

  it('queues no cancel when the adapter has none', () => {
    const spec = makeSpec();
    delete spec.adapter.cancel;
    const s = new Sim(spec).deliver(A).ev({ type: 'observed', sha: B });
    expect(s.state.cancels).toEqual([]);
    expect(s.next()).toEqual({ kind: 'trigger', sha: B });
  });

  it('a cancel is queued without a job id when the trigger had not reported one', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A })
      .ev({ type: 'triggering' })
      .ev({ type: 'triggered', sha: A, run: 1, fired: true });
    s.ev({ type: 'observed', sha: B });
    expect(s.state.cancels).toStrictEqual([{ sha: A, run: 1 }]);
  });

  it('flip-flop: A deployed, B in flight, back to A, B again — each return is a new run and B ends deployed', () => {
    const s = new Sim().deliver(A).succeed();
    s.deliver(B).expectPhase('ClosingOut', 'TriggerAccepted');
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'HeadReturned');
    expect(s.record(B)?.result).toMatchObject({ outcome: 'Superseded', by: A });
    s.next(); // the cancel of B
    s.ev({ type: 'cancelled', sha: B, run: 1, ok: true, message: '' });
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
    s.fire().succeed().expectPhase('Succeeded', 'ClosedOut');
    expect(s.record(A)?.runs).toBe(2);
    s.ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'HeadReturned');
    expect(s.next()).toEqual({ kind: 'trigger', sha: B });
    s.fire();
    expect(s.run).toBe(2);
    s.succeed().expectPhase('Succeeded', 'ClosedOut');
    expect(s.state.deployed?.sha).toBe(B);
  });

  it('a rewind to a sha deployed before its successor closed out is triggered again: the runtime is not known to be on it', () => {
    const s = new Sim().deliver(A).succeed().deliver(B).succeed();
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'HeadReturned');
  });

  it('a retry waiting for its backoff is superseded when the branch moves', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    expect(s.work?.stage).toBe('backoff');
    s.ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
    expect(s.record(A)?.result).toMatchObject({
      outcome: 'Superseded',
      code: 'Superseded',
      by: B,
      message: `${A.slice(0, 12)} superseded by ${B.slice(0, 12)} before its retry`,
    });
    expect(s.state.events.find((e) => e.to === 'Superseded')).toMatchObject({
      from: 'Failed',
      sha: A,
      code: 'Superseded',
    });
    expect(s.state.cancels).toEqual([]);
  });

  it('a pending trigger that never fired is dropped without an outcome', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' });
    s.ev({ type: 'observed', sha: B });
    expect(s.work).toMatchObject({ stage: 'pending', sha: B });
    expect(s.record(A)?.result).toBeUndefined();
    expect(s.state.events.some((e) => e.to === 'Superseded')).toBe(false);
  });
});

describe('failures, retries and the budget', () => {
  it('retries a retryable failure after backoff, after a fresh read, as a new run, up to maxAttempts; then Failed stays', () => {
    const s = new Sim().deliver(A);
    s.status({ phase: 'Failed', message: 'pull backoff', retryable: true }).expectPhase('Failed', 'RuntimeFailed');
    expect(s.work).toMatchObject({
      stage: 'backoff',
      sha: A,
      attempt: 2,
      run: 1,
      backoffMs: 5000,
      notBefore: s.now + 5000,
      outcomeUnknown: false,
    });
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Failed', code: 'RuntimeFailed', message: 'pull backoff' });
    expect(s.state.message).toBe('pull backoff; retry 2/3 in 5s');
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 5000, why: `retry backoff for ${A.slice(0, 12)}` });
    s.advance(5000);
    expect(s.next()).toEqual({ kind: 'observe' });
    s.expectPhase('PendingTrigger', 'RetryDue');
    s.ev({ type: 'observed', sha: A });
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
    s.fire();
    expect(s.work).toMatchObject({ attempt: 2, run: 2 });
    s.status({ phase: 'Failed', retryable: true });
    expect(s.work).toMatchObject({ stage: 'backoff', attempt: 3, notBefore: s.now + 10_000 });
    s.advance(10_000).next();
    s.ev({ type: 'observed', sha: A });
    s.fire()
      .status({ phase: 'Failed', message: 'pull backoff', retryable: true })
      .expectPhase('Failed', 'RuntimeFailed');
    expect(s.work).toBeUndefined();
    expect(s.state.message).toContain('3 attempts used');
    s.advance(60_000).ev({ type: 'observed', sha: A }).expectPhase('Failed', 'RuntimeFailed');
    expect(s.next().kind).toBe('wait');
    expect(s.record(A)?.runs).toBe(3);
  });

  it('a terminal failure stays Failed through repeated reads, pauses and mirror blips; a new sha deploys', () => {
    const s = new Sim()
      .deliver(A)
      .status({ phase: 'Failed', message: 'invalid manifest', retryable: false })
      .expectPhase('Failed', 'RuntimeFailed');
    expect(s.state.message).toBe('invalid manifest');
    s.advance(10_000).ev({ type: 'observed', sha: A }).expectPhase('Failed', 'RuntimeFailed');
    s.ev({ type: 'pause', reason: 'freeze' }).expectPhase('Blocked', 'Paused');
    s.ev({ type: 'resume' }).ev({ type: 'observed', sha: A }).expectPhase('Failed', 'RuntimeFailed');
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' }).expectPhase(
      'Blocked',
      'MirrorUnreachable',
    );
    s.ev({ type: 'observed', sha: A }).expectPhase('Failed', 'RuntimeFailed');
    expect(s.next().kind).toBe('wait');
    s.ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
  });

  it('a rewind to a sha that Failed shows that failure and does not trigger it again', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: false }).deliver(B).succeed();
    s.ev({ type: 'observed', sha: A }).expectPhase('Failed', 'RuntimeFailed');
    expect(s.next().kind).toBe('wait');
  });

  it('the budget is decided by a status read at or after the deadline, never by the clock alone', () => {
    const s = new Sim().deliver(A).status({ phase: 'Running', sha: B, message: 'still on the old image' });
    s.advance(120_000);
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: A }).expectPhase('ClosingOut', 'TriggerAccepted');
    expect(s.next()).toEqual({ kind: 'status', sha: A, run: 1, jobId: 'job-00a' });
    s.ev({
      type: 'status',
      sha: A,
      run: 1,
      status: { phase: 'Running', sha: B, message: 'still on the old image' },
    }).expectPhase('Failed', 'BudgetExceeded');
    expect(s.state.message).toBe(
      `close-out took 2m, over the 2m budget from defaults.closeout.budget (registry.yaml:7); runtime reports ${B.slice(0, 12)} Running; last status: still on the old image`,
    );
    expect(s.work).toBeUndefined();
    expect(s.state.lastError).toMatchObject({ code: 'BudgetExceeded', sha: A });
  });

  it('a close-out that succeeds past its deadline (the worker was down) is Succeeded, with the overrun', () => {
    const s = new Sim().deliver(A);
    s.advance(150_000).succeed().expectPhase('Succeeded', 'ClosedOutOverBudget');
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Succeeded', code: 'ClosedOutOverBudget', overrunMs: 30_000 });
    expect(s.state.message).toBe(
      'closed out in 2m30s: 30s over the 2m budget from defaults.closeout.budget (registry.yaml:7) (budget missed)',
    );
    expect(condition(s.state, s.spec).phase).toBe('Succeeded');
  });

  it('Succeeded exactly at the deadline is within the budget', () => {
    const s = new Sim().deliver(A);
    s.advance(120_000).succeed().expectPhase('Succeeded', 'ClosedOut');
    expect(s.state.message).toBe('closed out in 2m (budget 2m)');
  });

  it('a status read that fails keeps checking before the deadline; after it, the budget is exceeded', () => {
    const s = new Sim().deliver(A);
    s.ev({ type: 'statusFailed', sha: A, run: 1, code: 'AdapterFailed', message: 'exit 1' }).expectPhase(
      'ClosingOut',
      'TriggerAccepted',
    );
    expect(s.work).toMatchObject({ nextCheckAt: s.now + 2000 });
    expect(s.state.lastError).toMatchObject({ code: 'AdapterFailed', sha: A });
    s.advance(120_000)
      .ev({ type: 'statusFailed', sha: A, run: 1, code: 'AdapterFailed', message: 'exit 1' })
      .expectPhase('Failed', 'BudgetExceeded');
    expect(s.state.message).toBe(
      'close-out took 2m, over the 2m budget from defaults.closeout.budget (registry.yaml:7); the status read after the deadline failed: exit 1',
    );
    expect(s.work).toBeUndefined(); // not retried
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Failed', code: 'BudgetExceeded' });
  });

  it('never sleeps past the close-out deadline', () => {
    const s = new Sim(
      makeSpec({ pollIntervalMs: 600_000, closeout: { ...makeSpec().closeout, pollIntervalMs: 500_000 } }),
    )
      .deliver(A)
      .status({ phase: 'Running' });
    expect(s.next()).toEqual({
      kind: 'wait',
      until: s.work!.stage === 'closingOut' ? s.work!.deadline : 0,
      why: 'close-out budget',
    });
  });

  it('computes exponential backoff capped at maxBackoff', () => {
    const spec = makeSpec({
      retry: { maxAttempts: 10, initialBackoffMs: 1000, backoffCoefficient: 3, maxBackoffMs: 20_000 },
    });
    expect([1, 2, 3, 4].map((n) => backoffMs(spec, n))).toEqual([1000, 3000, 9000, 20_000]);
  });

  it('an adapter failure that did not reach the runtime is retried as a new run; a terminal one is Failed', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterFailed',
      message: 'exit 3',
      retryable: true,
      mayHaveReached: false,
    }).expectPhase('Failed', 'AdapterFailed');
    expect(s.work).toMatchObject({ stage: 'backoff', attempt: 2, outcomeUnknown: false });
    expect(s.state.strayTriggerUntil).toBeUndefined();
    s.advance(5000).next();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    expect(s.run).toBe(2);
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 2,
      code: 'InvalidStatus',
      message: 'not JSON',
      retryable: false,
      mayHaveReached: false,
    }).expectPhase('Failed', 'InvalidStatus');
    expect(s.work).toBeUndefined();
    expect(s.state.message).toBe('not JSON');
  });
});

describe('a trigger whose outcome is lost', () => {
  const lost = (): Sim => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    return s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'ActivityFailed',
      message: 'worker lost',
      retryable: true,
      mayHaveReached: true,
    });
  };

  it('is sent again under the same key, after any command it started has timed out, conservatively', () => {
    const s = lost().expectPhase('Failed', 'ActivityFailed');
    expect(s.state.strayTriggerUntil).toBe(s.now + 1000);
    expect(s.work).toMatchObject({ stage: 'backoff', attempt: 2, run: 1, outcomeUnknown: true });
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Failed', code: 'ActivityFailed' });
    expect(s.state.lastError).toEqual({ code: 'ActivityFailed', message: 'worker lost', at: s.now, sha: A });
    // The wait is the retry's backoff; the stray command's end (sooner) holds only a trigger.
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 5000, why: `retry backoff for ${A.slice(0, 12)}` });
    s.advance(5000).next();
    s.expectPhase('PendingTrigger', 'TriggerOutcomeUnknown');
    expect(s.work).toMatchObject({ stage: 'pending', reuse: { run: 1, maybeFired: true } });
    s.ev({ type: 'observed', sha: A });
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
    s.ev({ type: 'triggering' });
    expect(s.work).toMatchObject({ stage: 'triggering', run: 1, attempt: 2, maybeFired: true });
    expect(s.record(A)?.runs).toBe(1);
  });

  it('holds every trigger, of any sha, until a stray command has timed out', () => {
    const s = new Sim(makeSpec({ adapter: { ...makeSpec().adapter, timeoutMs: 30_000 } }));
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterTimeout',
      message: 'killed',
      retryable: true,
      mayHaveReached: true,
    });
    const strayUntil = s.now + 30_000;
    s.advance(1000).ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Superseded' });
    for (let a = s.next(); s.now < strayUntil; a = s.next()) {
      expect(a.kind).not.toBe('trigger');
      if (a.kind === 'observe') s.ev({ type: 'observed', sha: B });
      else if (a.kind === 'wait') s.advance(a.until - s.now);
    }
    expect(s.now).toBe(strayUntil);
    const t = new Sim(makeSpec({ pollIntervalMs: 60_000, adapter: { ...makeSpec().adapter, timeoutMs: 30_000 } }));
    t.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    t.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterTimeout',
      message: 'killed',
      retryable: true,
      mayHaveReached: true,
    });
    t.advance(1000).ev({ type: 'observed', sha: B });
    expect(t.next()).toEqual({ kind: 'wait', until: t.now + 29_000, why: 'a lost trigger command to time out' });
    t.advance(29_000);
    expect(t.next()).toEqual({ kind: 'trigger', sha: B });
  });

  it('superseded before its re-send, it gets an outcome (it may have fired)', () => {
    const s = lost().advance(5000);
    s.next();
    s.ev({ type: 'observed', sha: B });
    expect(s.record(A)?.result).toMatchObject({ outcome: 'Superseded', by: B });
  });

  it('a re-send that finds the adapter missing stays a re-send of the same key', () => {
    const s = lost().advance(5000);
    s.next();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterMissing',
      message: 'gone',
      retryable: true,
      mayHaveReached: false,
    });
    expect(s.work).toMatchObject({
      stage: 'pending',
      cause: 'TriggerOutcomeUnknown',
      reuse: { run: 1, maybeFired: true },
    });
  });

  it('uses attempts: after maxAttempts it is Failed, saying the last may have reached the runtime', () => {
    const s = new Sim(makeSpec({ retry: { ...makeSpec().retry, maxAttempts: 1 } }));
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterTimeout',
      message: 'killed',
      retryable: false,
      mayHaveReached: true,
    }).expectPhase('Failed', 'AdapterTimeout');
    expect(s.work).toBeUndefined();
    expect(s.state.message).toBe('killed; 1 attempts used; the last trigger may have reached the runtime');
  });
});

describe('pause: Blocked(Paused) until resumed, whatever else happens', () => {
  it('holds on an unchanged deployed head, a rewind and a mirror blip, and fires nothing', () => {
    const s = new Sim().deliver(A).succeed().deliver(B).succeed();
    s.ev({ type: 'pause', reason: 'freeze' }).expectPhase('Blocked', 'Paused');
    expect(s.state.message).toBe('paused: freeze');
    expect(s.state.events.at(-1)).toMatchObject({ from: 'Succeeded', to: 'Blocked', code: 'Paused', sha: B });
    s.advance(10_000).ev({ type: 'observed', sha: B }).expectPhase('Blocked', 'Paused');
    s.ev({ type: 'observed', sha: A }).expectPhase('Blocked', 'Paused');
    expect(s.work).toBeUndefined();
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' }).expectPhase('Blocked', 'Paused');
    s.ev({ type: 'observed', sha: C }).expectPhase('Blocked', 'Paused');
    expect(s.next().kind).toBe('wait');
    s.ev({ type: 'pause', reason: 'still frozen' });
    expect(s.state.paused).toEqual({ reason: 'still frozen', since: s.now - 10_000 });
    expect(s.state.events.at(-1)).toMatchObject({
      from: 'Blocked',
      to: 'Blocked',
      code: 'Paused',
      message: 'paused: still frozen',
    });
    expect(s.state.phaseSince).toBe(s.now - 10_000); // the same phase: its clock runs on
    s.ev({ type: 'resume', reason: 'thaw' }).expectPhase('Observed', 'AwaitingRead');
    expect(s.codes()).toContain('Resumed');
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: C }).expectPhase('PendingTrigger', 'NewHead');
  });

  it('after a rewind during a pause, a sha that succeeded once is not shown Succeeded: the runtime got another since', () => {
    const s = new Sim().deliver(A).succeed().deliver(B).succeed();
    s.ev({ type: 'pause', reason: 'freeze' }).ev({ type: 'observed', sha: A });
    s.ev({ type: 'resume' }).expectPhase('Observed', 'AwaitingRead');
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'HeadReturned');
  });

  it('forgets the oldest shas first, down to exactly shasKept', () => {
    const s = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 50, shasKept: 3 } })).deliver(A).succeed();
    s.ev({ type: 'pause', reason: 'p' });
    for (const x of [B, C, sha(0xd)]) s.ev({ type: 'observed', sha: x });
    expect(s.state.shas.map((r) => r.sha)).toEqual([A, C, sha(0xd)]);
  });

  it('a change freeze does not cancel work: the in-flight close-out finishes, the moved head waits for resume', () => {
    const s = new Sim().deliver(A, { jobId: 'jA' });
    s.ev({ type: 'pause', reason: 'freeze' }).expectPhase('Blocked', 'Paused');
    expect(s.state.message).toBe(`paused: freeze; the close-out of ${A.slice(0, 12)} continues`);
    expect(s.next()).toEqual({ kind: 'status', sha: A, run: 1, jobId: 'jA' });
    s.ev({ type: 'observed', sha: B });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'HeadMovedWhilePaused', sha: B });
    s.ev({ type: 'observed', sha: B });
    expect(s.codes().filter((c) => c === 'HeadMovedWhilePaused')).toHaveLength(1);
    expect(s.state.cancels).toEqual([]);
    expect(s.work).toMatchObject({ stage: 'closingOut', sha: A });
    s.succeed().expectPhase('Blocked', 'Paused');
    expect(s.state.deployed?.sha).toBe(A);
    expect(s.next().kind).toBe('wait');
    s.ev({ type: 'resume' });
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
  });

  it('a retry is held while paused (no wake-up, no trigger) and due after resume', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    s.ev({ type: 'pause', reason: 'freeze' }).expectPhase('Blocked', 'Paused');
    expect(s.state.message).toBe(`paused: freeze; retry 2/3 of ${A.slice(0, 12)} is held until resume`);
    s.advance(60_000);
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: A });
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 10_000, why: 'next observation' });
    expect(s.work?.stage).toBe('backoff');
    s.ev({ type: 'resume' }).next();
    s.expectPhase('PendingTrigger', 'RetryDue');
  });

  it('a pending trigger is held too', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'pause', reason: 'freeze' }).expectPhase('Blocked', 'Paused');
    expect(s.state.message).toBe(`paused: freeze; the trigger of ${A.slice(0, 12)} is held until resume`);
    expect(s.next().kind).toBe('wait');
  });

  it('resume without a pause changes nothing', () => {
    const s = new Sim().deliver(A).succeed();
    const before = JSON.stringify(s.state);
    s.ev({ type: 'resume' });
    expect(JSON.stringify(s.state)).toBe(before);
  });
});

describe('manual triggers', () => {
  it('redeploy the head as a new run, once the mirror confirms it; the operator may name the sha', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'manualTrigger', sha: A, reason: 'node repaired' });
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'ManualTrigger');
    expect(s.state.message).toBe('manual trigger: node repaired');
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
    s.ev({ type: 'triggering' });
    expect(s.work).toMatchObject({ manual: true, run: 2, attempt: 1 });
  });

  it('refuse a sha that is not the head, and one sent while paused; ignore the sha already in flight', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'manualTrigger', sha: B, reason: 'try' }).ev({ type: 'observed', sha: A });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'ManualNotHead', sha: B });
    expect(s.next().kind).toBe('wait');
    s.ev({ type: 'pause', reason: 'freeze' }).ev({ type: 'manualTrigger', reason: 'hotfix' });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'ManualWhilePaused' });
    expect(s.state.manualRequest).toBeUndefined();
    s.ev({ type: 'resume' }).ev({ type: 'observed', sha: B });
    s.fire();
    s.ev({ type: 'manualTrigger', reason: 'again' }).ev({ type: 'observed', sha: B });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'ManualInFlight', sha: B });
    expect(s.work).toMatchObject({ stage: 'closingOut', sha: B, run: 1 });
  });

  it('a pause after the request but before the read refuses it at the read', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'manualTrigger', reason: 'r' })
      .ev({ type: 'pause', reason: 'freeze' })
      .ev({ type: 'observed', sha: A });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'ManualWhilePaused' });
    expect(s.work).toBeUndefined();
  });

  it('replaces a retry of the head; a retry of an older sha is superseded first, so it keeps an outcome', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    s.ev({ type: 'manualTrigger', reason: 'now' }).ev({ type: 'observed', sha: A });
    expect(s.work).toMatchObject({ stage: 'pending', cause: 'ManualTrigger', attempt: 1, manual: true });
    const t = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    t.ev({ type: 'manualTrigger', reason: 'now' }).ev({ type: 'observed', sha: B });
    expect(t.record(A)?.result).toMatchObject({ outcome: 'Superseded', by: B });
    expect(t.work).toMatchObject({ stage: 'pending', sha: B, cause: 'ManualTrigger' });
  });

  it('a manual trigger waits for a readable mirror', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'manualTrigger', reason: 'r' }).ev({
      type: 'observeFailed',
      code: 'MirrorUnreachable',
      message: 'down',
    });
    expect(s.state.manualRequest).toMatchObject({ reason: 'r' });
    s.ev({ type: 'observed', sha: A });
    expect(s.work).toMatchObject({ stage: 'pending', cause: 'ManualTrigger' });
  });
});

describe('blocked: the mirror, the branch, the adapter', () => {
  it('is Blocked while the mirror is unreachable, keeps since-when, holds a pending trigger, and recovers', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A });
    const since = s.now;
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'connection refused' }).expectPhase(
      'Blocked',
      'MirrorUnreachable',
    );
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 10_000, why: 'next observation' });
    s.advance(30_000).ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'connection refused' });
    expect(s.state.mirrorBlocked).toEqual({ code: 'MirrorUnreachable', message: 'connection refused', since });
    expect(s.state.lastError).toEqual({ code: 'MirrorUnreachable', message: 'connection refused', at: s.now });
    expect(s.state.lastLookAt).toBe(s.now);
    s.ev({ type: 'observed', sha: A });
    expect(s.state.mirrorBlocked).toBeUndefined();
    expect(
      s.state.events.some((e) => e.code === 'MirrorRecovered' && e.message === 'mirror readable again after 30s'),
    ).toBe(true);
    expect(s.next()).toEqual({ kind: 'trigger', sha: A });
  });

  it('a retry waits for the mirror too', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' }).expectPhase(
      'Blocked',
      'MirrorUnreachable',
    );
    s.advance(10_000).next();
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' });
    expect(s.next().kind).toBe('wait');
    s.expectPhase('Blocked', 'MirrorUnreachable');
  });

  it('an in-flight close-out keeps going while the mirror is unreachable', () => {
    const s = new Sim().deliver(A);
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'down' }).expectPhase(
      'ClosingOut',
      'TriggerAccepted',
    );
    s.succeed().expectPhase('Blocked', 'MirrorUnreachable');
    s.ev({ type: 'observed', sha: A }).expectPhase('Succeeded', 'ClosedOut');
  });

  it('a deleted branch is Blocked(BranchNotFound); recreated, its head is decided like any other', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'observeFailed', code: 'BranchNotFound', message: 'gone' }).expectPhase('Blocked', 'BranchNotFound');
    s.ev({ type: 'observed', sha: A }).expectPhase('Succeeded', 'ClosedOut');
    s.ev({ type: 'observeFailed', code: 'BranchNotFound', message: 'gone' })
      .ev({ type: 'observed', sha: B })
      .expectPhase('PendingTrigger', 'NewHead');
  });

  it('an adapter that cannot run is Blocked, spends no attempt, and sends the same key when it can', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterMissing',
      message: 'not found',
      retryable: true,
      mayHaveReached: false,
    }).expectPhase('Blocked', 'AdapterMissing');
    expect(s.work).toMatchObject({
      stage: 'pending',
      attempt: 1,
      reuse: { run: 1, maybeFired: false },
      blocked: { retryAt: s.now + 10_000 },
    });
    expect(s.record(A)?.result).toBeUndefined();
    expect(s.state.lastError).toEqual({ code: 'AdapterMissing', message: 'not found', at: s.now, sha: A });
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 10_000, why: 'next observation' });
    s.advance(10_000);
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'NewHead');
    s.ev({ type: 'triggering' });
    expect(s.work).toMatchObject({ run: 1, attempt: 1 });
  });

  it('a watched follower tries a missing adapter again at the poll interval, not at its (long) fallback read', () => {
    const s = new Sim(makeSpec({ watched: { fallbackIntervalMs: 300_000 } }));
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 1,
      code: 'AdapterMissing',
      message: 'not found',
      retryable: true,
      mayHaveReached: false,
    });
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 10_000, why: `the adapter of ${A.slice(0, 12)}, again` });
  });

  it('keeps the cause of what could not run: a retry stays a retry, a manual trigger manual', () => {
    const s = new Sim().deliver(A).status({ phase: 'Failed', retryable: true });
    s.advance(5000).next();
    s.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    s.ev({
      type: 'triggerFailed',
      sha: A,
      run: 2,
      code: 'AdapterMissing',
      message: 'gone',
      retryable: true,
      mayHaveReached: false,
    });
    expect(s.work).toMatchObject({ cause: 'RetryDue', attempt: 2, manual: false });
    const m = new Sim().deliver(A).succeed();
    m.ev({ type: 'manualTrigger', reason: 'r' }).ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    m.ev({
      type: 'triggerFailed',
      sha: A,
      run: 2,
      code: 'AdapterMissing',
      message: 'gone',
      retryable: true,
      mayHaveReached: false,
    });
    expect(m.work).toMatchObject({ cause: 'ManualTrigger', manual: true });
    const r = new Sim().deliver(A).succeed().deliver(B).succeed();
    r.ev({ type: 'observed', sha: A }).ev({ type: 'triggering' });
    r.ev({
      type: 'triggerFailed',
      sha: A,
      run: 2,
      code: 'AdapterMissing',
      message: 'gone',
      retryable: true,
      mayHaveReached: false,
    });
    expect(r.work).toMatchObject({ cause: 'HeadReturned' });
  });
});

describe('wake-ups, bookkeeping and the dry run', () => {
  it('refresh, a supersede notice and a reconfiguration make the follower read now; the mirror decides', () => {
    for (const e of [
      { type: 'refresh' },
      { type: 'supersedeNotice', sha: B },
      { type: 'reconfigured', summary: 'x' },
    ] as FollowerEvent[]) {
      const s = new Sim().deliver(A).status({ phase: 'Running' });
      s.ev(e).expectPhase('ClosingOut', 'TriggerAccepted');
      expect(s.next()).toEqual({ kind: 'observe' });
    }
    const s = new Sim().ev({ type: 'reconfigured', summary: 'demo main@mirror' });
    expect(s.state.events.at(-1)).toMatchObject({ code: 'Reconfigured', message: 'reconfigured: demo main@mirror' });
  });

  it('notes a failing state projection once, and when it works again', () => {
    const s = new Sim();
    s.ev({ type: 'projected', ok: true, message: '' });
    for (let i = 0; i < 3; i++) s.ev({ type: 'projected', ok: false, message: 'no such ConfigMap' });
    s.ev({ type: 'projected', ok: false, message: 'forbidden' });
    for (let i = 0; i < 3; i++) s.ev({ type: 'projected', ok: true, message: '' });
    expect(s.state.events.map((e) => [e.code, e.message])).toEqual([
      ['ProjectionFailed', 'state projection not written: no such ConfigMap'],
      ['ProjectionFailed', 'state projection not written: forbidden'],
      ['ProjectionRecovered', 'state projection written again'],
    ]);
    expect(s.state.projection).toEqual({ ok: true, at: s.now });
    const first = new Sim().ev({ type: 'projected', ok: false, message: 'x' });
    expect(first.state.projection).toEqual({ ok: false, at: first.now, message: 'x' });
  });

  it('logs each change of phase or code once, with the time the phase began', () => {
    const s = new Sim();
    expect(condition(s.state, s.spec)).toEqual({
      phase: 'Observed',
      code: 'Starting',
      message: 'follower started; first observation pending',
    });
    s.advance(5).ev({ type: 'observed', sha: A });
    const since = s.now;
    s.advance(5).ev({ type: 'tick' }).ev({ type: 'tick' });
    expect(s.state.events).toEqual([
      {
        at: since,
        from: 'Observed',
        to: 'PendingTrigger',
        sha: A,
        code: 'NewHead',
        message: `new head ${A.slice(0, 12)}`,
      },
    ]);
    expect(s.state.phaseSince).toBe(since);
  });

  it('bounds the event log, and forgets old shas but never one still in play', () => {
    const s = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 5, shasKept: 3 } }))
      .deliver(sha(100))
      .succeed();
    s.deliver(sha(101));
    for (let i = 1; i <= 10; i++) s.ev({ type: 'pause', reason: `p${i}` }).ev({ type: 'resume' });
    expect(s.state.events.length).toBe(5);
    for (let i = 102; i < 110; i++)
      s.ev({ type: 'observed', sha: sha(i) }).ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'x' });
    // Exactly shasKept: the oldest go first; 101, superseded with its cancel not yet sent, stays.
    expect(s.state.shas.map((r) => r.sha)).toEqual([sha(101), sha(108), sha(109)]);
    const t = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 50, shasKept: 2 } })).deliver(A).succeed();
    t.ev({ type: 'pause', reason: 'p' });
    t.ev({ type: 'observed', sha: B }).ev({ type: 'observed', sha: C });
    expect(t.state.shas.map((r) => r.sha).sort()).toEqual([A, C].sort()); // the deployed sha stays
    const u = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 50, shasKept: 1 } })).deliver(A);
    u.ev({ type: 'pause', reason: 'p' }).ev({ type: 'observed', sha: B });
    expect(u.state.shas.map((r) => r.sha).sort()).toEqual([A, B].sort()); // in flight, and the head: over the bound rather than lose them
    const v = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 50, shasKept: 2 } })).deliver(A, {
      jobId: 'jA',
    });
    v.ev({ type: 'observed', sha: B })
      .ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'x' })
      .ev({ type: 'observed', sha: C });
    expect(v.state.cancels.map((c) => c.sha)).toEqual([A]);
    expect(v.state.shas.map((r) => r.sha)).toContain(A); // a cancel still to send keeps its sha
  });

  it('does not modify the state it is given', () => {
    const s = new Sim().deliver(A);
    const before = JSON.stringify(s.state);
    reduce(s.state, { type: 'observed', sha: B }, s.now, s.spec);
    expect(JSON.stringify(s.state)).toBe(before);
  });

  it('decide: what one observation would mean, without changing anything', () => {
    const s = new Sim();
    expect(decide(s.state, A, s.now, s.spec)).toMatchObject({ kind: 'PendingTrigger', code: 'NewHead' });
    s.deliver(A).succeed();
    expect(decide(s.state, A, s.now, s.spec)).toMatchObject({ kind: 'Noop', code: 'ClosedOut' });
    s.ev({ type: 'pause', reason: 'maintenance' });
    expect(decide(s.state, B, s.now, s.spec)).toEqual({
      kind: 'Blocked',
      code: 'Paused',
      message: 'paused: maintenance',
    });
    expect(s.state.observedSha).toBe(A);
  });

  it('waits for the earliest of what is due, and never for a time in the past', () => {
    const s = new Sim().deliver(A).status({ phase: 'Running' });
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 2000, why: 'next close-out check' });
    const t = new Sim(makeSpec({ closeout: { ...makeSpec().closeout, pollIntervalMs: 20_000 } }))
      .deliver(A)
      .status({ phase: 'Running' });
    expect(t.next()).toEqual({ kind: 'wait', until: t.now + 10_000, why: 'next observation' });
  });

  it('a watched follower reads at its fallback interval; a failed read retries at the poll interval', () => {
    const s = new Sim(makeSpec({ watched: { fallbackIntervalMs: 300_000 } }));
    s.ev({ type: 'observed', sha: A });
    expect(s.state.nextObserveAt).toBe(s.now + 300_000);
    s.ev({ type: 'observeFailed', code: 'MirrorUnreachable', message: 'x' });
    expect(s.state.nextObserveAt).toBe(s.now + 10_000);
  });
});

describe('quiet period: a burst of pushes, one deploy', () => {
  const quiet = () => new Sim(makeSpec({ quietPeriodMs: 30_000 }));
  /** Runs the follower against a mirror showing `head` for up to `ms`; returns when it asks to trigger (or the time is up). */
  const runFor = (s: Sim, head: string, ms: number): Action | undefined => {
    const end = s.now + ms;
    for (;;) {
      const a = s.next();
      if (a.kind === 'observe') s.ev({ type: 'observed', sha: head });
      else if (a.kind === 'wait' && a.until <= end) s.advance(a.until - s.now);
      else return a.kind === 'wait' ? (s.advance(end - s.now), undefined) : a;
    }
  };

  it('a new head waits, PendingTrigger(QuietPeriod), reading at its cadence; after the period a read confirms it and it fires', () => {
    const s = quiet().ev({ type: 'observed', sha: A });
    s.expectPhase('PendingTrigger', 'QuietPeriod');
    const since = s.now;
    expect(runFor(s, A, 29_999)).toBeUndefined();
    s.expectPhase('PendingTrigger', 'QuietPeriod');
    expect(runFor(s, A, 1)).toEqual({ kind: 'trigger', sha: A });
    expect(s.now - since).toBe(30_000);
    expect(s.state.lastLookAt).toBe(s.now); // the read that ended it
    s.expectPhase('PendingTrigger', 'NewHead');
  });

  it('every push restarts the wait; only the last sha of the burst fires, and the others get no outcome (they never fired)', () => {
    const s = quiet().ev({ type: 'observed', sha: A });
    expect(runFor(s, B, 20_000)).toBeUndefined();
    expect(runFor(s, C, 20_000)).toBeUndefined();
    expect(s.work).toMatchObject({ stage: 'pending', sha: C, cause: 'NewHead' });
    expect(runFor(s, C, 30_000)).toEqual({ kind: 'trigger', sha: C });
    s.fire().succeed().expectPhase('Succeeded', 'ClosedOut');
    expect([A, B].map((x) => s.record(x)?.result)).toEqual([undefined, undefined]);
  });

  it('a manual trigger and a retry do not wait for it', () => {
    const m = quiet().ev({ type: 'observed', sha: A });
    runFor(m, A, 30_000);
    m.fire().succeed();
    m.ev({ type: 'manualTrigger', reason: 'redeploy' }).ev({ type: 'observed', sha: A });
    expect(m.next()).toEqual({ kind: 'trigger', sha: A });
    m.fire().status({ phase: 'Failed', message: 'pull backoff', retryable: true });
    m.advance(5000);
    expect(m.next()).toEqual({ kind: 'observe' });
    m.ev({ type: 'observed', sha: A }).expectPhase('PendingTrigger', 'RetryDue');
    expect(m.next()).toEqual({ kind: 'trigger', sha: A });
  });
});

describe('a push announced by its webhook: the sha is a hint, the mirror decides', () => {
  it('reads again soon (250 ms, doubling, at most 2 s) until the mirror shows the announced sha, then at the usual cadence', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'refresh', sha: B });
    expect(s.next()).toEqual({ kind: 'observe' });
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      s.ev({ type: 'observed', sha: A }); // the mirror still lags the git host
      const a = s.next();
      expect(a.kind).toBe('wait');
      gaps.push((a as Extract<Action, { kind: 'wait' }>).until - s.now);
      s.advance(gaps.at(-1)!);
    }
    expect(gaps).toEqual([250, 500, 1000, 2000, 2000]);
    s.ev({ type: 'observed', sha: B }).expectPhase('PendingTrigger', 'NewHead');
    expect(s.state.awaitedPush).toBeUndefined();
    s.fire().succeed();
    expect(s.next()).toMatchObject({ kind: 'wait', until: s.now + s.spec.pollIntervalMs });
  });

  it('a sha the mirror never shows is given up after 30 s with MirrorBehindPush; nothing fires on a hint', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'refresh', sha: B });
    for (let t = 0; t <= 30_000; t += 2000) s.advance(t === 0 ? 0 : 2000).ev({ type: 'observed', sha: A });
    expect(s.codes()).toContain('MirrorBehindPush');
    expect(s.state.awaitedPush).toBeUndefined();
    expect(s.state.lastTriggeredSha).toBe(A);
    expect(s.next()).toMatchObject({ kind: 'wait', until: s.now + s.spec.pollIntervalMs });
  });

  it('a hint the mirror already shows, or none, is only a wake-up', () => {
    const s = new Sim().deliver(A).succeed();
    s.ev({ type: 'refresh', sha: A });
    expect(s.state.awaitedPush).toBeUndefined();
    s.ev({ type: 'refresh' });
    expect(s.state.awaitedPush).toBeUndefined();
    expect(s.next()).toEqual({ kind: 'observe' });
  });
});

describe('the missed-webhook ledger', () => {
  const hooked = () => new Sim(makeSpec({ pushWebhooks: { announceWindowMs: 60_000 } }));

  it('a move found by reading that no push announced within the window is a missed webhook, noted once and counted for 24 h', () => {
    const s = hooked().deliver(A).succeed();
    s.ev({ type: 'observed', sha: B }); // found by the poll; no webhook
    expect(s.state.unannounced).toEqual([{ sha: B, foundAt: s.now, missedAt: s.now + 60_000 }]);
    const found = s.now;
    s.advance(59_999).ev({ type: 'tick' });
    expect(s.codes()).not.toContain('MissedWebhook');
    s.advance(1).ev({ type: 'tick' }).ev({ type: 'tick' });
    expect(s.codes().filter((c) => c === 'MissedWebhook')).toHaveLength(1);
    expect(s.state.missedWebhooks).toEqual([found]);
    s.advance(24 * 3_600_000).ev({ type: 'tick' });
    expect(s.state.missedWebhooks).toBeUndefined();
  });

  it('the follower wakes when the window of an unannounced move ends, even on a long poll interval', () => {
    const s = new Sim(makeSpec({ pollIntervalMs: 3_600_000, pushWebhooks: { announceWindowMs: 60_000 } }));
    s.deliver(A).succeed().ev({ type: 'observed', sha: B });
    s.fire().succeed();
    expect(s.next()).toEqual({ kind: 'wait', until: s.now + 60_000, why: `a webhook for ${B.slice(0, 12)}` });
    s.advance(60_000);
    expect(s.next()).toMatchObject({ kind: 'wait', why: 'next observation' });
    expect(s.codes()).toContain('MissedWebhook');
  });

  it('a push announced before or after the read (within the window) is not missed; the first read and a still head are not moves', () => {
    const before = hooked().deliver(A).succeed();
    before.ev({ type: 'refresh', sha: B }).ev({ type: 'observed', sha: B });
    const after = hooked().deliver(A).succeed();
    after.ev({ type: 'observed', sha: B }).advance(30_000).ev({ type: 'refresh', sha: B });
    const still = hooked().deliver(A).succeed();
    still.ev({ type: 'observed', sha: A });
    for (const s of [before, after, still]) {
      s.advance(120_000).ev({ type: 'tick' });
      expect(s.codes()).not.toContain('MissedWebhook');
      expect(s.state.missedWebhooks ?? []).toEqual([]);
    }
  });

  it('without webhooks there is no ledger, and taking them away forgets what was pending', () => {
    const plain = new Sim().deliver(A).succeed();
    plain.ev({ type: 'observed', sha: B }).advance(600_000).ev({ type: 'tick' });
    expect([plain.state.unannounced, plain.state.missedWebhooks, plain.codes().includes('MissedWebhook')]).toEqual([
      undefined,
      undefined,
      false,
    ]);
    const s = hooked().deliver(A).succeed();
    s.ev({ type: 'observed', sha: B });
    const state = reduce(s.state, { type: 'tick' }, s.now + 600_000, makeSpec());
    expect([state.unannounced, state.missedWebhooks, state.events.some((e) => e.code === 'MissedWebhook')]).toEqual([
      undefined,
      undefined,
      false,
    ]);
  });
});
