// How activities report domain failures (mirror unreachable, adapter failed, …): as ApplicationFailures
// that Temporal does not retry, carrying whether the follower's own YAML retry policy should.
import { ApplicationFailure } from '@temporalio/common';

export function failure(type: string, message: string, retryable: boolean): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ retryable }] });
}
