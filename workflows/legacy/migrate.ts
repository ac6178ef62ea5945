// Converts a state of the decision core v1 (carried through continue-as-new, or handed over by
// follower-v1.ts at the first step a running follower takes on the new code) into the v2 shape.
import { isCode, type Code, type MirrorFailureCode } from '../../contract/codes.ts';
import type { FollowerSpec } from '../../contract/spec.ts';
import type { FollowerState, RunResult, ShaRecord, Work } from '../../contract/state.ts';
import { reduce } from '../../core/decide.ts';
import type { FollowerStateV1, ShaRecordV1 } from './state-v1.ts';

const MIRROR_CODES: readonly string[] = [
  'MirrorUnreachable',
  'BranchNotFound',
  'InvalidObservation',
] satisfies MirrorFailureCode[];

/** v1 wrote reasons as `Code: message`; the code is kept when it is one we know. */
function codeOf(reason: string | undefined, fallback: Code): Code {
  const head = reason?.split(':')[0];
  return isCode(head) ? head : fallback;
}

export function migrateV1(v1: FollowerStateV1, now: number, spec: FollowerSpec): FollowerState {
  const runsOf = (sha: string): number => v1.shas.find((r) => r.sha === sha)?.attempts ?? 1;
  const resultOf = (r: ShaRecordV1): RunResult | undefined => {
    const ended = { at: r.finishedAt ?? r.triggeredAt ?? r.firstSeen, message: r.reason ?? '' };
    switch (r.outcome) {
      case 'Succeeded':
        return { ...ended, outcome: 'Succeeded', code: 'ClosedOut' };
      case 'Superseded':
        return { ...ended, outcome: 'Superseded', code: 'Superseded', by: r.supersededBy ?? '' };
      case 'Failed':
        return { ...ended, outcome: 'Failed', code: codeOf(r.reason, 'RuntimeFailed') };
      case undefined:
        return undefined;
    }
  };
  const shas: ShaRecord[] = v1.shas.map((r) => {
    const result = resultOf(r);
    return {
      sha: r.sha,
      firstSeen: r.firstSeen,
      runs: r.attempts,
      ...(r.triggeredAt !== undefined ? { triggeredAt: r.triggeredAt } : {}),
      ...(r.jobId ? { jobId: r.jobId } : {}),
      ...(result ? { result } : {}),
    };
  });

  let work: Work | undefined;
  if (v1.inFlight) {
    const f = v1.inFlight;
    work = {
      stage: 'closingOut',
      sha: f.sha,
      attempt: f.attempt,
      manual: f.manual,
      run: runsOf(f.sha),
      fired: true,
      ...(f.jobId ? { jobId: f.jobId } : {}),
      startedAt: f.startedAt,
      deadline: f.deadline,
      nextCheckAt: v1.nextStatusAt ?? now,
    };
  } else if (v1.retry) {
    const r = v1.retry;
    const failure = {
      code: codeOf(v1.lastError?.reason, 'RuntimeFailed'),
      message: v1.lastError?.message ?? v1.reason,
    };
    work = {
      stage: 'backoff',
      sha: r.sha,
      attempt: r.attempt,
      manual: Boolean(r.manual),
      run: runsOf(r.sha),
      failure,
      backoffMs: 0,
      notBefore: r.notBefore,
      outcomeUnknown: false,
    };
  } else if (v1.phase === 'PendingTrigger' && v1.targetSha) {
    work = {
      stage: 'pending',
      sha: v1.targetSha,
      attempt: 1,
      manual: Boolean(v1.pendingManual),
      cause: v1.pendingManual ? 'ManualTrigger' : 'NewHead',
      since: now,
    };
  }

  // v1 knew the runtime on its last success only when nothing was triggered after it.
  const deployed =
    !work && v1.lastSucceededSha && v1.lastTriggeredSha === v1.lastSucceededSha
      ? { sha: v1.lastSucceededSha, at: v1.shas.find((r) => r.sha === v1.lastSucceededSha)?.finishedAt ?? now }
      : undefined;
  const mirror = v1.mirrorBlocked;

  const state: FollowerState = {
    version: 2,
    id: v1.id,
    phase: v1.phase,
    code: 'Recorded',
    message: v1.reason,
    phaseSince: v1.phaseSince,
    ...(v1.observedSha ? { observedSha: v1.observedSha } : {}),
    ...(v1.observedAt !== undefined ? { observedAt: v1.observedAt } : {}),
    ...(v1.lastLookAt !== undefined ? { lastLookAt: v1.lastLookAt } : {}),
    nextObserveAt: v1.nextObserveAt,
    ...(mirror
      ? {
          mirrorBlocked: {
            code: (MIRROR_CODES.includes(mirror.reason) ? mirror.reason : 'MirrorUnreachable') as MirrorFailureCode,
            message: mirror.message,
            since: mirror.since,
          },
        }
      : {}),
    ...(work ? { work } : {}),
    ...(v1.manualRequest ? { manualRequest: v1.manualRequest } : {}),
    ...(v1.paused ? { paused: v1.paused } : {}),
    ...(deployed ? { deployed } : {}),
    ...(v1.lastTriggeredSha ? { lastTriggeredSha: v1.lastTriggeredSha } : {}),
    ...(v1.lastSucceededSha ? { lastSucceededSha: v1.lastSucceededSha } : {}),
    ...(v1.lastError
      ? {
          lastError: {
            code: codeOf(v1.lastError.reason, 'ActivityFailed'),
            message: v1.lastError.message,
            at: v1.lastError.at,
            ...(v1.lastError.sha ? { sha: v1.lastError.sha } : {}),
          },
        }
      : {}),
    cancels: v1.pendingCancels.map((c) => ({ sha: c.sha, run: runsOf(c.sha), ...(c.jobId ? { jobId: c.jobId } : {}) })),
    ...(v1.secrets ? { secrets: v1.secrets } : {}),
    ...(v1.projection ? { projection: v1.projection } : {}),
    shas,
    events: [
      ...v1.events.map((e) => ({
        at: e.at,
        from: e.from,
        to: e.to,
        ...(e.sha ? { sha: e.sha } : {}),
        code: 'Recorded' as const,
        message: e.reason,
      })),
      {
        at: now,
        from: v1.phase,
        to: v1.phase,
        code: 'Migrated' as const,
        message: 'state carried over from the decision core v1',
      },
    ],
  };
  // A wake-up re-derives the condition (and logs it) and makes the follower read the mirror now.
  return reduce(state, { type: 'refresh' }, now, spec);
}
