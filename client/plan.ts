// plan / apply: make the running followers match the registry. A follower that is enabled and
// not running is started; one whose running spec differs is reconfigured (signal-with-start
// delivers the new spec); one that is disabled or removed is stopped (its workflow cancelled).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { specQuery, watcherIdFor, watcherStateQuery, workflowIdFor } from '../contract/messages.ts';
import type { FollowerSpec, WatcherSpec } from '../contract/spec.ts';
import { startFollower, startOptions, startWatcher, watcherSpecs } from './followers.ts';
import type { Ctx } from './context.ts';

export type PlanAction = 'start' | 'reconfigure' | 'stop' | 'unchanged';

export interface PlanItem {
  follower: string;
  action: PlanAction;
  reason: string;
  /** Changed top-level spec fields, for reconfigure. */
  changes?: string[];
}

export async function computePlan(ctx: Ctx): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  const declared = new Set<string>();
  for (const { spec, enabled } of ctx.registry.followers) {
    declared.add(spec.id);
    const running = await runningSpec(ctx.client, spec.id);
    if (!enabled) {
      items.push(running ? { follower: spec.id, action: 'stop', reason: 'enabled: false in the registry' } : { follower: spec.id, action: 'unchanged', reason: 'disabled, not running' });
    } else if (!running) {
      items.push({ follower: spec.id, action: 'start', reason: 'enabled and not running' });
    } else {
      const changes = changedFields(running, spec);
      items.push(changes.length ? { follower: spec.id, action: 'reconfigure', reason: `changed: ${changes.join(', ')}`, changes } : { follower: spec.id, action: 'unchanged', reason: 'running with this spec' });
    }
  }
  // Followers still running on this task queue that the registry no longer declares.
  const query = `WorkflowType='followerWorkflow' AND ExecutionStatus='Running' AND TaskQueue='${ctx.target.taskQueue}'`;
  for await (const wf of ctx.client.workflow.list({ query })) {
    const id = wf.workflowId.replace(/^branch-follower\//, '');
    if (!declared.has(id)) items.push({ follower: id, action: 'stop', reason: 'no longer in the registry' });
  }
  return items;
}

export async function applyPlan(ctx: Ctx, plan: PlanItem[], log: (line: string) => void): Promise<void> {
  const specs = new Map(ctx.registry.followers.map((f) => [f.spec.id, f.spec]));
  for (const item of plan) {
    if (item.action === 'start' || item.action === 'reconfigure') {
      await startFollower(ctx.client, startOptions(ctx.registry, ctx.target.taskQueue), specs.get(item.follower)!);
      log(`${item.action === 'start' ? 'started' : 'reconfigured'} ${item.follower}`);
    } else if (item.action === 'stop') {
      await ctx.client.workflow.getHandle(workflowIdFor(item.follower)).cancel();
      log(`stopped ${item.follower} (${item.reason})`);
    }
  }
}

async function runningSpec(client: Client, id: string): Promise<FollowerSpec | undefined> {
  const handle = client.workflow.getHandle(workflowIdFor(id));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  return handle.query(specQuery);
}

function changedFields(a: FollowerSpec, b: FollowerSpec): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof FollowerSpec)[]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** The mirror watchers the registry implies (observe.mode: watch), against the running ones. */
export interface WatcherPlanItem {
  mirror: string;
  action: PlanAction;
  reason: string;
}

export async function computeWatcherPlan(ctx: Ctx): Promise<WatcherPlanItem[]> {
  const items: WatcherPlanItem[] = [];
  const wanted = watcherSpecs(ctx.registry);
  for (const spec of wanted) {
    const running = await runningWatcherSpec(ctx.client, spec.mirror);
    if (!running) items.push({ mirror: spec.mirror, action: 'start', reason: `${spec.followers.length} follower(s) watch it` });
    else if (JSON.stringify(running) !== JSON.stringify(spec)) items.push({ mirror: spec.mirror, action: 'reconfigure', reason: `followers or interval changed (${spec.followers.length} follower(s))` });
    else items.push({ mirror: spec.mirror, action: 'unchanged', reason: `${spec.followers.length} follower(s) watch it` });
  }
  const query = `WorkflowType='mirrorWatcherWorkflow' AND ExecutionStatus='Running' AND TaskQueue='${ctx.target.taskQueue}'`;
  for await (const wf of ctx.client.workflow.list({ query })) {
    const mirror = wf.workflowId.replace(/^branch-follower-mirror\//, '');
    if (!wanted.some((w) => w.mirror === mirror)) items.push({ mirror, action: 'stop', reason: 'no enabled follower watches it' });
  }
  return items;
}

export async function applyWatcherPlan(ctx: Ctx, plan: WatcherPlanItem[], log: (line: string) => void): Promise<void> {
  const specs = new Map(watcherSpecs(ctx.registry).map((w) => [w.mirror, w]));
  for (const item of plan) {
    if (item.action === 'start' || item.action === 'reconfigure') {
      await startWatcher(ctx.client, startOptions(ctx.registry, ctx.target.taskQueue), specs.get(item.mirror)!);
      log(`${item.action === 'start' ? 'started' : 'reconfigured'} mirror watcher ${item.mirror}`);
    } else if (item.action === 'stop') {
      await ctx.client.workflow.getHandle(watcherIdFor(item.mirror)).cancel();
      log(`stopped mirror watcher ${item.mirror} (${item.reason})`);
    }
  }
}

async function runningWatcherSpec(client: Client, mirror: string): Promise<WatcherSpec | undefined> {
  const handle = client.workflow.getHandle(watcherIdFor(mirror));
  try {
    if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  return (await handle.query(watcherStateQuery)).spec;
}
