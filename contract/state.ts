// A follower's state: what the workflow carries (and continues-as-new with), what the `state`
// query returns, and what `status`, the Temporal UI and the state ConfigMap show.
import type { RuntimePhase, SecretPresence } from './adapter.ts';
import type { Code, MirrorFailureCode } from './codes.ts';
import type { Delivery } from './notify.ts';
import type { ValueSource } from './spec.ts';

export const PHASES = [
  'Observed',
  'Noop',
  'PendingTrigger',
  'Triggering',
  'ClosingOut',
  'Succeeded',
  'Failed',
  'Superseded',
  'Blocked',
] as const;
export type Phase = (typeof PHASES)[number];

export type Outcome = RunResult['outcome'];

/** One deploy goal: a sha, the attempt at it (1…retry.maxAttempts), and whether an operator asked for it. */
interface Goal {
  sha: string;
  attempt: number;
  manual: boolean;
}

/** Why a trigger is pending. */
export type PendingCause = 'NewHead' | 'HeadReturned' | 'RetryDue' | 'ManualTrigger' | 'TriggerOutcomeUnknown';

/**
 * The follower's one piece of work, by stage. A sha is in at most one stage; a trigger fires only
 * from `pending`, and every sha that leaves `triggering` or `closingOut` gets an outcome.
 */
export type Work =
  | (Goal & {
      stage: 'pending';
      cause: PendingCause;
      since: number;
      /** An operator's words, for a manual trigger. */
      reason?: string;
      /** Send under this run's key again (an earlier try did not fire, or may have: `maybeFired`). */
      reuse?: { run: number; maybeFired: boolean };
      /** The adapter could not run; nothing reached the runtime. Tried again at `retryAt`. */
      blocked?: { code: 'AdapterMissing'; message: string; retryAt: number };
      /** The branch has to stay on this sha until then (spec.quietPeriodMs); a move restarts the wait. */
      quietUntil?: number;
    })
  | (Goal & { stage: 'triggering'; run: number; maybeFired: boolean; startedAt: number; deadline: number })
  | (Goal & {
      stage: 'closingOut';
      run: number;
      /** False when the runtime already had the sha (or may have had this key): nothing was fired. */
      fired: boolean;
      /** The key whose job closes this run out, when known (a status naming another key is another run's). */
      triggerId?: string;
      jobId?: string;
      startedAt: number;
      deadline: number;
      nextCheckAt: number;
      /** What the runtime last reported, while it was not (yet) this sha's outcome. */
      runtime?: { phase: RuntimePhase; sha?: string; message?: string };
    })
  | (Goal & {
      stage: 'backoff';
      run: number;
      failure: { code: Code; message: string };
      backoffMs: number;
      notBefore: number;
      /** The failed try's outcome is unknown: the retry goes out under the same key. */
      outcomeUnknown: boolean;
    });
export type Stage = Work['stage'];
export type InFlight = Extract<Work, { stage: 'triggering' | 'closingOut' }>;

export const inFlightOf = (work: Work | undefined): InFlight | undefined =>
  work?.stage === 'triggering' || work?.stage === 'closingOut' ? work : undefined;

/** How a run ended. Every run that leaves `triggering` or `closingOut` gets one. */
export type RunResult = { at: number; message: string } & (
  | { outcome: 'Succeeded'; code: 'ClosedOut' }
  /** The runtime reported the sha Succeeded only after the close-out budget: by `overrunMs`. */
  | { outcome: 'Succeeded'; code: 'ClosedOutOverBudget'; overrunMs: number }
  | { outcome: 'Failed'; code: Code }
  /** The branch moved on (to `by`) before it closed out. */
  | { outcome: 'Superseded'; code: 'Superseded'; by: string }
);

/** One line per sha the follower has seen; `triggeredAt`, `jobId` and `result` describe its latest run. */
export interface ShaRecord {
  sha: string;
  firstSeen: number;
  /** Trigger keys minted for this sha: runs 1…runs (a run adopted from the runtime fires nothing). */
  runs: number;
  triggeredAt?: number;
  /** The runtime's job for the latest run, for `logs` drill-downs. */
  jobId?: string;
  /** How the latest run ended; absent while it is under way, or before the first. */
  result?: RunResult;
}

export interface LastError {
  code: Code;
  message: string;
  at: number;
  sha?: string;
}

export interface Transition {
  at: number;
  from: Phase;
  to: Phase;
  sha?: string;
  code: Code;
  message: string;
}

export interface FollowerState {
  version: 2;
  id: string;
  /** Derived from the rest after every event (core/decide.ts `condition`); kept with the time it began. */
  phase: Phase;
  code: Code;
  message: string;
  phaseSince: number;
  /** When the phase took its current code (absent in states carried from before it: phaseSince). */
  codeSince?: number;
  observedSha?: string;
  observedAt?: number;
  /** The last time the follower read the mirror, whether or not the mirror answered. */
  lastLookAt?: number;
  nextObserveAt: number;
  /** The mirror could not be read: since when, and why. */
  mirrorBlocked?: { code: MirrorFailureCode; message: string; since: number };
  work?: Work;
  /** An operator's trigger, decided at the next mirror read (the head must be confirmed first). */
  manualRequest?: { sha?: string; reason: string; at: number };
  /**
   * A push announced this sha: the mirror is read again, with a short backoff, until it shows it
   * (it may lag the git host) or PUSH_READS_FOR_MS (core/decide.ts) passes.
   */
  awaitedPush?: { sha: string; since: number; reads: number };
  /** The missed-webhook ledger (spec.pushWebhooks): shas pushes announced lately, for the announce window. */
  announced?: { sha: string; at: number }[];
  /** Moves found by reading the mirror that no push has announced yet; missed once the announce window passes. */
  unannounced?: { sha: string; foundAt: number; missedAt: number }[];
  /** When each move no webhook announced was found, for the last MISSED_KEPT_MS. */
  missedWebhooks?: number[];
  paused?: { reason: string; since: number };
  /** The sha the runtime is known to be on: it closed out Succeeded and nothing was triggered since. */
  deployed?: { sha: string; at: number };
  lastTriggeredSha?: string;
  lastSucceededSha?: string;
  lastError?: LastError;
  /**
   * A trigger whose outcome was lost (its worker died, or its command was killed) may still reach
   * the runtime until then — its command dies on its timeout. Nothing fires before it.
   */
  strayTriggerUntil?: number;
  /** Superseded jobs whose cancel is still to be sent. */
  cancels: { sha: string; run: number; jobId?: string }[];
  /** The adapter's secrets as the worker had them at the last trigger (presence and fingerprint only). */
  secrets?: { at: number; entries: SecretPresence[] };
  /** The last delivery to each of the follower's notification sinks (spec.notify). */
  deliveries?: Delivery[];
  /** The last write of the state projection (spec.projection): whether it went through, and why not. */
  projection?: { ok: boolean; at: number; message?: string };
  shas: ShaRecord[];
  events: Transition[];
}

/** What the `state` query returns: the state plus what it means for this spec. */
export interface FollowerView extends Omit<FollowerState, 'events' | 'cancels'> {
  adapter: string;
  branch: string;
  mirror: string;
  /** What the follower works toward: the sha of its work, else the head. */
  targetSha?: string;
  budget: { usedMs?: number; totalMs: number; source: ValueSource };
}

export interface WatcherState {
  /** The heads at the last successful read: branch → sha. */
  heads?: Record<string, string>;
  readAt?: number;
  /** The last read failed: why, and since when. The followers are woken when it works again. */
  failing?: { message: string; since: number };
  /** How many wake-ups it has sent, over its whole life. */
  wakeUps: number;
}
