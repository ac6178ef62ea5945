// Queries while a follower changes hands. When a worker dies, its next workflow task waits on the
// dead worker's sticky queue until stickyQueueScheduleToStartTimeout passes; a query sent in that
// window goes straight to another worker, which replays the history — including the timer that
// fired, whose workflow task has not started yet — and runs the workflow on, with the clock of the
// last task that did start. What it decides there is what it then sends when the task reaches it.
// A decision that depends on that clock is one replay makes differently. Harness.close() replays
// every run this test produced: that is the assertion.
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('queries while a follower changes hands', () => {
  it('status queried while the dead worker still holds the follower’s next task: the new worker decides what replay decides', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 200 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '2s', observe: { mode: 'poll' } },
    });
    const A = h.push('main', 'A');
    const first = h.spawnWorker();
    await h.startFollowers();
    await h.waitFor('app', 'A deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === A);
    // The follower now waits on its poll timer, its next task bound to the first worker.
    await h.startWorker();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const lookedAt = (await h.state('app')).lastLookAt ?? 0;
    // Queries all through the sticky window (10 s here), as `status` run by a worried operator would.
    const until = Date.now() + 14_000;
    let answered = 0;
    while (Date.now() < until) {
      if ((await h.state('app').catch(() => undefined)) !== undefined) answered++;
      await sleep(50);
    }
    expect(answered).toBeGreaterThan(0);
    const B = h.push('main', 'B');
    await h.waitFor('app', 'B deployed by the second worker', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === B && (v.lastLookAt ?? 0) > lookedAt);
    expect(h.triggers().map((t) => t.sha)).toEqual([A, B]);
  });
});
