// The state shape of the decision core v1 (until 0.1.0): kept so runs recorded before the v2
// core replay as they were, and so their carried state can be converted (migrate.ts).
import type { SecretPresence } from '../../contract/adapter.ts';
import type { Phase } from '../../contract/state.ts';

export interface InFlightV1 {
  sha: string;
  attempt: number;
  manual: boolean;
  startedAt: number;
  deadline: number;
  jobId?: string;
  runtimeSha?: string;
  runtimeMessage?: string;
}

export interface ShaRecordV1 {
  sha: string;
  firstSeen: number;
  attempts: number;
  triggeredAt?: number;
  jobId?: string;
  finishedAt?: number;
  outcome?: 'Succeeded' | 'Failed' | 'Superseded';
  reason?: string;
  supersededBy?: string;
}

export interface TransitionV1 {
  at: number;
  from: Phase;
  to: Phase;
  sha?: string;
  reason: string;
}

export interface FollowerStateV1 {
  id: string;
  phase: Phase;
  phaseSince: number;
  reason: string;
  observedSha?: string;
  observedAt?: number;
  lastLookAt?: number;
  targetSha?: string;
  lastTriggeredSha?: string;
  lastSucceededSha?: string;
  inFlight?: InFlightV1;
  lastError?: { reason: string; message: string; at: number; sha?: string };
  paused?: { reason: string; since: number };
  mirrorBlocked?: { reason: string; message: string; since: number };
  secrets?: { at: number; entries: SecretPresence[] };
  projection?: { ok: boolean; at: number; message?: string };
  retry?: { sha: string; attempt: number; notBefore: number; manual?: boolean };
  manualRequest?: { sha?: string; reason: string; at: number };
  pendingManual?: boolean;
  pendingCancels: { sha: string; jobId?: string }[];
  nextObserveAt: number;
  nextStatusAt?: number;
  shas: ShaRecordV1[];
  events: TransitionV1[];
}

/** v1 states carry no `version`. */
export const isStateV1 = (state: unknown): state is FollowerStateV1 =>
  typeof state === 'object' &&
  state !== null &&
  !('version' in state) &&
  Array.isArray((state as FollowerStateV1).pendingCancels);
