// How activities report domain failures (mirror unreachable, adapter failed, …): as ApplicationFailures
// that Temporal does not retry, typed with a code and carrying what the follower's YAML retry policy
// needs to know (contract/codes.ts FailureDetails).
import { ApplicationFailure } from '@temporalio/common';
import type { FailureCode, FailureDetails } from '../contract/codes.ts';

export function failure(
  code: FailureCode,
  message: string,
  retryable: boolean,
  facts: Pick<FailureDetails, 'mayHaveReached'> = {},
): ApplicationFailure {
  const details: FailureDetails = { retryable, ...facts, at: Date.now() };
  return ApplicationFailure.create({ type: code, message, nonRetryable: true, details: [details] });
}
