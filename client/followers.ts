// Starts one workflow per enabled follower, idempotently: signal-with-start delivers the spec
// as a `reconfigure` to a running follower (a no-op when unchanged) and starts a missing one.
import type { Client } from '@temporalio/client';
import { parseDuration } from '../config/duration.ts';
import type { Registry } from '../config/registry.ts';
import { FollowerIdKey, reconfigureSignal, workflowIdFor, type FollowerSpec } from '../workflows/api.ts';
import type { followerWorkflow } from '../workflows/follower.ts';

export interface StartedFollower {
  id: string;
  workflowId: string;
  runId: string;
}

/** Where and how follower workflows run, from the registry's controller.temporal. */
export interface StartOptions {
  taskQueue: string;
  workflowTaskTimeoutMs: number;
}

export const startOptions = (registry: Registry, taskQueue: string): StartOptions => ({
  taskQueue,
  workflowTaskTimeoutMs: parseDuration(registry.controller.temporal.workflowTaskTimeout),
});

export async function startFollower(client: Client, options: StartOptions, spec: FollowerSpec): Promise<StartedFollower> {
  const workflowId = workflowIdFor(spec.id);
  const handle = await client.workflow.signalWithStart<typeof followerWorkflow, [FollowerSpec]>('followerWorkflow', {
    workflowId,
    taskQueue: options.taskQueue,
    workflowTaskTimeout: options.workflowTaskTimeoutMs,
    args: [{ spec }],
    signal: reconfigureSignal,
    signalArgs: [spec],
    typedSearchAttributes: [{ key: FollowerIdKey, value: spec.id }],
    staticSummary: `follows ${spec.source.branch} → ${spec.adapter.id}`,
  });
  return { id: spec.id, workflowId, runId: handle.signaledRunId };
}

export async function startEnabledFollowers(client: Client, taskQueue: string, registry: Registry): Promise<StartedFollower[]> {
  const enabled = registry.followers.filter((f) => f.enabled).map((f) => f.spec);
  const options = startOptions(registry, taskQueue);
  return Promise.all(enabled.map((spec) => startFollower(client, options, spec)));
}
