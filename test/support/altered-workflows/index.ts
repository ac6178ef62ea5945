// Deliberately nondeterministic variants of the workflows, for the replay test's negative
// control: each schedules a timer before anything else, which no recorded history has.
import { sleep } from '@temporalio/workflow';
import { followerWorkflow as realFollower } from '../../../workflows/follower.ts';
import { mirrorWatcherWorkflow as realWatcher } from '../../../workflows/watcher.ts';
import type { FollowerWorkflowInput, WatcherWorkflowInput } from '../../../contract/messages.ts';

export async function followerWorkflow(input: FollowerWorkflowInput): Promise<void> {
  await sleep(1);
  return realFollower(input);
}

export async function mirrorWatcherWorkflow(input: WatcherWorkflowInput): Promise<void> {
  await sleep(1);
  return realWatcher(input);
}
