// One mirror watcher per mirror repository: reads every branch head of the repository each
// pollInterval (one read, however many followers share the repository) and wakes, with a
// `refresh` signal, only the followers whose branch moved. The follower then reads its branch
// itself: the watcher is a doorbell, the mirror stays the authority. When a read fails, every
// follower is woken once it works again, so none stays Blocked on a stale failure.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FollowerActivities } from '../activities/index.ts';
import {
  refreshSignal,
  watcherReconfigureSignal,
  watcherStateQuery,
  workflowIdFor,
  type WatcherWorkflowInput,
} from '../contract/messages.ts';
import type { WatcherSpec } from '../contract/spec.ts';
import type { WatcherState } from '../contract/state.ts';
import { watcherDetails } from '../core/details.ts';

export async function mirrorWatcherWorkflow(input: WatcherWorkflowInput): Promise<void> {
  let spec = input.spec;
  let nextSpec: WatcherSpec | undefined;
  const state: WatcherState = input.state ?? { wakeUps: 0 };
  setHandler(watcherReconfigureSignal, (next) => {
    if (next.mirror === spec.mirror) nextSpec = next;
  });
  setHandler(watcherStateQuery, () => ({ ...state, spec }));
  /** When this read was meant to start (a late timer shows as lag). */
  let due: number | undefined;

  for (let iteration = 0; ; iteration++) {
    if (nextSpec) {
      spec = nextSpec;
      nextSpec = undefined;
    }
    const { readBranchHeads } = proxyLocalActivities<FollowerActivities>({
      startToCloseTimeout: spec.observeTimeoutMs + spec.activity.heartbeatTimeoutMs,
      retry: { maximumAttempts: 1 },
    });
    const startedAt = Date.now();
    try {
      const branches = [...new Set(spec.followers.map((f) => f.branch))];
      const heads = await readBranchHeads({
        mirror: spec.mirror,
        timeoutMs: spec.observeTimeoutMs,
        dueAt: due ?? startedAt,
        branches,
        ...(spec.auth ? { auth: spec.auth } : {}),
      });
      // Nothing to compare on the first read: every follower reads its own branch when it starts.
      const recovered = Boolean(state.failing);
      const moved = spec.followers.filter(
        (f) => recovered || (state.heads !== undefined && state.heads[f.branch] !== heads[f.branch]),
      );
      state.heads = heads;
      state.readAt = Date.now();
      state.failing = undefined;
      await Promise.all(
        moved.map((f) =>
          getExternalWorkflowHandle(workflowIdFor(f.id))
            .signal(refreshSignal)
            .catch(() => undefined),
        ),
      );
      state.wakeUps += moved.length;
    } catch (err) {
      const message =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      state.failing = { message, since: state.failing?.since ?? Date.now() };
    }

    due = startedAt + spec.pollIntervalMs;
    setCurrentDetails(
      watcherDetails(spec, state, { workflowId: workflowInfo().workflowId, nextReadAt: due, now: Date.now() }),
    );
    await condition(() => nextSpec !== undefined, Math.max(1, due - Date.now()));

    if (workflowInfo().continueAsNewSuggested || iteration + 1 >= spec.loop.continueAsNewAfter) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof mirrorWatcherWorkflow>({ spec: nextSpec ?? spec, state });
    }
  }
}
