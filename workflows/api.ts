// The follower's public contract, shared by the workflow, the worker and the client:
// the resolved spec it runs with, the state it exposes, and its signals and queries.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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

/** Where a tunable came from: the YAML path and its file:line, so operators can find it. */
export interface ValueSource {
  path: string;
  file: string;
  line: number;
}

/** An argv template: each element may hold `{placeholder}`s, rendered without a shell. */
export interface CommandTemplate {
  argv: string[];
}

/** An existing CLI, run as argv without a shell. */
export interface CommandAdapterSpec {
  id: string;
  kind: 'command';
  timeoutMs: number;
  maxOutputBytes: number;
  /** Names of worker environment variables passed to the adapter. Never values. */
  env: string[];
  status: CommandTemplate;
  trigger: CommandTemplate;
  cancel?: CommandTemplate;
  logs?: CommandTemplate;
}

export const KUBE_ADAPTER_KINDS = ['tekton-pipelinerun', 'kubernetes-job'] as const;
export type KubeAdapterKind = (typeof KUBE_ADAPTER_KINDS)[number];

/**
 * A built-in adapter that creates one Kubernetes object per trigger from a template: a Tekton
 * PipelineRun or a batch Job, named deterministically so a retried trigger cannot create two.
 */
export interface KubeAdapterSpec {
  id: string;
  kind: KubeAdapterKind;
  timeoutMs: number;
  /** Always empty: the runtime's objects carry their own credentials. Kept for a uniform `secrets` view. */
  env: string[];
  /** Where the objects are created (placeholders already rendered for this follower). */
  namespace: string;
  /** The object template, parsed from `templateFile`; `{sha}` and `{branch}` are rendered at trigger time. */
  template: Record<string, unknown>;
  templateFile: string;
}

export type AdapterSpec = CommandAdapterSpec | KubeAdapterSpec;

/** How a close-out check decides, per kind. Kubernetes checks read the runtime's own objects. */
export type CheckRule =
  | { kind: 'adapter-status' }
  /** The PipelineRun / Job the trigger created (its name is the in-flight job id). */
  | { kind: 'tekton-pipelinerun'; retryable: boolean }
  | { kind: 'kubernetes-job'; retryable: boolean }
  /** A Deployment on the sha (an annotation, or a container's image tag) with its rollout complete. */
  | {
      kind: 'deployment-rollout';
      namespace: string;
      name: string;
      revision: { annotation: string } | { imageTag: { container: string } };
      retryable: boolean;
    }
  /** An Argo CD Application synced to the sha (`status.sync.revision`) and Healthy. */
  | { kind: 'argocd-application'; namespace: string; name: string; retryable: boolean };
export type CheckKind = CheckRule['kind'];

export type CloseoutSpec = CheckRule & {
  check: string;
  budgetMs: number;
  budgetSource: ValueSource;
  pollIntervalMs: number;
};

export interface RetrySpec {
  maxAttempts: number;
  initialBackoffMs: number;
  backoffCoefficient: number;
  maxBackoffMs: number;
}

export interface LoopSpec {
  /** Workflow iterations before continue-as-new (the server may suggest it sooner). */
  continueAsNewAfter: number;
  eventsKept: number;
  shasKept: number;
}

export interface ActivitySpec {
  heartbeatTimeoutMs: number;
  /** Attempts Temporal makes when an activity is lost (worker died, timed out). */
  maxAttempts: number;
  /** Cap on Temporal's backoff between those attempts (it doubles from 1s otherwise, up to 100s). */
  maxRetryIntervalMs: number;
}

/** Everything one follower needs, resolved from the registry with its `defaults:`. */
export interface FollowerSpec {
  id: string;
  source: { mirror: string; branch: string };
  target: { configRef: string; params: Record<string, string> };
  adapter: AdapterSpec;
  pollIntervalMs: number;
  observeTimeoutMs: number;
  /**
   * Set when a mirror watcher reads this follower's branch every pollInterval and wakes it on a
   * move (observe.mode: watch): the follower then reads the mirror itself only when woken and every
   * fallbackIntervalMs. Absent: it reads every pollInterval (observe.mode: poll).
   */
  watched?: { fallbackIntervalMs: number };
  closeout: CloseoutSpec;
  retry: RetrySpec;
  loop: LoopSpec;
  activity: ActivitySpec;
  /** Where the follower's compact state is projected: a key in this ConfigMap (controller.kubernetes). */
  projection?: { namespace: string; configMap: string };
  /** The registry file the spec was read from, for messages. */
  registry: string;
}

export interface InFlight {
  sha: string;
  attempt: number;
  manual: boolean;
  startedAt: number;
  deadline: number;
  jobId?: string;
  /** What the runtime last said it is on, when that is not our sha. */
  runtimeSha?: string;
  runtimeMessage?: string;
}

export type Outcome = 'Succeeded' | 'Failed' | 'Superseded';

/** One line per sha the follower has seen: the basis of "never trigger a sha twice". */
export interface ShaRecord {
  sha: string;
  firstSeen: number;
  attempts: number;
  triggeredAt?: number;
  /** The runtime's job for the latest attempt, for `logs` drill-downs. */
  jobId?: string;
  finishedAt?: number;
  outcome?: Outcome;
  reason?: string;
  supersededBy?: string;
}

export interface LastError {
  reason: string;
  message: string;
  at: number;
  sha?: string;
}

export interface Transition {
  at: number;
  from: Phase;
  to: Phase;
  sha?: string;
  reason: string;
}

