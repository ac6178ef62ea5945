import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FollowerSpec, FollowerState, RuntimeStatus } from '../../workflows/api.ts';
import { backoffMs, decide, initialState, nextAction, reduce, type Action, type FollowerEvent } from '../../workflows/decide.ts';
import { makeSpec, sha } from '../support/spec.ts';

/** Drives the reducer the way the workflow does: tick, ask for the next action, report back. */
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
  /** Observe `head`, then run the trigger the reducer asks for, if any. */
  observeAndTrigger(head: string, jobId = `job-${head.slice(-4)}`): this {
    this.ev({ type: 'observed', sha: head });
    const a = this.next();
    if (a.kind === 'trigger') {
      this.ev({ type: 'triggering' });
      this.ev({ type: 'triggered', sha: a.sha, jobId, alreadyRunning: false });
    }
    return this;
  }
  status(s: RuntimeStatus): this {
    return this.ev({ type: 'status', sha: this.state.inFlight!.sha, status: s });
  }
}

describe('decide: one observation', () => {
  it('a new sha is PendingTrigger, a triggered one Noop, a paused follower Blocked', () => {
    const s = new Sim();
    expect(decide(s.state, sha(1))).toMatchObject({ kind: 'PendingTrigger', sha: sha(1) });
    s.observeAndTrigger(sha(1));
    expect(decide(s.state, sha(1))).toMatchObject({ kind: 'Noop' });
    s.ev({ type: 'pause', reason: 'maintenance' });
    expect(decide(s.state, sha(2))).toEqual({ kind: 'Blocked', reason: 'Paused: maintenance' });
  });
});

