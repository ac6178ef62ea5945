// A deliberately nondeterministic variant of the follower workflow, for the replay test's
// negative control: it schedules a timer before anything else, which no recorded history has.
import { sleep } from '@temporalio/workflow';
import { followerWorkflow as real } from '../../../workflows/follower.ts';
import type { FollowerWorkflowInput } from '../../../workflows/api.ts';

export async function followerWorkflow(input: FollowerWorkflowInput): Promise<void> {
  await sleep(1);
  return real(input);
}
