// What a follower tells the outside world: happenings drawn from the real reducer's states, and
// the notices each becomes. (The model of the world in promise.test.ts checks them against the
// runtime's log over generated sequences; here, one case per kind.)
import { describe, expect, it } from 'vitest';
import type { Transition } from '../../contract/state.ts';
import { initialState, reduce, type FollowerEvent } from '../../core/decide.ts';
import { happenings, newTransitions, type Happening } from '../../core/happenings.ts';
import { noticesOf } from '../../workflows/outward.ts';
import { makeSpec, sha } from '../support/spec.ts';

const A = sha(0xa);
const B = sha(0xb);
const spec = makeSpec({
  source: { mirror: 'https://git.example/Org/App.git', branch: 'main' },
  notify: { sinks: [{ id: 'bus', kind: 'chat', url: { env: 'CHAT_URL' } }], temporalUiUrl: 'http://ui.example/' },
});

/** Drives the reducer and keeps what each step made happen. */
function drive(steps: [number, FollowerEvent][]): Happening[][] {
  let state = initialState(spec.id, 0);
  return steps.map(([at, event]) => {
    const before = state;
    state = reduce(state, event, at, spec);
    return happenings(before, state);
  });
}

const deploy = (head: string, at: number): [number, FollowerEvent][] => [
  [at, { type: 'observed', sha: head }],
  [at, { type: 'tick' }],
  [at, { type: 'triggering' }],
  [at + 10, { type: 'triggered', sha: head, run: 1, fired: true, jobId: 'j' }],
];

describe('happenings', () => {
  it('a fire once, an end once, with the time from first seen', () => {
    const steps = drive([
      ...deploy(A, 1000),
      [3000, { type: 'status', sha: A, run: 1, status: { sha: A, phase: 'Running' } }],
      [9000, { type: 'status', sha: A, run: 1, status: { sha: A, phase: 'Succeeded' } }],
      [9500, { type: 'tick' }],
    ]);
    expect(steps.flat().map((h) => h.kind)).toEqual(['read', 'fired', 'ended']);
    expect(steps[0]).toEqual([{ kind: 'read', at: 1000 }]);
    expect(steps[3]).toEqual([
      { kind: 'fired', sha: A, at: 1000, message: expect.stringContaining('trigger accepted') },
    ]); // at: when its trigger started
    expect(steps[5]).toEqual([
      { kind: 'ended', sha: A, firstSeen: 1000, result: expect.objectContaining({ outcome: 'Succeeded', at: 9000 }) },
    ]);
  });

  it('a trigger the runtime already had is no fire; a superseded run ends naming its successor', () => {
    const steps = drive([
      [1000, { type: 'observed', sha: A }],
      [1000, { type: 'tick' }],
      [1000, { type: 'triggering' }],
      [1010, { type: 'triggered', sha: A, run: 1, fired: false, jobId: 'j' }],
      [2000, { type: 'observed', sha: B }],
    ]);
    expect(steps.flat().filter((h) => h.kind === 'fired')).toEqual([]);
    expect(steps[4]).toContainEqual({
      kind: 'ended',
      sha: A,
      firstSeen: 1000,
      result: expect.objectContaining({ outcome: 'Superseded', by: B }),
    });
  });

  it('a failed read, and becoming Blocked by it once', () => {
    const failed: FollowerEvent = { type: 'observeFailed', code: 'MirrorUnreachable', message: 'refused' };
    const steps = drive([
      [1000, failed],
      [2000, failed],
    ]);
    expect(steps[0]).toEqual([
      { kind: 'readFailed', code: 'MirrorUnreachable', at: 1000 },
      expect.objectContaining({ kind: 'blocked', code: 'MirrorUnreachable', at: 1000 }),
    ]);
    expect(steps[1]).toEqual([{ kind: 'readFailed', code: 'MirrorUnreachable', at: 2000 }]);
  });

  it('the mirror catching up with a push, by the time since the announcement', () => {
    const steps = drive([
      [1000, { type: 'observed', sha: A }],
      [5000, { type: 'refresh', sha: B }],
      [5100, { type: 'observed', sha: A }],
      [5600, { type: 'observed', sha: B }],
    ]);
    expect(steps[2]!.filter((h) => h.kind === 'mirrorCaughtUp')).toEqual([]);
    expect(steps[3]).toContainEqual({ kind: 'mirrorCaughtUp', sha: B, lagMs: 600 });
  });
});