describe('reduce + nextAction: the follower rules', () => {
  it('triggers a new sha once and closes out on the runtime status', () => {
    const s = new Sim();
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: sha(1) });
    expect(s.state.phase).toBe('PendingTrigger');
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 1, manual: false });
    s.ev({ type: 'triggering' });
    expect(s.state.phase).toBe('Triggering');
    expect(s.state.lastTriggeredSha).toBe(sha(1));
    s.ev({ type: 'triggered', sha: sha(1), jobId: 'j1', alreadyRunning: false });
    expect(s.state.phase).toBe('ClosingOut');
    expect(s.state.inFlight).toMatchObject({ sha: sha(1), jobId: 'j1', attempt: 1, deadline: s.now + 120_000 });
    expect(s.next()).toEqual({ kind: 'status', sha: sha(1) });
    s.status({ phase: 'Running', sha: sha(1) });
    expect(s.next()).toMatchObject({ kind: 'wait', until: s.now + 2000, why: 'next close-out check' });
    s.advance(2000).status({ phase: 'Succeeded', sha: sha(1) });
    expect(s.state).toMatchObject({ phase: 'Succeeded', lastSucceededSha: sha(1), inFlight: undefined });
    expect(s.state.shas.find((r) => r.sha === sha(1))).toMatchObject({ outcome: 'Succeeded', attempts: 1 });
  });

  it('never re-triggers a repeated sha, and logs nothing for a steady branch', () => {
    const s = new Sim().observeAndTrigger(sha(1)).status({ phase: 'Succeeded', sha: sha(1) });
    const events = s.state.events.length;
    for (let i = 0; i < 5; i++) {
      s.advance(10_000).ev({ type: 'observed', sha: sha(1) });
      expect(s.next().kind).not.toBe('trigger');
    }
    expect(s.state.phase).toBe('Succeeded');
    expect(s.state.events.length).toBe(events);
  });

  it('supersedes the in-flight sha when the branch advances, cancels it, then triggers the new head', () => {
    const s = new Sim().observeAndTrigger(sha(1), 'j1');
    s.advance(1000).ev({ type: 'observed', sha: sha(2) });
    expect(s.state.shas.find((r) => r.sha === sha(1))).toMatchObject({ outcome: 'Superseded', supersededBy: sha(2) });
    expect(s.state.events.some((e) => e.to === 'Superseded' && e.sha === sha(1))).toBe(true);
    expect(s.state.phase).toBe('PendingTrigger');
    expect(s.next()).toEqual({ kind: 'cancel', sha: sha(1), jobId: 'j1' });
    s.ev({ type: 'cancelled', sha: sha(1), ok: true, message: '' });
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(2), attempt: 1, manual: false });
  });

  it('does not queue a cancel when the adapter has none', () => {
    const spec = makeSpec();
    delete spec.adapter.cancel;
    const s = new Sim(spec).observeAndTrigger(sha(1));
    s.ev({ type: 'observed', sha: sha(2) });
    expect(s.state.pendingCancels).toEqual([]);
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(2) });
  });

  it('makes a budget overrun visible: Failed, BudgetExceeded, elapsed, budget and its YAML source', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Running', sha: sha(0), message: 'still on the old image' });
    const wait = s.next();
    expect(wait.kind).toBe('wait');
    s.advance(120_000);
    s.ev({ type: 'tick' });
    expect(s.state.phase).toBe('Failed');
    expect(s.state.lastError?.reason).toBe('BudgetExceeded');
    expect(s.state.reason).toContain('close-out took 2m, over the 2m budget from defaults.closeout.budget (registry.yaml:7)');
    expect(s.state.reason).toContain(`runtime reports ${sha(0).slice(0, 12)}`);
    expect(s.state.retry).toBeUndefined();
  });

  it('never sleeps past the close-out budget', () => {
    const s = new Sim(makeSpec({ pollIntervalMs: 600_000, closeout: { ...makeSpec().closeout, pollIntervalMs: 500_000 } }));
    s.observeAndTrigger(sha(1)).status({ phase: 'Running', sha: sha(1) });
    const a = s.next();
    expect(a).toMatchObject({ kind: 'wait', until: s.state.inFlight!.deadline, why: 'close-out budget' });
  });

  it('retries a retryable failure after backoff, up to maxAttempts, then stays Failed', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), message: 'pull backoff', retryable: true });
    expect(s.state.phase).toBe('Failed');
    expect(s.state.retry).toEqual({ sha: sha(1), attempt: 2, notBefore: s.now + 5000 });
    expect(s.next()).toMatchObject({ kind: 'wait', until: s.now + 5000 });
    s.advance(5000);
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 2, manual: false });
    s.ev({ type: 'triggering' }).ev({ type: 'triggered', sha: sha(1), alreadyRunning: false });
    s.status({ phase: 'Failed', sha: sha(1), retryable: true });
    expect(s.state.retry).toMatchObject({ attempt: 3, notBefore: s.now + 10_000 });
    s.advance(10_000);
    expect(s.next()).toMatchObject({ kind: 'trigger', attempt: 3 });
    s.ev({ type: 'triggering' }).ev({ type: 'triggered', sha: sha(1), alreadyRunning: false });
    s.status({ phase: 'Failed', sha: sha(1), message: 'pull backoff', retryable: true });
    expect(s.state.phase).toBe('Failed');
    expect(s.state.retry).toBeUndefined();
    expect(s.state.reason).toContain('3 attempts used');
    s.advance(60_000).ev({ type: 'observed', sha: sha(1) });
    expect(s.next().kind).not.toBe('trigger');
    expect(s.state.phase).toBe('Failed');
  });

  it('computes exponential backoff capped at maxBackoff', () => {
    const spec = makeSpec({ retry: { maxAttempts: 10, initialBackoffMs: 1000, backoffCoefficient: 3, maxBackoffMs: 20_000 } });
    expect([1, 2, 3, 4].map((n) => backoffMs(spec, n))).toEqual([1000, 3000, 9000, 20_000]);
  });

  it('keeps a terminal failure visible until a new sha arrives', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), message: 'invalid manifest', retryable: false });
    expect(s.state).toMatchObject({ phase: 'Failed', reason: 'RuntimeFailed: invalid manifest' });
    s.advance(10_000).ev({ type: 'observed', sha: sha(1) });
    expect(s.state.phase).toBe('Failed');
    s.advance(10_000).ev({ type: 'observed', sha: sha(2) });
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(2) });
  });

  it('a manual trigger re-deploys the head; a sha that is not the head is refused', () => {
    const s = new Sim().observeAndTrigger(sha(1)).status({ phase: 'Succeeded', sha: sha(1) });
    s.ev({ type: 'manualTrigger', sha: sha(9), reason: 'try' });
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: sha(1) });
    expect(s.state.events.at(-1)?.reason).toContain('manual trigger refused');
    expect(s.next().kind).not.toBe('trigger');

    s.ev({ type: 'manualTrigger', reason: 'redeploy after node repair' });
    s.ev({ type: 'observed', sha: sha(1) });
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 1, manual: true });
    s.ev({ type: 'triggering' });
    expect(s.state.inFlight).toMatchObject({ manual: true });
    expect(s.state.shas.find((r) => r.sha === sha(1))?.attempts).toBe(2);
  });

  it('ignores a manual trigger for the sha already in flight', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.ev({ type: 'manualTrigger', reason: 'again' }).ev({ type: 'observed', sha: sha(1) });
    expect(s.state.phase).toBe('ClosingOut');
    expect(s.state.events.at(-1)?.reason).toContain('already in flight');
  });

  it('pause blocks new triggers but lets the in-flight close-out finish; resume re-decides', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.ev({ type: 'pause', reason: 'freeze' });
    expect(s.state.phase).toBe('ClosingOut');
    s.status({ phase: 'Succeeded', sha: sha(1) });
    s.ev({ type: 'observed', sha: sha(2) });
    expect(s.state).toMatchObject({ phase: 'Blocked', reason: 'Paused: freeze' });
    expect(s.next().kind).not.toBe('trigger');
    s.ev({ type: 'resume', reason: 'thaw' });
    expect(s.next()).toEqual({ kind: 'observe' });
    s.ev({ type: 'observed', sha: sha(2) });
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(2) });
  });

  it('pausing does not drop a manual trigger that is already pending', () => {
    const s = new Sim().observeAndTrigger(sha(1)).status({ phase: 'Succeeded', sha: sha(1) });
    s.ev({ type: 'manualTrigger', reason: 'redeploy' }).ev({ type: 'observed', sha: sha(1) });
    s.ev({ type: 'pause', reason: 'freeze' });
    expect(s.state.phase).toBe('PendingTrigger');
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 1, manual: true });
  });

  it('after resume, a follower waiting for a retry shows the retry, not the old Paused reason', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), message: 'flaky', retryable: true });
    s.ev({ type: 'pause', reason: 'freeze' });
    expect(s.state.phase).toBe('Blocked');
    s.advance(1000).ev({ type: 'resume' }).ev({ type: 'observed', sha: sha(1) });
    expect(s.state).toMatchObject({ phase: 'Failed', reason: 'RuntimeFailed; retry 2/3 due in 4s' });
    s.advance(4000);
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(1), attempt: 2 });
  });

  it('a manual trigger runs while paused (like a manual sync with auto-sync off)', () => {
    const s = new Sim();
    s.ev({ type: 'pause', reason: 'freeze' }).ev({ type: 'observed', sha: sha(1) });
    expect(s.state.phase).toBe('Blocked');
    s.ev({ type: 'manualTrigger', reason: 'hotfix' }).ev({ type: 'observed', sha: sha(1) });
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(1), manual: true });
  });

  it('is Blocked while the mirror is unreachable, keeps since-when, never triggers, recovers', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), retryable: true });
    const since = s.now;
    s.ev({ type: 'observeFailed', reason: 'MirrorUnreachable', message: 'connection refused' });
    expect(s.state.phase).toBe('Blocked');
    s.advance(30_000).ev({ type: 'observeFailed', reason: 'MirrorUnreachable', message: 'connection refused' });
    expect(s.state.mirrorBlocked).toMatchObject({ since });
    // The retry backoff elapsed, but no trigger happens while the mirror cannot confirm the head.
    expect(s.next().kind).not.toBe('trigger');
    s.advance(10_000).ev({ type: 'observed', sha: sha(1) });
    expect(s.state.mirrorBlocked).toBeUndefined();
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(1), attempt: 2 });
  });

  it('an in-flight close-out keeps going while the mirror is unreachable', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.ev({ type: 'observeFailed', reason: 'MirrorUnreachable', message: 'down' });
    expect(s.state.phase).toBe('ClosingOut');
    s.status({ phase: 'Succeeded', sha: sha(1) });
    expect(s.state.phase).toBe('Succeeded');
  });

  it('an adapter that cannot run is Blocked without spending an attempt, and is tried again next poll', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: sha(1) }).ev({ type: 'triggering' });
    s.ev({ type: 'triggerFailed', sha: sha(1), reason: 'AdapterMissing', message: 'not found', retryable: true, blocking: true });
    expect(s.state).toMatchObject({ phase: 'Blocked', inFlight: undefined });
    expect(s.state.shas[0]!.attempts).toBe(0);
    s.advance(10_000).ev({ type: 'observed', sha: sha(1) });
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(1), attempt: 1 });
  });

  it('an adapter that cannot run during a retry keeps the retry (and a manual trigger stays manual)', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), retryable: true });
    s.advance(5000);
    expect(s.next()).toMatchObject({ kind: 'trigger', attempt: 2 });
    s.ev({ type: 'triggering' });
    s.ev({ type: 'triggerFailed', sha: sha(1), reason: 'AdapterMissing', message: 'gone', retryable: true, blocking: true });
    s.advance(10_000).ev({ type: 'observed', sha: sha(1) });
    expect(s.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 2, manual: false });

    const m = new Sim().observeAndTrigger(sha(1)).status({ phase: 'Succeeded', sha: sha(1) });
    m.ev({ type: 'manualTrigger', reason: 'redeploy' }).ev({ type: 'observed', sha: sha(1) }).ev({ type: 'triggering' });
    m.ev({ type: 'triggerFailed', sha: sha(1), reason: 'AdapterMissing', message: 'gone', retryable: true, blocking: true });
    m.advance(10_000);
    expect(m.next()).toEqual({ kind: 'trigger', sha: sha(1), attempt: 1, manual: true });
  });

  it('a branch rewound to an already-succeeded sha does not re-trigger it', () => {
    const s = new Sim().observeAndTrigger(sha(1)).status({ phase: 'Succeeded', sha: sha(1) });
    s.observeAndTrigger(sha(2)).status({ phase: 'Succeeded', sha: sha(2) });
    s.ev({ type: 'observed', sha: sha(1) });
    expect(s.state.phase).toBe('Noop');
    expect(s.next().kind).not.toBe('trigger');
  });

  it('a branch that moves while a failed sha waits for its retry supersedes the retry', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.status({ phase: 'Failed', sha: sha(1), retryable: true });
    s.ev({ type: 'observed', sha: sha(2) });
    expect(s.state.retry).toBeUndefined();
    expect(s.state.shas.find((r) => r.sha === sha(1))).toMatchObject({ outcome: 'Superseded', supersededBy: sha(2) });
    expect(s.next()).toMatchObject({ kind: 'trigger', sha: sha(2), attempt: 1 });
  });

  it('a supersede notice only makes the follower look at the mirror', () => {
    const s = new Sim().observeAndTrigger(sha(1));
    s.ev({ type: 'supersedeNotice', sha: sha(2) });
    expect(s.state.phase).toBe('ClosingOut');
    expect(s.next()).toEqual({ kind: 'status', sha: sha(1) });
    s.status({ phase: 'Running', sha: sha(1) });
    expect(s.next()).toEqual({ kind: 'observe' });
  });

  it('an alreadyRunning trigger result closes out without firing again', () => {
    const s = new Sim();
    s.ev({ type: 'observed', sha: sha(1) }).ev({ type: 'triggering' });
    s.ev({ type: 'triggered', sha: sha(1), jobId: 'j-existing', alreadyRunning: true });
    expect(s.state.reason).toContain('not fired again');
  });

  it('bounds the event log and forgets old shas but never the one in flight', () => {
    const s = new Sim(makeSpec({ loop: { continueAsNewAfter: 10, eventsKept: 5, shasKept: 3 } }));
    s.observeAndTrigger(sha(100));
    for (let i = 1; i <= 10; i++) s.ev({ type: 'refresh' }).ev({ type: 'observed', sha: sha(100) });
    for (let i = 1; i <= 10; i++) s.ev({ type: 'pause', reason: `p${i}` }).ev({ type: 'resume' });
    expect(s.state.events.length).toBe(5);
    expect(s.state.shas.length).toBeLessThanOrEqual(3);
    expect(s.state.inFlight?.sha).toBe(sha(100));
  });

  it('does not modify the state it is given', () => {
    const s = new Sim();
    const before = JSON.stringify(s.state);
    reduce(s.state, { type: 'observed', sha: sha(1) }, s.now, s.spec);
    expect(JSON.stringify(s.state)).toBe(before);
  });
});

