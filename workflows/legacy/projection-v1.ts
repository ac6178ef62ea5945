// The state ConfigMap entry of the decision core v1, frozen with follower-v1.ts.
import type { FollowerStateV1 as FollowerState } from './state-v1.ts';

interface ProjectedState {
  phase: string;
  reason: string;
  since: string;
  observedSha?: string;
  targetSha?: string;
  lastTriggeredSha?: string;
  lastSucceededSha?: string;
  inFlight?: { sha: string; jobId?: string; attempt: number; startedAt: string; deadline: string };
  lastError?: { reason: string; message: string; at: string };
  paused?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** One line of JSON; equal states give equal strings, so an unchanged state is never rewritten. */
export function projectionEntryV1(s: FollowerState): string {
  const p: ProjectedState = {
    phase: s.phase,
    reason: s.reason,
    since: iso(s.phaseSince),
    observedSha: s.observedSha,
    targetSha: s.targetSha,
    lastTriggeredSha: s.lastTriggeredSha,
    lastSucceededSha: s.lastSucceededSha,
    inFlight: s.inFlight && {
      sha: s.inFlight.sha,
      jobId: s.inFlight.jobId,
      attempt: s.inFlight.attempt,
      startedAt: iso(s.inFlight.startedAt),
      deadline: iso(s.inFlight.deadline),
    },
    lastError: s.lastError && { reason: s.lastError.reason, message: s.lastError.message, at: iso(s.lastError.at) },
    paused: s.paused?.reason,
  };
  return JSON.stringify(p);
}