describe('newTransitions', () => {
  const t = (at: number, code: Transition['code'] = 'NewHead'): Transition => ({
    at,
    from: 'Observed',
    to: 'PendingTrigger',
    code,
    message: `m${at}`,
  });
  it('takes what follows the last known entry, also when the log was cut', () => {
    expect(newTransitions([], [t(1)])).toEqual([t(1)]);
    expect(newTransitions([t(1), t(2)], [t(1), t(2), t(3)])).toEqual([t(3)]);
    expect(newTransitions([t(1), t(2)], [t(2), t(3), t(4)])).toEqual([t(3), t(4)]);
    expect(newTransitions([t(1), t(2)], [t(3), t(4)])).toEqual([t(3), t(4)]);
    // Two alike entries at one instant: both new ones count.
    expect(newTransitions([t(1)], [t(1), t(1), t(1)])).toEqual([t(1), t(1)]);
  });
});

describe('notices', () => {
  it('one per thing a sink is told, with the repository, branch and the follower page', () => {
    const steps = drive([
      ...deploy(A, 1000),
      [9000, { type: 'status', sha: A, run: 1, status: { sha: A, phase: 'Failed', message: 'boom' } }],
    ]);
    const notices = noticesOf(spec, steps.flat(), 'prod');
    expect(notices.map((n) => [n.type, n.sha, n.code])).toEqual([
      ['triggered', A, 'TriggerAccepted'],
      ['failed', A, 'RuntimeFailed'],
    ]);
    expect(notices[0]).toMatchObject({
      follower: 'demo',
      repository: 'org/app',
      branch: 'main',
      url: 'http://ui.example/namespaces/prod/workflows/branch-follower%2Fdemo',
    });
  });

  it('maps each end to its notice type', () => {
    const ended = (result: Extract<Happening, { kind: 'ended' }>['result']): Happening => ({
      kind: 'ended',
      sha: A,
      firstSeen: 0,
      result,
    });
    const types = noticesOf(
      spec,
      [
        ended({ outcome: 'Succeeded', code: 'ClosedOut', at: 1, message: '' }),
        ended({ outcome: 'Succeeded', code: 'ClosedOutOverBudget', overrunMs: 5, at: 1, message: '' }),
        ended({ outcome: 'Failed', code: 'BudgetExceeded', at: 1, message: '' }),
        ended({ outcome: 'Failed', code: 'AdapterFailed', at: 1, message: '' }),
        ended({ outcome: 'Superseded', code: 'Superseded', by: B, at: 1, message: '' }),
        { kind: 'missedWebhook', sha: B, message: 'no webhook', at: 1 },
        { kind: 'readFailed', code: 'MirrorUnreachable', at: 1 },
      ],
      'default',
    ).map((n) => [n.type, n.code, n.by]);
    expect(types).toEqual([
      ['succeeded', 'ClosedOut', undefined],
      ['succeeded', 'ClosedOutOverBudget', undefined],
      ['budgetExceeded', 'BudgetExceeded', undefined],
      ['failed', 'AdapterFailed', undefined],
      ['superseded', 'Superseded', B],
      ['missedWebhook', 'MissedWebhook', undefined],
    ]);
  });

  it('a follower without sinks is told nothing', () => {
    const { notify: _none, ...quiet } = spec;
    expect(noticesOf(quiet, [{ kind: 'fired', sha: A, at: 1, message: 'fired' }], 'default')).toEqual([]);
  });
});