// ---- Property: drive the reducer through arbitrary worlds ----

type WorldStep =
  | { k: 'push' }
  | { k: 'rewind'; back: number }
  | { k: 'outcome'; o: 'Running' | 'Succeeded' | 'FailRetry' | 'FailTerminal' | 'OtherSha' }
  | { k: 'time'; ms: number }
  | { k: 'mirror'; up: boolean }
  | { k: 'manual'; head: boolean }
  | { k: 'pause' }
  | { k: 'resume' }
  | { k: 'refresh' }
  | { k: 'adapterMissing' };

const step: fc.Arbitrary<WorldStep> = fc.oneof(
  fc.constant({ k: 'push' as const }),
  fc.record({ k: fc.constant('rewind' as const), back: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant('outcome' as const), o: fc.constantFrom('Running', 'Succeeded', 'FailRetry', 'FailTerminal', 'OtherSha' as const) }),
  fc.record({ k: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 200_000 }) }),
  fc.record({ k: fc.constant('mirror' as const), up: fc.boolean() }),
  fc.record({ k: fc.constant('manual' as const), head: fc.boolean() }),
  fc.constant({ k: 'pause' as const }),
  fc.constant({ k: 'resume' as const }),
  fc.constant({ k: 'refresh' as const }),
  fc.constant({ k: 'adapterMissing' as const }),
);

