// plan / apply: make the running followers match the registry. A follower that is enabled and
// not running is started; one whose running spec differs is reconfigured (signal-with-start
// delivers the new spec); one that is disabled or removed is stopped (its workflow cancelled).
// Only what this registry started (its registryId, in each workflow's memo) is ever changed:
// registries sharing a namespace and task queue leave each other alone, and say so.
import type { Client } from '@temporalio/client';
import {
  followerIdOf,
  mirrorOfWatcherId,
  ownerOf,
  specQuery,
  watcherIdFor,
  watcherStateQuery,
  workflowIdFor,
} from '../contract/messages.ts';
import type { FollowerSpec, WatcherSpec } from '../contract/spec.ts';
import { startFollower, startOptions, startWatcher, watcherSpecs } from './followers.ts';
import { ifRunning, type Ctx } from './context.ts';
import { allEqual } from './visibility.ts';

/** `leave`: running, but not this registry's to change (another registry's, or started before owners were recorded). */
export type PlanAction = 'start' | 'reconfigure' | 'stop' | 'unchanged' | 'leave';

export interface PlanItem {
  follower: string;
  action: PlanAction;
  reason: string;
  /** Changed top-level spec fields, for reconfigure. */
  changes?: string[];
}

interface Running<S> {
  spec: S;
  owner: string | undefined;
}

/** Why this registry leaves a running workflow alone, or undefined when it owns it. */
function notOurs(registryId: string, owner: string | undefined): string | undefined {
  if (owner === registryId) return undefined;
  return owner === undefined
    ? 'started before owners were recorded: stop it yourself (temporal workflow cancel) if it is this registry’s, and apply again'
    : `owned by registry ${owner}`;
}

export async function computePlan(ctx: Ctx): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  const declared = new Set<string>();
  const me = ctx.registry.controller.registryId;
  for (const { spec, enabled } of ctx.registry.followers) {
    declared.add(spec.id);
    const running = await runningWorkflow(ctx.client, workflowIdFor(spec.id), (h) => h.query(specQuery));
    const foreign = running && notOurs(me, running.owner);
    if (running && foreign && running.owner !== undefined) {
      items.push({
        follower: spec.id,
        action: 'leave',
        reason: `${foreign}: rename this follower, or remove it from one registry`,
      });
    } else if (!enabled) {
      items.push(
        running
          ? { follower: spec.id, action: 'stop', reason: 'enabled: false in the registry' }
          : { follower: spec.id, action: 'unchanged', reason: 'disabled, not running' },
      );
    } else if (!running) {
      items.push({ follower: spec.id, action: 'start', reason: 'enabled and not running' });
    } else {
      const changes = changedFields(running.spec, spec);
      items.push(
        changes.length
          ? { follower: spec.id, action: 'reconfigure', reason: `changed: ${changes.join(', ')}`, changes }
          : { follower: spec.id, action: 'unchanged', reason: 'running with this spec' },
      );
    }
  }
  // Followers still running on this task queue that the registry no longer declares: stopped only when this registry started them.
  const query = allEqual({
    WorkflowType: 'followerWorkflow',
    ExecutionStatus: 'Running',
    TaskQueue: ctx.target.taskQueue,
  });
  for await (const wf of ctx.client.workflow.list({ query })) {
    const id = followerIdOf(wf.workflowId);
    if (id === undefined || declared.has(id)) continue;
    const foreign = notOurs(me, ownerOf(wf.memo));
    items.push(
      foreign
        ? { follower: id, action: 'leave', reason: foreign }
        : { follower: id, action: 'stop', reason: 'no longer in the registry' },
    );
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

/** A running workflow's spec and owner; undefined when it is not running. */
const runningWorkflow = <S>(
  client: Client,
  workflowId: string,
  specOf: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<S>,
): Promise<Running<S> | undefined> =>
  ifRunning(client, workflowId, async (handle, described) => ({
    spec: await specOf(handle),
    owner: ownerOf(described.memo),
  }));

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
  const me = ctx.registry.controller.registryId;
  const wanted = watcherSpecs(ctx.registry);
  for (const spec of wanted) {
    const running = await runningWorkflow(
      ctx.client,
      watcherIdFor(me, spec.mirror),
      async (h) => (await h.query(watcherStateQuery)).spec as WatcherSpec,
    );
    if (!running)
      items.push({ mirror: spec.mirror, action: 'start', reason: `${spec.followers.length} follower(s) watch it` });
    else if (JSON.stringify(running.spec) !== JSON.stringify(spec))
      items.push({
        mirror: spec.mirror,
        action: 'reconfigure',
        reason: `followers or interval changed (${spec.followers.length} follower(s))`,
      });
    else
      items.push({ mirror: spec.mirror, action: 'unchanged', reason: `${spec.followers.length} follower(s) watch it` });
  }
  const query = allEqual({
    WorkflowType: 'mirrorWatcherWorkflow',
    ExecutionStatus: 'Running',
    TaskQueue: ctx.target.taskQueue,
  });
  for await (const wf of ctx.client.workflow.list({ query })) {
    const mirror = mirrorOfWatcherId(me, wf.workflowId);
    if (mirror !== undefined && wanted.some((w) => w.mirror === mirror)) continue;
    const foreign =
      mirror === undefined
        ? (notOurs(me, ownerOf(wf.memo)) ?? `not one of this registry's watchers (${wf.workflowId})`)
        : notOurs(me, ownerOf(wf.memo));
    items.push(
      foreign
        ? { mirror: mirror ?? wf.workflowId, action: 'leave', reason: foreign }
        : { mirror: mirror!, action: 'stop', reason: 'no enabled follower watches it' },
    );
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
      await ctx.client.workflow.getHandle(watcherIdFor(ctx.registry.controller.registryId, item.mirror)).cancel();
      log(`stopped mirror watcher ${item.mirror} (${item.reason})`);
    }
  }
}
