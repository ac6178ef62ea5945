// When an activation ran past the last started workflow task (workflows/task-boundary.ts).
import { describe, expect, it } from 'vitest';
import { ranPastStartedTask, type HistoryMark } from '../../workflows/task-boundary.ts';

const mark = (length: number, size: number): HistoryMark => ({ length, size });

describe('ranPastStartedTask', () => {
  it.each([
    [
      'a new task: more events, and the size its WorkflowTaskStarted recorded',
      mark(68, 12960),
      mark(76, 13800),
      false,
      false,
    ],
    ['a local activity resolved within the task: nothing applied', mark(76, 13800), mark(76, 13800), false, false],
    ['events applied past the last started task', mark(68, 12960), mark(72, 12960), false, true],
    ['the same history replayed', mark(68, 12960), mark(72, 12960), true, false],
    ['a server that records no size', mark(68, 0), mark(72, 0), false, false],
    ['the first activation of a run in this worker', undefined, mark(72, 12960), false, false],
  ])('%s', (_what, previous, now, replaying, refused) => {
    expect(ranPastStartedTask(previous, now, replaying)).toBe(refused);
  });
});
