// Every reason a follower gives, as a code. A phase, a transition, a failure and an activity
// error each carry one of these plus a human message; code decides, the message explains. The
// table in docs/codes.md is generated from this list (`npm run docs`) and checked by a test.

export const CODES = {
  // --- observing the mirror
  Starting: { phase: 'Observed', meaning: 'The follower started; its first read of the mirror is pending.' },
  AwaitingRead: {
    phase: 'Observed',
    meaning: 'The follower decides again after its next mirror read (after a resume, a reconfiguration or a wake-up).',
  },
  MirrorUnreachable: {
    phase: 'Blocked',
    meaning:
      'The mirror did not answer (or answered with an error). Nothing is triggered until it does; the outage start is kept.',
  },
  BranchNotFound: {
    phase: 'Blocked',
    meaning: 'The branch does not exist on the mirror. A recreated branch is decided like any other head.',
  },
  InvalidObservation: { phase: 'Blocked', meaning: 'The mirror answered with something that is not a commit sha.' },
  MirrorAdvertisementTooLarge: {
    phase: 'Blocked',
    meaning:
      "The mirror's answer passed the 64 MiB cap before it ended: a server sending garbage, or one that speaks only git protocol v0 and advertises a flood of refs. Nothing is triggered until a read fits; every read tries again (cleaning up the refs lifts it).",
  },
  MirrorRecovered: {
    phase: null,
    meaning: 'The mirror answers again after an outage (the message says for how long).',
  },
  // --- deciding
  NewHead: {
    phase: 'PendingTrigger',
    meaning: 'The head is a sha this follower never triggered: it is about to be triggered.',
  },
  HeadReturned: {
    phase: 'PendingTrigger',
    meaning:
      'The head is a sha triggered before whose run did not leave the runtime on it (superseded, or deployed and then moved away from): it is triggered again, as a new run.',
  },
  RetryDue: {
    phase: 'PendingTrigger',
    meaning: 'A retryable failure waited out its backoff; the retry fires after a fresh mirror read confirms the head.',
  },
  ManualTrigger: {
    phase: 'PendingTrigger',
    meaning: 'An operator asked to deploy the head again (the `trigger` signal); it fires as a new run.',
  },
  TriggerOutcomeUnknown: {
    phase: 'PendingTrigger',
    meaning:
      'A trigger may or may not have reached the runtime (its worker was lost, or its command was killed). It is sent again under the same key, and not fired if the runtime names the sha.',
  },
  Paused: {
    phase: 'Blocked',
    meaning:
      'Paused by an operator: nothing is triggered or superseded until `resume`; an in-flight close-out still finishes.',
  },
  Resumed: { phase: null, meaning: 'An operator resumed the follower; it reads the mirror and decides at once.' },
  AdapterMissing: {
    phase: 'Blocked',
    meaning:
      'The adapter cannot run (command not found or not executable, no Kubernetes access). Nothing reached the runtime; it is tried again every poll interval without spending an attempt.',
  },
  // --- triggering and closing out
  Triggering: {
    phase: 'Triggering',
    meaning: 'The trigger activity is running: status first, then the trigger unless the runtime already has the sha.',
  },
  TriggerAccepted: {
    phase: 'ClosingOut',
    meaning: 'The runtime accepted the trigger; the close-out check runs until success, failure or the budget.',
  },
  AlreadyOnRuntime: {
    phase: 'ClosingOut',
    meaning:
      'The runtime was already working on (or done with) the sha, or may have been given this very trigger: nothing was fired; the close-out check decides.',
  },
  ClosedOut: {
    phase: 'Succeeded',
    meaning: 'The close-out check saw the runtime on the sha, Succeeded, within the budget.',
  },
  ClosedOutOverBudget: {
    phase: 'Succeeded',
    meaning:
      'The runtime reported the sha Succeeded, but only after the close-out budget: the overrun is recorded and shown.',
  },
  RuntimeFailed: {
    phase: 'Failed',
    meaning:
      'The runtime reported the sha Failed. Retried after backoff when the runtime says it is retryable and attempts are left.',
  },
  BudgetExceeded: {
    phase: 'Failed',
    meaning:
      'A status read taken after the close-out deadline did not show the sha Succeeded. Not retried automatically.',
  },
  AdapterFailed: {
    phase: 'Failed',
    meaning: 'An adapter command exited non-zero, or the Kubernetes API refused a request.',
  },
  AdapterTimeout: {
    phase: 'Failed',
    meaning: 'An adapter command did not finish within its timeout and was killed with its process group.',
  },
  InvalidStatus: {
    phase: 'Failed',
    meaning:
      "The adapter's status output broke the contract (not one JSON object of the documented shape). Not retried.",
  },
  ActivityFailed: {
    phase: 'Failed',
    meaning: 'An activity failed outside the adapter (its worker was lost past its retries, or it timed out).',
  },
  Superseded: {
    phase: null,
    meaning:
      'The branch moved on before the sha closed out; its job is cancelled when the adapter can, and the new head follows.',
  },
  QuietPeriod: {
    phase: 'PendingTrigger',
    meaning:
      'A new head waits for the branch to stay still for `quietPeriod`, so a burst of pushes becomes one deploy; another push restarts the wait.',
  },
  MirrorBehindPush: {
    phase: null,
    meaning:
      'A push announced a sha (its webhook payload) that the mirror still did not show after the follower read it again for a while; it reads at its usual cadence from then on.',
  },
  MissedWebhook: {
    phase: null,
    meaning:
      'The follower found a move of its branch by reading the mirror, and no push webhook announced it within `controller.webhooks.announceWindow` (5m by default): the webhook is probably not set up, or not reaching the receiver. Counted in `status` for 24 h.',
  },
  HeadMovedWhilePaused: {
    phase: null,
    meaning:
      'The branch moved during a pause while a sha was in flight; the in-flight close-out finishes and the new head waits for `resume`.',
  },
  CancelSent: { phase: null, meaning: "The adapter's cancel for a superseded job ran." },
  CancelFailed: {
    phase: null,
    meaning: "The adapter's cancel for a superseded job failed (the message says why); nothing else depends on it.",
  },
  NotificationFailed: {
    phase: null,
    meaning:
      "A notice could not be delivered to a `notify` sink within its retries (the message says which sink and why; `status` shows each sink's last delivery). Deploys never wait on it.",
  },
  // --- operators
  ManualNotHead: { phase: null, meaning: 'A manual trigger named a sha that is not the head on the mirror; refused.' },
  ManualWhilePaused: { phase: null, meaning: 'A manual trigger arrived while paused; refused (resume first).' },
  ManualInFlight: { phase: null, meaning: 'A manual trigger for the sha already in flight; ignored.' },
  Reconfigured: { phase: null, meaning: 'The follower took a new spec from the registry.' },
  // --- bookkeeping
  ProjectionFailed: {
    phase: null,
    meaning: 'The state ConfigMap could not be written; tried again on the next iteration.',
  },
  ProjectionRecovered: { phase: null, meaning: 'The state ConfigMap is written again.' },
  Migrated: { phase: null, meaning: 'State carried over from a run of the previous decision core, converted.' },
  Recorded: {
    phase: null,
    meaning: 'An event recorded by the previous decision core, which kept no codes (its message is kept as it was).',
  },
} as const satisfies Record<string, { phase: string | null; meaning: string }>;

