// Every run a test produced replays against today's workflow code, which also has to replay what
// older releases started. A live decision that replay makes differently (a clock read that
// differs, an ordering that differs) would fail a worker that takes the workflow over later; here
// it fails the test that recorded it, at once.
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

/** Every run of a workflow id, oldest first, following continue-as-new back to the first. */
async function runsOf(client: Client, workflowId: string): Promise<{ runId: string; history: History }[]> {
  const runs: { runId: string; history: History }[] = [];
  let runId: string | undefined;
  for (;;) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory().catch(() => undefined);
    if (!history) break;
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runs.unshift({ runId: runId ?? (await handle.describe()).runId, history });
    runId = started?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return runs;
}

/** Whether every workflow task of the run was completed by one of these builds (the SDK's default build id hashes the bundle). */
function decidedOnlyBy(history: History, buildIds: ReadonlySet<string>): boolean {
  const builds = (history.events ?? []).flatMap((e) =>
    e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.workerVersion?.buildId ?? ''] : [],
  );
  return builds.length > 0 && builds.every((b) => buildIds.has(b));
}

/**
 * Replays every run of these workflows with the bundle, except runs that only an older release
 * (`olderBuilds`, in the upgrade tests) decided in: what that code recorded is its own to replay.
 * Returns the runs that do not replay (empty when every run did), each with its error.
 */
export async function runsThatDoNotReplay(
  client: Client,
  workflowIds: string[],
  bundlePath: string,
  olderBuilds: ReadonlySet<string>,
): Promise<{ workflowId: string; runId: string; error: Error }[]> {
  const runs = (
    await Promise.all(
      workflowIds.map(async (workflowId) => (await runsOf(client, workflowId)).map((r) => ({ workflowId, ...r }))),
    )
  )
    .flat()
    .filter((r) => !decidedOnlyBy(r.history, olderBuilds));
  const failures: { workflowId: string; runId: string; error: Error }[] = [];
  if (runs.length === 0) return failures;
  const histories = runs.map((r) => ({ workflowId: `${r.workflowId}@${r.runId}`, history: r.history }));
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: bundlePath }, replayName: 'harness-replay-check' },
    histories,
  )) {
    const run = runs.find((r) => `${r.workflowId}@${r.runId}` === result.workflowId)!;
    if (result.error) failures.push({ workflowId: run.workflowId, runId: run.runId, error: result.error });
  }
  return failures;
}
