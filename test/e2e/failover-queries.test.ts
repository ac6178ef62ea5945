// Queries while a follower changes hands. When a worker dies, its next workflow task waits on the
// dead worker's sticky queue until stickyQueueScheduleToStartTimeout passes; a query sent in that
// window goes to another worker with the history of its moment, which can hold the timer that
// fired, its task not started yet. Running the workflow on there decided on a clock and on signals
// a replay sees differently; workflows/task-boundary.ts now refuses it (that query fails, the next
// is answered) and test/e2e/query-race.test.ts shows the race itself. Harness.close() replays
// every run this test produced: that is the assertion.
import { afterEach, describe, expect, it } from 'vitest';
import { pauseSignal, resumeSignal } from '../../contract/messages.ts';
import { Harness } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Queries the follower every 50 ms for `ms`, as `status` run by a worried operator would; returns how many were answered. */
async function queryFor(harness: Harness, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let answered = 0;
  while (Date.now() < until) {
    if ((await harness.state('app').catch(() => undefined)) !== undefined) answered++;
    await sleep(50);
  }
  return answered;
}

/** A follower deployed by a worker that is then SIGKILLed, with a second worker in this process. */
async function failover(): Promise<{ harness: Harness; A: string; lookedAt: number }> {
  const harness = await Harness.create({
    lanes: { a: { deployMs: 200 } },
    followers: [{ name: 'app', lane: 'a' }],
    defaults: { pollInterval: '2s', observe: { mode: 'poll' } },
  });
  h = harness;
  const A = harness.push('main', 'A');
  const first = harness.spawnWorker();
  await harness.startFollowers();
  await harness.waitFor('app', 'A deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === A);
  // The follower now waits on its poll timer, its next task bound to the first worker.
  const lookedAt = (await harness.state('app')).lastLookAt ?? 0;
  await harness.startWorker();
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  return { harness, A, lookedAt };
}

describe('queries while a follower changes hands', () => {
  it('status queried while the dead worker still holds the follower’s next task: the new worker decides what replay decides', async () => {
    const { harness, A, lookedAt } = await failover();
    // All through the sticky window (10 s here).
    expect(await queryFor(harness, 14_000)).toBeGreaterThan(0);
    const B = harness.push('main', 'B');
    await harness.waitFor(
      'app',
      'B deployed by the second worker',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === B && (v.lastLookAt ?? 0) > lookedAt,
    );
    expect(harness.triggers().map((t) => t.sha)).toEqual([A, B]);
  });

  it('a pause and a resume sent in that window, with queries: each applied once, dated by a clock replay reads too', async () => {
    const { harness, A } = await failover();
    await sleep(2500); // the poll timer has fired; its task waits for the dead worker
    const sent = Date.now();
    await harness.handle('app').signal(pauseSignal, { reason: 'freeze' });
    expect(await queryFor(harness, 5000)).toBeGreaterThan(0);
    const paused = await harness.waitFor('app', 'paused', (v) => v.paused !== undefined);
    // Dated when a worker applied it, by that worker's clock: not before it was sent, not in the future.
    expect(paused.paused!.since).toBeGreaterThanOrEqual(sent);
    expect(paused.paused!.since).toBeLessThanOrEqual(Date.now());
    const B = harness.push('main', 'B');
    await harness.handle('app').signal(resumeSignal, { reason: 'thaw' });
    expect(await queryFor(harness, 6000)).toBeGreaterThan(0);
    await harness.waitFor(
      'app',
      'B deployed after the resume',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === B,
    );
    const codes = (await harness.events('app')).map((e) => e.code);
    expect(codes.filter((c) => c === 'Resumed')).toHaveLength(1);
    expect(harness.triggers().map((t) => t.sha)).toEqual([A, B]);
  });
});
