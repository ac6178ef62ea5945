// What a follower (and a mirror watcher) runs with: the registry entry resolved with its
// `defaults:`. Produced by config/, carried in workflow inputs, read by activities and the CLI.
import type { Sink } from './notify.ts';
import type { KubeAdapterKind } from './kube-kinds/index.ts';

export type { KubeAdapterKind };

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

/**
 * A built-in adapter that creates one Kubernetes object per trigger from a template (of a kind in
 * kube-kinds/: a Tekton PipelineRun, a batch Job), named by the trigger's key so a retried trigger
 * cannot create two.
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

/** Whether the adapter can cancel superseded work: a `cancel` command, or built in for Kubernetes adapters. */
export const canCancel = (a: AdapterSpec): boolean => a.kind !== 'command' || Boolean(a.cancel);

/** How a close-out check decides, per kind. Kubernetes checks read the runtime's own objects. */
export type CheckRule =
  | { kind: 'adapter-status' }
  /** The run a built-in adapter's trigger created (its name is the in-flight job id); named like the adapter kind. */
  | { kind: KubeAdapterKind; retryable: boolean }
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

/**
 * How the worker authenticates to a mirror: the names of environment variables (filled from
 * Secrets in the cluster) that hold the credential. Never a value: not in the registry, the spec,
 * workflow inputs or history.
 */
export type MirrorAuth =
  /** HTTP(S): `Authorization: Bearer $<bearerTokenEnv>`. */
  | { bearerTokenEnv: string }
  /** HTTP(S): basic authentication from two variables. */
  | { basicEnv: { username: string; password: string } }
  /** ssh://: the path of a private key file (a mounted Secret) in this variable. */
  | { sshKeyFileEnv: string };

/** Everything one follower needs, resolved from the registry with its `defaults:`. */
export interface FollowerSpec {
  id: string;
  source: { mirror: string; branch: string; auth?: MirrorAuth };
  target: { configRef: string; params: Record<string, string> };
  adapter: AdapterSpec;
  pollIntervalMs: number;
  observeTimeoutMs: number;
  /** A new head is triggered once the branch has stayed on it this long (a burst of pushes, one deploy); absent: at once. */
  quietPeriodMs?: number;
  /** Push webhooks are received (controller.webhooks): a move found by reading that none announced within the window is a missed webhook. */
  pushWebhooks?: { announceWindowMs: number };
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
  /** The sinks told about this follower's deploys (the registry's `notify:`), and the UI to link to. */
  notify?: { sinks: Sink[]; temporalUiUrl?: string };
  /** Where the follower's compact state is projected: a key in this ConfigMap (controller.kubernetes). */
  projection?: { namespace: string; configMap: string };
}

/**
 * One mirror watcher per mirror repository (observe.mode: watch): it reads every branch head of
 * the repository each pollInterval and wakes (a `refresh` signal) only the followers whose branch
 * moved, so an idle follower costs nothing between its fallback reads.
 */
export interface WatcherSpec {
  mirror: string;
  /** The credentials of the mirror (the same for every follower of it). */
  auth?: MirrorAuth;
  pollIntervalMs: number;
  observeTimeoutMs: number;
  /** The enabled followers of this repository, by id, with the branch each follows. */
  followers: { id: string; branch: string }[];
  activity: ActivitySpec;
  loop: Pick<LoopSpec, 'continueAsNewAfter'>;
}