interface Fired {
  sha: string;
  attempt: number;
  manual: boolean;
}

/** Plays a world script against the reducer; returns what was fired and the final state. */
function play(steps: WorldStep[], spec: FollowerSpec): { fired: Fired[]; sim: Sim; history: string[] } {
  const sim = new Sim(spec);
  const history: string[] = [];
  let n = 1;
  let head = sha(n);
  history.push(head);
  let mirrorUp = true;
  let outcome: WorldStep & { k: 'outcome' } = { k: 'outcome', o: 'Running' };
  let adapterMissing = false;
  const fired: Fired[] = [];

  const runActions = (budget: number): void => {
    for (let i = 0; i < budget; i++) {
      const a = sim.next();
      checkInvariants(sim);
      switch (a.kind) {
        case 'wait':
          return;
        case 'observe':
          sim.ev(mirrorUp ? { type: 'observed', sha: head } : { type: 'observeFailed', reason: 'MirrorUnreachable', message: 'down' });
          break;
        case 'trigger':
          sim.ev({ type: 'triggering' });
          if (adapterMissing) {
            sim.ev({ type: 'triggerFailed', sha: a.sha, reason: 'AdapterMissing', message: 'gone', retryable: true, blocking: true });
            adapterMissing = false;
          } else {
            fired.push({ sha: a.sha, attempt: a.attempt, manual: a.manual });
            sim.ev({ type: 'triggered', sha: a.sha, jobId: `j${fired.length}`, alreadyRunning: false });
          }
          break;
        case 'status': {
          const o = outcome.o;
          const status: RuntimeStatus =
            o === 'Running' ? { phase: 'Running', sha: a.sha }
            : o === 'Succeeded' ? { phase: 'Succeeded', sha: a.sha }
            : o === 'FailRetry' ? { phase: 'Failed', sha: a.sha, retryable: true }
            : o === 'FailTerminal' ? { phase: 'Failed', sha: a.sha, retryable: false }
            : { phase: 'Succeeded', sha: sha(999_999) };
          sim.ev({ type: 'status', sha: a.sha, status });
          break;
        }
        case 'cancel':
          sim.ev({ type: 'cancelled', sha: a.sha, ok: true, message: '' });
          break;
      }
    }
  };

  for (const st of steps) {
    switch (st.k) {
      case 'push':
        head = sha(++n);
        history.push(head);
        break;
      case 'rewind':
        head = history[Math.max(0, history.length - 1 - st.back)]!;
        break;
      case 'outcome':
        outcome = st;
        break;
      case 'time':
        sim.advance(st.ms);
        break;
      case 'mirror':
        mirrorUp = st.up;
        break;
      case 'manual':
        sim.ev({ type: 'manualTrigger', sha: st.head ? undefined : sha(777_777), reason: 'prop' });
        break;
      case 'pause':
        sim.ev({ type: 'pause', reason: 'prop' });
        break;
      case 'resume':
        sim.ev({ type: 'resume' });
        break;
      case 'refresh':
        sim.ev({ type: 'refresh' });
        break;
      case 'adapterMissing':
        adapterMissing = true;
        break;
    }
    runActions(20);
  }
  // Quiesce: the world settles, the runtime succeeds, time passes until nothing is left to do.
  mirrorUp = true;
  outcome = { k: 'outcome', o: 'Succeeded' };
  adapterMissing = false;
  sim.ev({ type: 'resume' });
  for (let i = 0; i < 20; i++) {
    runActions(50);
    sim.advance(spec.pollIntervalMs + spec.retry.maxBackoffMs);
  }
  return { fired, sim, history };
}

