// The compact state a follower projects into the state ConfigMap: what a `kubectl get` reader
// needs to see where a follower stands. Never a secret: not even the presence/fingerprint list.
import type { FollowerState } from '../contract/state.ts';

export interface ProjectedState {
  phase: string;
  code: string;
  message: string;
  since: string;
  observedSha?: string;
  targetSha?: string;
  lastTriggeredSha?: string;
  lastSucceededSha?: string;
  work?: { stage: string; sha: string; attempt: number; jobId?: string; deadline?: string };
  lastError?: { code: string; message: string; at: string };
  paused?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** One line of JSON; equal states give equal strings, so an unchanged state is never rewritten. */
export function projectionEntry(s: FollowerState): string {
  const w = s.work;
  const p: ProjectedState = {
    phase: s.phase,
    code: s.code,
    message: s.message,
    since: iso(s.phaseSince),
    observedSha: s.observedSha,
    targetSha: w?.sha ?? s.observedSha,
    lastTriggeredSha: s.lastTriggeredSha,
    lastSucceededSha: s.lastSucceededSha,
    work: w && {
      stage: w.stage,
      sha: w.sha,
      attempt: w.attempt,
      jobId: w.stage === 'closingOut' ? w.jobId : undefined,
      deadline: w.stage === 'closingOut' || w.stage === 'triggering' ? iso(w.deadline) : undefined,
    },
    lastError: s.lastError && { code: s.lastError.code, message: s.lastError.message, at: iso(s.lastError.at) },
    paused: s.paused?.reason,
  };
  return JSON.stringify(p);
}
