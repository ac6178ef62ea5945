// One mirror watcher per mirror repository: reads every branch head of the repository each
// pollInterval (one read, however many followers share the repository) and wakes, with a
// `refresh` signal, only the followers whose branch moved. The follower then reads its branch
// itself: the watcher is a doorbell, the mirror stays the authority. When its reads start
// failing, every follower is woken once, so each reads its own branch and, if that read fails
// too, is Blocked with the code that says why (not only the watcher knows). When a read works
// again every follower is woken once more, so none stays Blocked on a stale failure.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
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

/**
 * Runs recorded before it did not wake the followers when reads started failing. Asked once,
 * when a run starts: asked right after a local activity's result, a replay can answer false
 * where the run answered true (seen: the marker then matches no command).
 */
const WAKE_ON_FAILURE = 'watcher-wakes-followers-on-failure';

/** Sends `refresh` to each follower (one that is gone is no matter). */
async function wake(followers: WatcherSpec['followers']): Promise<void> {
  await Promise.all(
    followers.map((f) =>
      getExternalWorkflowHandle(workflowIdFor(f.id))
        .signal(refreshSignal)
        .catch(() => undefined),
    ),
  );
}

export async function mirrorWatcherWorkflow(input: WatcherWorkflowInput): Promise<void> {
  let spec = input.spec;
  let nextSpec: WatcherSpec | undefined;
  const state: WatcherState = input.state ?? { wakeUps: 0 };
  const wakesOnFailure = patched(WAKE_ON_FAILURE);
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
      await wake(moved);
      state.wakeUps += moved.length;
    } catch (err) {
      const message =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      const started = !state.failing;
      state.failing = { message, since: state.failing?.since ?? Date.now() };
      if (started && wakesOnFailure) {
        await wake(spec.followers);
        state.wakeUps += spec.followers.length;
      }
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
