// A workflow runs only on the events of a workflow task that has started.
//
// A query can hand a worker a history that ends past the last started task: the server sends a
// query straight to a worker when nothing is pending, and when the run's sticky worker is dead the
// query waits out the sticky timeout first; a result or a signal that lands meanwhile is in the
// history the next worker gets. The SDK then runs the workflow on through those events, and its
// decisions go out with the next task, which brings the rest of that task's events (a signal
// applied one step later than a replay, which sees them all at once, applies it). Such a run
// replays no more: the next worker that takes it over fails it with a nondeterminism error.
//
// This interceptor fails such an activation instead. The worker drops the run from its cache and
// the query fails (it is asked again); the task that follows replays the run whole, as a replay would.
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** Where an activation left the history: events applied, and the size the last started task recorded. */
export interface HistoryMark {
  length: number;
  /** Bytes, from the last WorkflowTaskStarted event applied; 0 from servers that do not record it. */
  size: number;
}

/**
 * Whether an activation applied events without a task that started: the history grew while the
 * size, which only a WorkflowTaskStarted event moves, stayed. Replay applies a recorded history's
 * events in the same steps; it is never refused.
 */
export function ranPastStartedTask(previous: HistoryMark | undefined, now: HistoryMark, replaying: boolean): boolean {
  return (
    !replaying && previous !== undefined && now.size > 0 && now.length > previous.length && now.size === previous.size
  );
}

export const RAN_PAST_STARTED_TASK =
  'this worker was handed events of a workflow task that has not started (a query raced a worker failover): it drops the run and replays it whole with that task; ask again';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let previous: HistoryMark | undefined;
  return {
    internals: [
      {
        activate(input, next) {
          const { activation, batchIndex } = input;
          const jobs = activation.jobs ?? [];
          const onlyQueries = jobs.every((j) => j.queryWorkflow != null);
          if (batchIndex === 0 && !onlyQueries && !jobs.some((j) => j.removeFromCache != null)) {
            const now = {
              length: activation.historyLength ?? 0,
              size: activation.historySizeBytes?.toNumber() ?? 0,
            };
            if (ranPastStartedTask(previous, now, activation.isReplaying ?? false))
              throw new Error(RAN_PAST_STARTED_TASK); // fails the activation, not the workflow
            previous = now;
          }
          next(input);
        },
      },
    ],
  };
};
