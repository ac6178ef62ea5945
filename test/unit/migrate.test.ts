// State carried by the decision core v1 (through continue-as-new, or handed over at a running
// follower's first step on the new code) is converted into the v2 shape without losing what it knew.
import { describe, expect, it } from 'vitest';
import { nextAction } from '../../core/decide.ts';
import { migrateV1 } from '../../workflows/legacy/migrate.ts';
import { isStateV1, type FollowerStateV1 } from '../../workflows/legacy/state-v1.ts';
import { makeSpec, sha } from '../support/spec.ts';

const A = sha(0xa);
const B = sha(0xb);
const spec = makeSpec();
const NOW = 5_000_000;

function v1(over: Partial<FollowerStateV1> = {}): FollowerStateV1 {
  return {
    id: 'demo',
    phase: 'Succeeded',
    phaseSince: 1000,
    reason: 'closed out in 4s (budget 2m)',
    observedSha: A,
    observedAt: 4000,
    lastLookAt: 4000,
    targetSha: A,
    lastTriggeredSha: A,
    lastSucceededSha: A,
    pendingCancels: [],
    nextObserveAt: 14_000,
    shas: [
      {
        sha: A,
        firstSeen: 900,
        attempts: 1,
        triggeredAt: 1000,
        jobId: 'j1',
        finishedAt: 3000,
        outcome: 'Succeeded',
        reason: 'closed out in 2s',
      },
    ],
    events: [{ at: 3000, from: 'ClosingOut', to: 'Succeeded', sha: A, reason: 'closed out in 2s (budget 2m)' }],
    ...over,
  };
}

