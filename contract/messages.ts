// How the world talks to a follower (and a mirror watcher): workflow ids, inputs, signals,
// queries and search attributes. Shared by the workflows, the worker, the CLI and the tests.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Outgoing } from './notify.ts';
import type { FollowerSpec, WatcherSpec } from './spec.ts';
import type { FollowerState, FollowerView, Transition, WatcherState } from './state.ts';

const FOLLOWER_ID_PREFIX = 'branch-follower/';
const WATCHER_ID_PREFIX = 'branch-follower-mirror/';

export const workflowIdFor = (followerId: string): string => `${FOLLOWER_ID_PREFIX}${followerId}`;
/** A follower's page in the Temporal UI (`controller.temporal.uiUrl`). */
export const followerPageUrl = (uiUrl: string, namespace: string, followerId: string): string =>
  `${uiUrl.replace(/\/+$/, '')}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowIdFor(followerId))}`;
/** The follower id a follower's workflow id names, or undefined for any other id. */
export const followerIdOf = (workflowId: string): string | undefined =>
  workflowId.startsWith(FOLLOWER_ID_PREFIX) ? workflowId.slice(FOLLOWER_ID_PREFIX.length) : undefined;
/** One watcher per registry and mirror repository: registries sharing a task queue never share a watcher. */
export const watcherIdFor = (registryId: string, mirror: string): string =>
  `${WATCHER_ID_PREFIX}${registryId}/${mirror}`;
/** The mirror URL a watcher of this registry names, or undefined for any other id. */
export const mirrorOfWatcherId = (registryId: string, workflowId: string): string | undefined => {
  const prefix = watcherIdFor(registryId, '');
  return workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : undefined;
};

export interface FollowerWorkflowInput {
  spec: FollowerSpec;
  /**
   * Carried across continue-as-new. Runs of the previous decision core carried their own shape
   * (no `version`); the workflow converts it.
   */
  state?: FollowerState | Record<string, unknown>;
  /** Notices a run continued as new before its sinks took them: the next run sends them again. */
  notices?: Outgoing[];
}

/** Where a worker takes notification activities: apart from the deploy's, so a slow sink cannot hold a slot it needs. */
export const notificationQueue = (taskQueue: string): string => `${taskQueue}-notifications`;

export interface WatcherWorkflowInput {
  spec: WatcherSpec;
  state?: WatcherState;
}

/**
 * An activity's result with the time it finished, by the worker's clock. Recorded in history with
 * the result, it is what moves the follower's decision clock (see workflows/follower.ts): the
 * clock of the activation that delivers a result is not one replay always reproduces. Absent in
 * results recorded before the decision clock.
 */
export type Stamped<T extends object = object> = T & { at?: number };

export interface TriggerRequest {
  sha?: string;
  reason: string;
}

export const triggerSignal = defineSignal<[TriggerRequest]>('trigger');
/** A wake-up: read the mirror now. `sha`, from a push webhook, is a hint only: read again until the mirror shows it. */
export interface RefreshRequest {
  sha?: string;
}

export const refreshSignal = defineSignal<[RefreshRequest?]>('refresh');
export const pauseSignal = defineSignal<[{ reason: string }]>('pause');
export const resumeSignal = defineSignal<[{ reason?: string }]>('resume');
export const supersedeSignal = defineSignal<[{ sha: string }]>('supersede');
export const reconfigureSignal = defineSignal<[FollowerSpec]>('reconfigure');

export const stateQuery = defineQuery<FollowerView>('state');
export const eventsQuery = defineQuery<Transition[], [{ limit?: number }?]>('events');
/** The spec the follower runs with now (what `plan` compares with the registry). */
export const specQuery = defineQuery<FollowerSpec>('spec');

export const watcherReconfigureSignal = defineSignal<[WatcherSpec]>('reconfigure');
export const watcherStateQuery = defineQuery<WatcherState & { spec: WatcherSpec }>('state');

/**
 * Who started a follower or watcher: the memo key holding its registry's `controller.registryId`.
 * `apply` stops only what its own registry started; the memo carries over continue-as-new.
 */
export const OWNER_MEMO = 'registry';
export const ownerOf = (memo: Record<string, unknown> | undefined): string | undefined => {
  const owner = memo?.[OWNER_MEMO];
  return typeof owner === 'string' ? owner : undefined;
};

export const FollowerIdKey = defineSearchAttributeKey('FollowerId', SearchAttributeType.KEYWORD);
export const FollowerPhaseKey = defineSearchAttributeKey('FollowerPhase', SearchAttributeType.KEYWORD);
export const ObservedShaKey = defineSearchAttributeKey('ObservedSha', SearchAttributeType.KEYWORD);
export const LastSucceededShaKey = defineSearchAttributeKey('LastSucceededSha', SearchAttributeType.KEYWORD);
/** For `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTES = ['FollowerId', 'FollowerPhase', 'ObservedSha', 'LastSucceededSha'] as const;
