// Starts one workflow per enabled follower, idempotently: signal-with-start delivers the spec
// as a `reconfigure` to a running follower (a no-op when unchanged) and starts a missing one.
import type { Client } from '@temporalio/client';
import { parseDuration } from '../config/duration.ts';
import type { Registry } from '../config/registry.ts';
import {
  FollowerIdKey,
  OWNER_MEMO,
  reconfigureSignal,
  SEARCH_ATTRIBUTES,
  watcherIdFor,
  watcherReconfigureSignal,
  workflowIdFor,
} from '../contract/messages.ts';
import type { FollowerSpec, WatcherSpec } from '../contract/spec.ts';
import type { followerWorkflow } from '../workflows/follower.ts';
import type { mirrorWatcherWorkflow } from '../workflows/watcher.ts';
import { commonJs } from './common-js.ts';
import { CliError, Exit } from './output.ts';

export interface StartedFollower {
  id: string;
  workflowId: string;
  runId: string;
}

/** Where and how follower workflows run, from the registry's controller.temporal, and who owns them. */
export interface StartOptions {
  taskQueue: string;
  workflowTaskTimeoutMs: number;
  /** The registry's id, recorded in each workflow's memo: `apply` stops only what its registry started. */
  registryId: string;
}

export const startOptions = (registry: Registry, taskQueue: string): StartOptions => ({
  taskQueue,
  workflowTaskTimeoutMs: parseDuration(registry.controller.temporal.workflowTaskTimeout),
  registryId: registry.controller.registryId,
});

export async function startFollower(
  client: Client,
  options: StartOptions,
  spec: FollowerSpec,
): Promise<StartedFollower> {
  const workflowId = workflowIdFor(spec.id);
  const handle = await client.workflow
    .signalWithStart<typeof followerWorkflow, [FollowerSpec]>('followerWorkflow', {
      workflowId,
      taskQueue: options.taskQueue,
      workflowTaskTimeout: options.workflowTaskTimeoutMs,
      args: [{ spec }],
      signal: reconfigureSignal,
      signalArgs: [spec],
      typedSearchAttributes: [{ key: FollowerIdKey, value: spec.id }],
      memo: { [OWNER_MEMO]: options.registryId },
      staticSummary: `follows ${spec.source.branch} → ${spec.adapter.id}`,
    })
    .catch(async (err: unknown) => {
      throw await startError(err, `follower ${spec.id}`, client.options.namespace);
    });
  return { id: spec.id, workflowId, runId: handle.signaledRunId };
}

/** The server's reason for refusing a start, and for the one every new namespace hits, the fix. */
async function startError(err: unknown, what: string, namespace: string): Promise<unknown> {
  if (!(err instanceof commonJs(await import('@temporalio/client')).ServiceError)) return err;
  const reason = err.cause instanceof Error ? err.cause.message : err.message;
  if (/search attribute/i.test(reason)) {
    return new CliError(
      `cannot start ${what}: ${reason}`,
      `register the search attributes once: for sa in ${SEARCH_ATTRIBUTES.join(' ')}; do temporal operator search-attribute create --namespace ${namespace} --name $sa --type Keyword; done`,
      Exit.Failed,
    );
  }
  return new CliError(
    `cannot start ${what}: ${reason}`,
    'see the reason above; `branch-follower status` shows whether Temporal is reachable',
    Exit.Failed,
  );
}

/** One watcher per mirror repository that enabled, watched followers read: at the fastest pollInterval among them. */
export function watcherSpecs(registry: Registry): WatcherSpec[] {
  const byMirror = new Map<string, FollowerSpec[]>();
  for (const { spec, enabled } of registry.followers) {
    if (!enabled || !spec.watched) continue;
    byMirror.set(spec.source.mirror, [...(byMirror.get(spec.source.mirror) ?? []), spec]);
  }
  return [...byMirror].map(([mirror, specs]) => ({
    mirror,
    ...(specs[0]!.source.auth ? { auth: specs[0]!.source.auth } : {}),
    pollIntervalMs: Math.min(...specs.map((s) => s.pollIntervalMs)),
    observeTimeoutMs: specs[0]!.observeTimeoutMs,
    followers: specs.map((s) => ({ id: s.id, branch: s.source.branch })),
    activity: specs[0]!.activity,
    loop: { continueAsNewAfter: specs[0]!.loop.continueAsNewAfter },
  }));
}

export async function startWatcher(client: Client, options: StartOptions, spec: WatcherSpec): Promise<void> {
  await client.workflow
    .signalWithStart<typeof mirrorWatcherWorkflow, [WatcherSpec]>('mirrorWatcherWorkflow', {
      workflowId: watcherIdFor(options.registryId, spec.mirror),
      taskQueue: options.taskQueue,
      workflowTaskTimeout: options.workflowTaskTimeoutMs,
      args: [{ spec }],
      signal: watcherReconfigureSignal,
      signalArgs: [spec],
      memo: { [OWNER_MEMO]: options.registryId },
      staticSummary: `watches ${spec.mirror} for ${spec.followers.length} follower(s)`,
    })
    .catch(async (err: unknown) => {
      throw await startError(err, `the mirror watcher of ${spec.mirror}`, client.options.namespace);
    });
}

export async function startEnabledFollowers(
  client: Client,
  taskQueue: string,
  registry: Registry,
): Promise<StartedFollower[]> {
  const enabled = registry.followers.filter((f) => f.enabled).map((f) => f.spec);
  const options = startOptions(registry, taskQueue);
  const started = await Promise.all(enabled.map((spec) => startFollower(client, options, spec)));
  await Promise.all(watcherSpecs(registry).map((w) => startWatcher(client, options, w)));
  return started;
}