describe('migrating v1 state', () => {
  it('tells v1 state (no version) from v2', () => {
    expect(isStateV1(v1())).toBe(true);
    expect(isStateV1(migrateV1(v1(), NOW, spec))).toBe(false);
    expect(isStateV1(undefined)).toBe(false);
  });

  it('keeps a deployed head deployed: runs, records, events (coded Recorded) and a Migrated note', () => {
    const s = migrateV1(v1(), NOW, spec);
    expect(s).toMatchObject({
      version: 2,
      phase: 'Succeeded',
      code: 'ClosedOut',
      deployed: { sha: A, at: 3000 },
      lastSucceededSha: A,
      observedSha: A,
      cancels: [],
    });
    expect(s.shas).toEqual([
      {
        sha: A,
        firstSeen: 900,
        runs: 1,
        triggeredAt: 1000,
        jobId: 'j1',
        result: { outcome: 'Succeeded', code: 'ClosedOut', message: 'closed out in 2s', at: 3000 },
      },
    ]);
    expect(s.events[0]).toEqual({
      at: 3000,
      from: 'ClosingOut',
      to: 'Succeeded',
      sha: A,
      code: 'Recorded',
      message: 'closed out in 2s (budget 2m)',
    });
    expect(s.events.some((e) => e.code === 'Migrated')).toBe(true);
    expect(nextAction(s, NOW)).toEqual({ kind: 'observe' }); // it reads before anything else
  });

  it('a close-out in flight continues as one, under its run', () => {
    const s = migrateV1(
      v1({
        phase: 'ClosingOut',
        lastSucceededSha: undefined,
        inFlight: { sha: A, attempt: 2, manual: false, startedAt: 1000, deadline: 121_000, jobId: 'j2' },
        nextStatusAt: 4500,
        shas: [{ sha: A, firstSeen: 900, attempts: 2, triggeredAt: 1000, jobId: 'j2' }],
      }),
      NOW,
      spec,
    );
    expect(s.work).toEqual({
      stage: 'closingOut',
      sha: A,
      attempt: 2,
      manual: false,
      run: 2,
      fired: true,
      jobId: 'j2',
      startedAt: 1000,
      deadline: 121_000,
      nextCheckAt: 4500,
    });
    expect(s.phase).toBe('ClosingOut');
    expect(s.deployed).toBeUndefined();
  });

  it('a retry waiting for its backoff keeps waiting, with the failure that caused it', () => {
    const s = migrateV1(
      v1({
        phase: 'Failed',
        reason: 'RuntimeFailed: pull backoff; retry 2/3 in 5s',
        lastSucceededSha: undefined,
        retry: { sha: A, attempt: 2, notBefore: 9000 },
        lastError: { reason: 'RuntimeFailed', message: 'pull backoff', at: 4000, sha: A },
        shas: [{ sha: A, firstSeen: 900, attempts: 1, triggeredAt: 1000, reason: 'RuntimeFailed: pull backoff' }],
      }),
      NOW,
      spec,
    );
    expect(s.work).toMatchObject({
      stage: 'backoff',
      sha: A,
      attempt: 2,
      run: 1,
      notBefore: 9000,
      failure: { code: 'RuntimeFailed', message: 'pull backoff' },
      outcomeUnknown: false,
    });
    expect(s.lastError).toEqual({ code: 'RuntimeFailed', message: 'pull backoff', at: 4000, sha: A });
  });

  it('a terminal failure stays Failed with its code; the runtime is not known to be on an older success', () => {
    const s = migrateV1(
      v1({
        phase: 'Failed',
        reason: 'RuntimeFailed: invalid manifest',
        observedSha: B,
        targetSha: B,
        lastTriggeredSha: B,
        lastSucceededSha: A,
        shas: [
          { sha: A, firstSeen: 900, attempts: 1, outcome: 'Succeeded', reason: 'closed out in 2s', finishedAt: 3000 },
          {
            sha: B,
            firstSeen: 3500,
            attempts: 1,
            outcome: 'Failed',
            reason: 'RuntimeFailed: invalid manifest',
            finishedAt: 4000,
          },
        ],
      }),
      NOW,
      spec,
    );
    expect(s.deployed).toBeUndefined();
    expect(s).toMatchObject({ phase: 'Failed', code: 'RuntimeFailed' });
    expect(s.shas[1]?.result).toMatchObject({
      outcome: 'Failed',
      code: 'RuntimeFailed',
      message: 'RuntimeFailed: invalid manifest',
      at: 4000,
    });
  });

  it('keeps a pause, a blocked mirror (with its since), queued cancels and a waiting manual request', () => {
    const s = migrateV1(
      v1({
        paused: { reason: 'freeze', since: 2000 },
        mirrorBlocked: { reason: 'BranchNotFound', message: 'gone', since: 3500 },
        pendingCancels: [{ sha: B, jobId: 'jb' }],
        manualRequest: { reason: 'redeploy', at: 4000 },
        shas: [
          { sha: A, firstSeen: 900, attempts: 1, outcome: 'Succeeded', reason: 'ok', finishedAt: 3000 },
          { sha: B, firstSeen: 3100, attempts: 1, outcome: 'Superseded', supersededBy: A, reason: 'branch advanced' },
        ],
      }),
      NOW,
      spec,
    );
    expect(s).toMatchObject({
      phase: 'Blocked',
      code: 'Paused',
      paused: { reason: 'freeze', since: 2000 },
      mirrorBlocked: { code: 'BranchNotFound', message: 'gone', since: 3500 },
    });
    expect(s.cancels).toEqual([{ sha: B, run: 1, jobId: 'jb' }]);
    expect(s.manualRequest).toEqual({ reason: 'redeploy', at: 4000 });
    expect(s.shas[1]?.result).toMatchObject({ outcome: 'Superseded', code: 'Superseded', by: A });
    expect(nextAction(s, NOW)).toEqual({ kind: 'cancel', sha: B, run: 1, jobId: 'jb' });
  });

  it('a pending trigger (manual or not) stays pending; unknown codes fall back', () => {
    const s = migrateV1(
      v1({
        phase: 'PendingTrigger',
        targetSha: B,
        observedSha: B,
        pendingManual: true,
        lastError: { reason: 'SomethingOld', message: 'x', at: 1 },
      }),
      NOW,
      spec,
    );
    expect(s.work).toMatchObject({ stage: 'pending', sha: B, cause: 'ManualTrigger', manual: true });
    expect(s.lastError?.code).toBe('ActivityFailed');
    const m = migrateV1(v1({ mirrorBlocked: { reason: 'Weird', message: 'x', since: 1 } }), NOW, spec);
    expect(m.mirrorBlocked?.code).toBe('MirrorUnreachable');
  });
});
