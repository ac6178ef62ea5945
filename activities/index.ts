// The activities the follower workflow calls. Each one heartbeats while its command runs, so a
// cancelled or timed-out activity kills its child process group promptly.
import { Context } from '@temporalio/activity';
import type { RuntimeStatus, TriggerResult } from '../workflows/api.ts';
import { adapterCancel, adapterStatus, adapterTrigger, type AdapterCall, type AdapterContext } from './adapter.ts';
import { readBranchHead, type ObserveInput } from './observe.ts';

export type { AdapterCall } from './adapter.ts';

export interface ActivityDeps {
  registryDir: string;
  workDir: string;
  env: NodeJS.ProcessEnv;
}

export function createActivities(deps: ActivityDeps) {
  const context = (): AdapterContext => ({ ...deps, signal: Context.current().cancellationSignal });
  return {
    async observeBranch(input: ObserveInput): Promise<{ sha: string }> {
      return withHeartbeat(() => readBranchHead(input, deps.workDir, Context.current().cancellationSignal));
    },
    async adapterStatus(input: { spec: AdapterCall; sha: string }): Promise<RuntimeStatus> {
      return withHeartbeat(() => adapterStatus(input.spec, input.sha, context()));
    },
    async triggerAdapter(input: { spec: AdapterCall; sha: string; redeploy: boolean }): Promise<TriggerResult> {
      return withHeartbeat(() => adapterTrigger(input.spec, input.sha, input.redeploy, context()));
    },
    async cancelAdapter(input: { spec: AdapterCall; sha: string; jobId?: string }): Promise<void> {
      return withHeartbeat(() => adapterCancel(input.spec, input.sha, input.jobId, context()));
    },
  };
}

export type FollowerActivities = ReturnType<typeof createActivities>;

/** Heartbeats well inside the activity's heartbeat timeout, so only a dead worker misses it. */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const every = Math.min(1000, Math.max(100, (ctx.info.heartbeatTimeoutMs ?? 3000) / 3));
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), every);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