export interface FollowerState {
  id: string;
  phase: Phase;
  phaseSince: number;
  /** Why the follower is in this phase (always set for Blocked and Failed). */
  reason: string;
  observedSha?: string;
  observedAt?: number;
  /** The last time the follower read the mirror, whether or not the mirror answered. */
  lastLookAt?: number;
  targetSha?: string;
  lastTriggeredSha?: string;
  lastSucceededSha?: string;
  inFlight?: InFlight;
  lastError?: LastError;
  paused?: { reason: string; since: number };
  /** The mirror could not be read: since when, and why. */
  mirrorBlocked?: { reason: string; message: string; since: number };
  /** The adapter's secrets as the worker had them at the last trigger (presence and fingerprint only). */
  secrets?: { at: number; entries: SecretPresence[] };
  /** The last write of the state projection (spec.projection): whether it went through, and why not. */
  projection?: { ok: boolean; at: number; message?: string };
  /** A trigger waiting to run again: after a retryable failure's backoff, or after the adapter could not run. */
  retry?: { sha: string; attempt: number; notBefore: number; manual?: boolean };
  manualRequest?: { sha?: string; reason: string; at: number };
  /** The pending trigger was asked for by an operator (it may run while paused). */
  pendingManual?: boolean;
  pendingCancels: { sha: string; jobId?: string }[];
  nextObserveAt: number;
  nextStatusAt?: number;
  shas: ShaRecord[];
  events: Transition[];
}

/** What the `state` query returns: the state plus figures derived at query time. */
export interface FollowerView extends Omit<FollowerState, 'shas' | 'events' | 'pendingCancels'> {
  adapter: string;
  branch: string;
  mirror: string;
  budget: { usedMs?: number; totalMs: number; source: ValueSource };
  /** Measured with the workflow's clock, which stands still between its steps. */
  stateAgeMs: number;
  shas: ShaRecord[];
  drillDown: string[];
}

export interface FollowerWorkflowInput {
  spec: FollowerSpec;
  /** Carried across continue-as-new. */
  state?: FollowerState;
}

export interface TriggerRequest {
  sha?: string;
  reason: string;
}

export const triggerSignal = defineSignal<[TriggerRequest]>('trigger');
export const refreshSignal = defineSignal<[]>('refresh');
export const pauseSignal = defineSignal<[{ reason: string }]>('pause');
export const resumeSignal = defineSignal<[{ reason?: string }]>('resume');
export const supersedeSignal = defineSignal<[{ sha: string }]>('supersede');
export const reconfigureSignal = defineSignal<[FollowerSpec]>('reconfigure');

export const stateQuery = defineQuery<FollowerView>('state');
export const eventsQuery = defineQuery<Transition[], [{ limit?: number }?]>('events');
/** The spec the follower runs with now (what `plan` compares with the registry). */
export const specQuery = defineQuery<FollowerSpec>('spec');

export const FollowerIdKey = defineSearchAttributeKey('FollowerId', SearchAttributeType.KEYWORD);
export const FollowerPhaseKey = defineSearchAttributeKey('FollowerPhase', SearchAttributeType.KEYWORD);
export const ObservedShaKey = defineSearchAttributeKey('ObservedSha', SearchAttributeType.KEYWORD);
export const LastSucceededShaKey = defineSearchAttributeKey('LastSucceededSha', SearchAttributeType.KEYWORD);
/** For `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTES = ['FollowerId', 'FollowerPhase', 'ObservedSha', 'LastSucceededSha'] as const;

export const workflowIdFor = (followerId: string): string => `branch-follower/${followerId}`;

/**
 * One mirror watcher per mirror repository (observe.mode: watch): it reads every branch head of
 * the repository each pollInterval and wakes (a `refresh` signal) only the followers whose branch
 * moved, so an idle follower costs nothing between its fallback reads.
 */
export interface WatcherSpec {
  mirror: string;
  pollIntervalMs: number;
  observeTimeoutMs: number;
  /** The enabled followers of this repository, by id, with the branch each follows. */
  followers: { id: string; branch: string }[];
  activity: ActivitySpec;
  loop: Pick<LoopSpec, 'continueAsNewAfter'>;
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

export interface WatcherWorkflowInput {
  spec: WatcherSpec;
  state?: WatcherState;
}

export const watcherReconfigureSignal = defineSignal<[WatcherSpec]>('reconfigure');
export const watcherStateQuery = defineQuery<WatcherState & { spec: WatcherSpec }>('state');
export const watcherIdFor = (mirror: string): string => `branch-follower-mirror/${mirror}`;

/** Activity failure types the workflow tells apart. */
export const FailureType = {
  MirrorUnreachable: 'MirrorUnreachable',
  BranchNotFound: 'BranchNotFound',
  InvalidObservation: 'InvalidObservation',
  AdapterMissing: 'AdapterMissing',
  AdapterTimeout: 'AdapterTimeout',
  AdapterFailed: 'AdapterFailed',
  InvalidStatus: 'InvalidStatus',
} as const;

/** The adapter `status` contract: one compact JSON object. */
export const RUNTIME_PHASES = ['Idle', 'Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type RuntimePhase = (typeof RUNTIME_PHASES)[number];
export interface RuntimeStatus {
  phase: RuntimePhase;
  sha?: string;
  jobId?: string;
  message?: string;
  retryable?: boolean;
}

/** A secret as operators may see it: its name, whether the worker has it, a fingerprint. Never the value. */
export interface SecretPresence {
  name: string;
  present: boolean;
  /** `sha256:` and the first 12 hex digits of the value's SHA-256. */
  fingerprint?: string;
}

export interface TriggerResult {
  jobId?: string;
  /** The runtime was already working on (or done with) this sha: nothing was fired. */
  alreadyRunning: boolean;
  /** The adapter's declared env names, as the worker that ran the trigger has them. */
  secrets: SecretPresence[];
}
