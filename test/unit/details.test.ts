// The Temporal UI's "current details" of a follower and a watcher: each fact the state holds shows,
// at the time the state says, with the next step and where to look further.
import { describe, expect, it } from 'vitest';
import type { FollowerState } from '../../contract/state.ts';
import { followerDetails, watcherDetails } from '../../core/details.ts';
import { initialState, nextAction, reduce, type FollowerEvent } from '../../core/decide.ts';
import { makeSpec, sha } from '../support/spec.ts';

const spec = makeSpec({ id: 'lane-a' });
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

function drive(events: [number, FollowerEvent][]): FollowerState {
  return events.reduce((s, [at, e]) => reduce(s, e, at, spec), initialState(spec.id, T0));
}

describe('current details', () => {
  it('an idle follower: phase and code, the head and when it was read, what is deployed, the next wake-up, the drill-down', () => {
    const s = drive([
      [T0, { type: 'observed', sha: sha(1) }],
      [T0, { type: 'triggering' }],
      [T0 + 1000, { type: 'triggered', sha: sha(1), run: 1, fired: true, jobId: 'job-1' }],
      [T0 + 3000, { type: 'status', sha: sha(1), run: 1, status: { phase: 'Succeeded', sha: sha(1) } }],
      [T0 + 10_000, { type: 'observed', sha: sha(1) }],
    ]);
    const now = T0 + 10_000;
    const text = followerDetails(spec, s, nextAction(s, now), now);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^\*\*Succeeded\*\* · `ClosedOut` since 2026-11-27T12:00:03Z — /);
    expect(text).toContain(`- head of \`main\`: \`${sha(1).slice(0, 12)}\` (read 2026-11-27T12:00:10Z)`);
    expect(text).toContain(`- deployed: \`${sha(1).slice(0, 12)}\` (2026-11-27T12:00:03Z)`);
    expect(text).toContain('- now: wait until 2026-11-27T12:00:20Z: next observation');
    expect(text).toContain('- `temporal workflow query --workflow-id branch-follower/lane-a --name events`');
    expect(text).toContain('- `branch-follower status --follower lane-a`');
    expect(text).not.toContain('in flight');
    expect(lines.at(-1)).toBe("_as of 2026-11-27T12:00:10Z, the follower's clock_");
  });

  it('a close-out under way: the job, its run and attempt, and the budget used on the decision clock', () => {
    const s = drive([
      [T0, { type: 'observed', sha: sha(2) }],
      [T0, { type: 'triggering' }],
      [T0 + 500, { type: 'triggered', sha: sha(2), run: 1, fired: true, jobId: 'job-2' }],
    ]);
    const now = T0 + 5000; // the close-out check is due, the next read not yet
    const text = followerDetails(spec, s, nextAction(s, now), now);
    expect(text).toMatch(/^\*\*ClosingOut\*\*/);
    expect(text).toContain(`- in flight: \`${sha(2).slice(0, 12)}\` run 1, attempt 1, job \`job-2\`; budget 5s of 2m`);
    expect(text).toContain(`- now: close-out check of \`${sha(2).slice(0, 12)}\``);
  });

  it('paused, with the mirror unreadable: both show, with since when', () => {
    const s = drive([
      [T0, { type: 'observed', sha: sha(3) }],
      [T0 + 1000, { type: 'pause', reason: 'release freeze' }],
      [T0 + 2000, { type: 'observeFailed', code: 'MirrorUnreachable', message: 'connection refused' }],
    ]);
    const text = followerDetails(spec, s, nextAction(s, T0 + 2000), T0 + 2000);
    expect(text).toMatch(/^\*\*Blocked\*\* · `Paused`/);
    expect(text).toContain('- paused since 2026-11-27T12:00:01Z: release freeze');
    expect(text).toContain('- mirror unreadable since 2026-11-27T12:00:02Z: `MirrorUnreachable`');
    expect(text).toContain('- deployed: nothing known yet');
  });

  it('a watcher: what it watches, its last read, a failing read and since when, the wake-ups', () => {
    const watcher = {
      mirror: 'git://m/x.git',
      pollIntervalMs: 15_000,
      observeTimeoutMs: 5000,
      followers: [
        { id: 'a', branch: 'main' },
        { id: 'b', branch: 'main' },
        { id: 'c', branch: 'dev' },
      ],
      activity: spec.activity,
      loop: spec.loop,
    };
    const at = { workflowId: 'branch-follower-mirror/r/git://m/x.git', nextReadAt: T0 + 30_000, now: T0 + 16_000 };
    const first = watcherDetails(watcher, { wakeUps: 0 }, at);
    expect(first).toContain('- not read yet');
    expect(first).not.toContain('- heads:');
    const text = watcherDetails(
      watcher,
      {
        wakeUps: 4,
        readAt: T0,
        heads: { main: 'a'.repeat(40), dev: 'b'.repeat(40) },
        failing: { message: 'timeout', since: T0 + 15_000 },
      },
      at,
    );
    expect(text.split('\n')[0]).toBe('**Failing** `git://m/x.git`: 2 branch(es) for 3 follower(s), every 15s');
    expect(text).toContain('- last read: 2026-11-27T12:00:00Z');
    expect(text).toContain('- reads failing since 2026-11-27T12:00:15Z: timeout');
    expect(text).toContain(`- heads: \`main\` \`${'a'.repeat(12)}\`, \`dev\` \`${'b'.repeat(12)}\``);
    expect(text).toContain('- followers woken: 4');
    expect(text).toContain(
      '- now: wait until 2026-11-27T12:00:30Z: the next read (the followers are woken when one works again)',
    );
    expect(text).toContain(
      "- `temporal workflow query --workflow-id 'branch-follower-mirror/r/git://m/x.git' --name state`",
    );
    expect(text.split('\n').at(-1)).toBe("_as of 2026-11-27T12:00:16Z, the watcher's clock_");
    const many = Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`b${i}`, 'c'.repeat(40)]));
    expect(watcherDetails(watcher, { wakeUps: 0, readAt: T0, heads: many }, at)).toMatch(/`b9` `c{12}` and 3 more\n/);
  });
});