export type Code = keyof typeof CODES;
export const isCode = (value: unknown): value is Code => typeof value === 'string' && Object.hasOwn(CODES, value);

/** Codes an activity failure can carry (its ApplicationFailure type). */
export const FailureCode = {
  MirrorUnreachable: 'MirrorUnreachable',
  BranchNotFound: 'BranchNotFound',
  InvalidObservation: 'InvalidObservation',
  MirrorAdvertisementTooLarge: 'MirrorAdvertisementTooLarge',
  AdapterMissing: 'AdapterMissing',
  AdapterTimeout: 'AdapterTimeout',
  AdapterFailed: 'AdapterFailed',
  InvalidStatus: 'InvalidStatus',
  NotificationFailed: 'NotificationFailed',
} as const satisfies Record<string, Code>;
export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];
/** The codes a failed mirror read blocks a follower with (any other failure of the read is MirrorUnreachable). */
export const MIRROR_FAILURE_CODES = [
  'MirrorUnreachable',
  'BranchNotFound',
  'InvalidObservation',
  'MirrorAdvertisementTooLarge',
] as const satisfies readonly Code[];
export type MirrorFailureCode = (typeof MIRROR_FAILURE_CODES)[number];

/**
 * What an activity failure says besides its code: whether the follower's YAML retry policy may
 * try again, and whether a trigger may have reached the runtime before it failed.
 */
export interface FailureDetails {
  retryable: boolean;
  /** A trigger command that was started and did not report (killed on timeout): it may have been accepted. */
  mayHaveReached?: boolean;
  /** When the activity failed, by the worker's clock (a Stamped result's `at`). */
  at?: number;
}