function checkInvariants(sim: Sim): void {
  const s = sim.state;
  const inFlightPhase = s.phase === 'Triggering' || s.phase === 'ClosingOut';
  if (inFlightPhase !== Boolean(s.inFlight)) throw new Error(`phase ${s.phase} with inFlight=${JSON.stringify(s.inFlight)}`);
  const a = nextAction(s, sim.now);
  if (a.kind === 'wait' && s.inFlight && a.until > s.inFlight.deadline) throw new Error('sleeps past the close-out budget');
  if (a.kind === 'wait' && a.until < sim.now) throw new Error('waits for a time in the past');
}

describe('property: for any world, the follower rules hold', () => {
  const spec = makeSpec();

  it('no sha is triggered twice except by a retry or a manual trigger', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { fired } = play(steps, spec);
        const automatic = fired.filter((f) => !f.manual && f.attempt === 1).map((f) => f.sha);
        expect(new Set(automatic).size).toBe(automatic.length);
      }),
      { numRuns: 400 },
    );
  });

  it('attempts for one sha never exceed maxAttempts without a manual trigger', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { fired } = play(steps, spec);
        const bySha = new Map<string, number>();
        for (const f of fired) {
          if (f.manual) bySha.set(f.sha, 0);
          else bySha.set(f.sha, (bySha.get(f.sha) ?? 0) + 1);
          expect(bySha.get(f.sha)).toBeLessThanOrEqual(spec.retry.maxAttempts);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('once the world settles, the final head is never lost: it ends with an outcome', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { sim } = play(steps, spec);
        const head = sim.state.observedSha!;
        const rec = sim.state.shas.find((r) => r.sha === head);
        expect(rec?.outcome, `head ${head} phase ${sim.state.phase}: ${sim.state.reason}`).toMatch(/^(Succeeded|Failed|Superseded)$/);
        expect(sim.state.inFlight).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  it('a head first seen in a settled world is deployed: Succeeded', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const { sim, fired } = play([...steps, { k: 'push' }], spec);
        const head = sim.state.observedSha!;
        // (A manual trigger asked for while the mirror was down may be the one that deploys it.)
        expect(fired.filter((f) => f.sha === head).length).toBeGreaterThanOrEqual(1);
        expect(sim.state.lastSucceededSha).toBe(head);
        expect(sim.state.phase).toBe('Succeeded');
      }),
      { numRuns: 300 },
    );
  });
});
