// The worker's log lines: JSON for shippers, text on a terminal, the SDK's lines with the fields an
// operator filters on (worker/log.ts).
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { sdkLogger, workerLog } from '../../worker/log.ts';

const sink = (isTTY: boolean) => {
  const lines: string[] = [];
  return { lines, out: { isTTY, write: (s: string) => lines.push(s) } };
};

describe('the worker log', () => {
  it('writes one JSON object per line off a terminal, without undefined fields', () => {
    const { lines, out } = sink(false);
    workerLog(out)('info', 'worker: polling q', { taskQueue: 'q', follower: undefined });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const line = JSON.parse(lines[0]!);
    expect(line).toEqual({ time: expect.any(String), level: 'info', msg: 'worker: polling q', taskQueue: 'q' });
    expect(Date.parse(line.time)).not.toBeNaN();
  });

  it('writes text on a terminal, quoting values with spaces', () => {
    const { lines, out } = sink(true);
    workerLog(out)('warn', 'Activity failed', { follower: 'app', error: 'no such lane' });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN  Activity failed follower=app error="no such lane"\n$/);
  });

  it("carries the SDK's warnings with follower, workflow id, activity, attempt, code and message, and drops the rest", () => {
    const { lines, out } = sink(false);
    const logger = sdkLogger(workerLog(out));
    logger.info('Worker state changed', { state: 'RUNNING' }); // below WARN: not written
    logger.warn('Activity failed', {
      workflowId: 'branch-follower/app',
      activityType: 'triggerAdapter',
      attempt: 2,
      taskToken: 'opaque',
      error: ApplicationFailure.create({ type: 'AdapterFailed', message: 'adapter demo trigger exited 2' }),
    });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        msg: 'Activity failed',
        follower: 'app',
        workflowId: 'branch-follower/app',
        activity: 'triggerAdapter',
        attempt: 2,
        code: 'AdapterFailed',
        error: 'adapter demo trigger exited 2',
      },
    ]);
  });
});
