// The adapter contract (docs/adapters.md): what an adapter's `status` reports, what a trigger
// returns, and the one rule that keeps a trigger at most once per key. Pure: the activities, the
// decision core and the tests' simulated runtime all apply the same rule.

/** The adapter `status` contract: one compact JSON object. */
export const RUNTIME_PHASES = ['Idle', 'Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type RuntimePhase = (typeof RUNTIME_PHASES)[number];
export interface RuntimeStatus {
  phase: RuntimePhase;
  /** The sha the runtime is on, or working on. */
  sha?: string;
  jobId?: string;
  /** The trigger key of the job the status describes, when the runtime echoes it (`{triggerId}`). */
  triggerId?: string;
  message?: string;
  retryable?: boolean;
}

/** A secret as operators may see it: its name, whether the worker has it, a fingerprint. Never the value. */
export interface SecretPresence {
  name: string;
  present: boolean;
  /** `hmac-sha256:` and 12 hex digits of the value's HMAC under the workers' fingerprint key; absent without a key. */
  fingerprint?: string;
}

export interface TriggerResult {
  /** Whether the trigger command ran (or the run object was created) by this call. */
  fired: boolean;
  /** The trigger key of the job to close out: ours when fired, the runtime's own when it already had the sha (if it echoes one). */
  triggerId?: string;
  jobId?: string;
  /** `!fired`, for follower runs recorded before the decision core v2 (they read this field). */
  alreadyRunning: boolean;
  /** The adapter's declared env names, as the worker that ran the trigger has them. */
  secrets: SecretPresence[];
}

/** What the follower asks of one trigger. */
export interface TriggerAsk {
  sha: string;
  /** The trigger key: (follower, sha, run). */
  triggerId: string;
  /** An operator's redeploy: a finished deploy of the sha does not count as done. */
  manual: boolean;
  /**
   * An earlier try of this very key may have reached the runtime (a retried activity, or a trigger
   * whose outcome was lost): then any job of the sha, Failed included, may be ours.
   */
  maybeFired: boolean;
}

export type TriggerPlan =
  { fire: true } | { fire: false; because: 'SameKey' | 'MayHaveFired' | 'InProgress' | 'AlreadyDeployed' };

/**
 * At most once per key: decided from the runtime's status read just before the trigger.
 * - it names another sha, or none: fire;
 * - it echoes this key: it has this trigger already;
 * - the key may have fired before: any job of the sha may be ours (a job that failed at once
 *   looks like an old failure), so nothing fires — the close-out check decides;
 * - a job of the sha is pending or running: it is the deploy we want;
 * - it is on the sha and Succeeded: done already, unless an operator asked for a redeploy.
 */
export function planTrigger(status: RuntimeStatus, ask: TriggerAsk): TriggerPlan {
  if (status.sha !== ask.sha) return { fire: true };
  if (status.triggerId !== undefined && status.triggerId === ask.triggerId) return { fire: false, because: 'SameKey' };
  if (ask.maybeFired) return { fire: false, because: 'MayHaveFired' };
  if (status.phase === 'Pending' || status.phase === 'Running') return { fire: false, because: 'InProgress' };
  if (status.phase === 'Succeeded' && !ask.manual) return { fire: false, because: 'AlreadyDeployed' };
  return { fire: true };
}
