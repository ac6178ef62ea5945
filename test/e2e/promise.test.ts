// The promise end to end, on the real Temporal server, real git and the real demo control plane:
// each sequence an independent review broke, replayed. Every check reads the world — the control
// plane's own trigger log and status, the mirror's refs, the bytes in history — never only the
// follower's account of itself.
import { afterEach, describe, expect, it } from 'vitest';
import {
  FollowerIdKey,
  ownerOf,
  pauseSignal,
  refreshSignal,
  resumeSignal,
  workflowIdFor,
} from '../../contract/messages.ts';
import type { FollowerView } from '../../contract/state.ts';
import { setBranch, startGitDaemon } from '../../scripts/git-mirror.ts';
import { closingOut, demoAdapter, Harness, patchesIn, processOutput, REPO } from '../support/harness.ts';
import { duplicates, report } from '../support/reliability.ts';
import { v1WorkflowBundle } from '../support/v1-bundle.ts';

const reproduce = (name: string): string => `npx vitest run test/e2e/promise.test.ts -t "${name}"`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const succeededOn = (sha: string) => (v: FollowerView) => v.phase === 'Succeeded' && v.lastSucceededSha === sha;
const keysUnique = (harness: Harness) => {
  const keys = harness.triggers().map((t) => t.triggerId);
  expect(keys).not.toContain('-');
  expect(new Set(keys).size, `a key fired twice: ${keys.join(' ')}`).toBe(keys.length);
};

/** Fast failover: a lost task comes back after these timeouts, so a test can afford several. */
const FAST_FAILOVER = { temporal: { workflowTaskTimeout: '2s' }, worker: { stickyQueueScheduleToStartTimeout: '1s' } };
const FAST_ACTIVITIES = {
  adapter: { timeout: '2s' },
  activity: { heartbeatTimeout: '1s', maxAttempts: 10, maxRetryInterval: '1s' },
};

describe('the head is the goal', () => {
  it('flip-flop: A deployed, B (slow) in flight, force-push back to A, push B again — B ends deployed', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 3000 } }, followers: [{ name: 'app', lane: 'a' }] });
    const A = h.push('main', 'A');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'A deployed', succeededOn(A));
    const B = h.push('main', 'B');
    await h.waitFor('app', 'B in flight', (v) => closingOut(v)?.sha === B);
    setBranch(h.mirrorRoot, REPO, 'main', A);
    await h.handle('app').signal(refreshSignal);
    await h.waitFor(
      'app',
      'B superseded by the rewind',
      (v) => v.shas.find((r) => r.sha === B)?.result?.outcome === 'Superseded',
    );
    setBranch(h.mirrorRoot, REPO, 'main', B);
    await h.handle('app').signal(refreshSignal);
    const done = await h.waitFor('app', 'B deployed in a new run', succeededOn(B));
    expect(done.shas.find((r) => r.sha === B)?.runs).toBe(2);
    // The world: the runtime is on B, B was fired once per run, no key twice.
    expect(h.runtimeStatus('a')).toMatchObject({ sha: B, phase: 'Succeeded' });
    expect(h.triggers().filter((t) => t.sha === B)).toHaveLength(2);
    keysUnique(h);
    expect((await h.events('app')).some((e) => e.code === 'HeadReturned' && e.sha === B)).toBe(true);
    h.recordHistory('app', 'flip-flop');
    report({
      fault: 'flip-flop',
      injected: 'A deployed; B (3s job) in flight; force-push back to A; B again',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `runtime ends on B (its own status), B fired once per run; triggers ${h
        .triggers()
        .map((t) => (t.sha === A ? 'A' : 'B'))
        .join(' ')}`,
      reproduce: reproduce('flip-flop'),
    });
  });

  it('rewind while the successor is in flight: the runtime is asked, and the old head redeployed — with or without a cancel command', async () => {
    const nocancel: Record<string, unknown> = { ...demoAdapter() };
    delete nocancel.cancel;
    h = await Harness.create({
      lanes: { a: { deployMs: 2500 }, b: { deployMs: 2500 } },
      followers: [
        { name: 'cancels', lane: 'a', branch: 'one' },
        { name: 'nocancel', lane: 'b', branch: 'two', yaml: { adapter: 'nocancel' } },
      ],
      adapters: { nocancel },
    });
    const A = { one: h.push('one', 'A'), two: h.push('two', 'A') };
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('cancels', 'A deployed', succeededOn(A.one));
    await h.waitFor('nocancel', 'A deployed', succeededOn(A.two));
    const B = { one: h.push('one', 'B'), two: h.push('two', 'B') };
    await h.waitFor('cancels', 'B in flight', (v) => closingOut(v)?.sha === B.one);
    await h.waitFor('nocancel', 'B in flight', (v) => closingOut(v)?.sha === B.two);
    setBranch(h.mirrorRoot, REPO, 'one', A.one);
    setBranch(h.mirrorRoot, REPO, 'two', A.two);
    await h.handle('cancels').signal(refreshSignal);
    await h.handle('nocancel').signal(refreshSignal);
    // B was cancelled (or, with no cancel command, ran on): either way the runtime left A, so A goes out again.
    for (const [name, lane, branch] of [
      ['cancels', 'a', 'one'],
      ['nocancel', 'b', 'two'],
    ] as const) {
      const done = await h.waitFor(
        name,
        'A redeployed',
        (v) => succeededOn(A[branch])(v) && v.shas.find((r) => r.sha === A[branch])?.runs === 2,
      );
      expect(done.shas.find((r) => r.sha === B[branch])).toMatchObject({
        result: { outcome: 'Superseded', by: A[branch] },
      });
      expect(h.runtimeStatus(lane)).toMatchObject({ sha: A[branch], phase: 'Succeeded' });
      expect(h.triggers(lane).map((t) => t.sha)).toEqual([A[branch], B[branch], A[branch]]);
    }
    keysUnique(h);
    h.recordHistory('cancels', 'rewind-redeploy');
    report({
      fault: 'rewind while the successor is in flight',
      injected: 'A deployed; B (2.5s job) in flight; force-push back to A — with a cancel command, and without one',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery:
        'B superseded (cancelled, or left to finish); the runtime asked, A redeployed as run 2; the runtime ends on A in both lanes',
      reproduce: reproduce('rewind while'),
    });
  });
});

describe('at most once per key', () => {
  it('a worker killed by the adapter right after the runtime accepted, the job failing at once: nothing fires twice', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 0, outcomes: ['fail-terminal'], killWorkerOnTriggers: [1] } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: FAST_ACTIVITIES,
      ...FAST_FAILOVER,
    });
    const sha = h.push('main', 'x');
    const workers = h.superviseWorker();
    await h.startFollowers();
    const failed = await h
      .waitFor('app', 'Failed for the sha', (v) => v.phase === 'Failed' && v.observedSha === sha, 90_000)
      .catch((err) => {
        throw new Error(`${err}\nworker output:\n${processOutput(workers.current())}`);
      });
    // The worker really died mid-trigger, and the runtime's log holds the sha once.
    expect(workers.deaths()).toContain('SIGKILL');
    expect(h.triggers().map((t) => t.sha)).toEqual([sha]);
    expect(h.runtimeStatus('a')).toMatchObject({ sha, phase: 'Failed' });
    expect({ code: failed.code, message: failed.message }).toEqual({
      code: 'RuntimeFailed',
      message: 'rollout failed: invalid manifest',
    });
    // The retried activity found the job (the key) and did not fire: the run was adopted.
    expect((await h.events('app')).some((e) => e.code === 'AlreadyOnRuntime' && e.sha === sha)).toBe(true);
    h.recordHistory('app', 'killed-after-accept');
    report({
      fault: 'worker killed right after the runtime accepted',
      injected: 'the runtime SIGKILLs the worker running its trigger, after accepting it; the job fails at once',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery:
        'the retried activity waits out the orphaned command, sees the sha (Failed) and fires nothing; Failed: RuntimeFailed for it',
      reproduce: reproduce('killed by the adapter'),
    });
  });
});

describe('status is true', () => {
  it('paused stays Blocked(Paused) through fallback reads, a wake-up and a mirror blip in watch mode; nothing fires; a watcher continues as new', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: {
        pollInterval: '300ms',
        observe: { mode: 'watch', fallbackInterval: '1s' },
        loop: { continueAsNewAfter: 12 },
      },
    });
    const A = h.push('main', 'A');
    await h.startWorker();
    await h.startFollowers();
    const watcher = h.client.workflow.getHandle(h.watcherId(h.daemon.url(REPO)));
    const watcherFirstRun = (await watcher.describe()).runId;
    await h.waitFor('app', 'A deployed', succeededOn(A));
    const followerRun = (await h.handle('app').describe()).runId;
    await h.handle('app').signal(pauseSignal, { reason: 'change freeze' });
    await h.waitFor('app', 'paused', (v) => v.phase === 'Blocked' && v.code === 'Paused');

    // Watch every state the follower shows until it has read the mirror through all of this.
    const seen: { shown: string; paused: boolean }[] = [];
    const watching = (async () => {
      for (;;) {
        const v = await h!.state('app').catch(() => undefined);
        if (v) seen.push({ shown: `${v.phase}/${v.code}`, paused: v.paused !== undefined });
        if (v && !v.paused) return;
        await sleep(50);
      }
    })();
    // And what it shows at each step of the freeze: the state that ended each wait below.
    const steps: FollowerView[] = [];
    const step = async (what: string, pred: (v: FollowerView) => boolean) =>
      steps.push(await h!.waitFor('app', what, pred));
    const B = h.push('main', 'B during the freeze'); // the watcher wakes the follower
    await step('B read while paused', (v) => v.observedSha === B);
    const look = steps.at(-1)!.lastLookAt ?? 0;
    await step('two fallback reads', (v) => (v.lastLookAt ?? 0) >= look + 2000);
    await h.daemon.stop();
    await step('a failed read', (v) => v.mirrorBlocked !== undefined);
    h.daemon = await startGitDaemon(h.mirrorRoot, '127.0.0.1', h.daemonPort);
    await step('the mirror read again', (v) => v.mirrorBlocked === undefined);
    const again = steps.at(-1)!.lastLookAt ?? 0;
    await step('one more read', (v) => (v.lastLookAt ?? 0) > again);
    expect(steps.map((v) => `${v.phase}/${v.code}`)).toEqual(Array(5).fill('Blocked/Paused'));
    expect(h.triggers().map((t) => t.sha)).toEqual([A]);

    await h.handle('app').signal(resumeSignal, { reason: 'thaw' });
    await h.waitFor('app', 'B deployed after resume', succeededOn(B));
    await watching;
    // Every state read while paused, in between those steps too, showed Blocked(Paused), and nothing else.
    // (How many reads fit in depends on how fast the server answers queries on this machine.)
    const whilePaused = seen.filter((s) => s.paused);
    expect([...new Set(whilePaused.map((s) => s.shown))]).toEqual(['Blocked/Paused']);
    expect(h.triggers().map((t) => t.sha)).toEqual([A, B]);
    for (let i = 0; i < 100 && (await watcher.describe()).runId === watcherFirstRun; i++) await sleep(200);
    expect((await watcher.describe()).runId).not.toBe(watcherFirstRun);
    // Ownership survives continue-as-new: apply still knows this watcher is its registry's.
    expect(ownerOf((await watcher.describe()).memo)).toBe(h.registry.controller.registryId);
    h.recordHistory('app', 'paused-watch-fallback', followerRun);
    report({
      fault: 'pause in watch mode',
      injected: 'paused; a push (watcher wake-up), fallback reads, the mirror stopped and restarted',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `${whilePaused.length} state reads while paused, every one Blocked(Paused); nothing fired; the head deployed after resume`,
      reproduce: reproduce('paused stays'),
    });
    h.recordWorkflowHistory(h.watcherId(h.daemon.url(REPO)), 'watcher-continue-as-new', watcherFirstRun);
  });

  it('the close-out deadline passes while no worker runs and the runtime succeeds: Succeeded, with the overrun shown', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 2000 } },
      followers: [{ name: 'app', lane: 'a', yaml: { closeout: { check: 'ready', budget: '3s' } } }],
      defaults: FAST_ACTIVITIES,
      ...FAST_FAILOVER,
    });
    const sha = h.push('main', 'x');
    const worker = h.spawnWorker();
    await h.startFollowers();
    const closing = await h.waitFor('app', 'closing out', (v) => closingOut(v)?.sha === sha);
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    // The outage: past the deadline (workflow time is this machine's clock), while the job finishes.
    const deadline = closingOut(closing)!.deadline;
    while (Date.now() < deadline + 1500) await sleep(100);
    expect(h.runtimeStatus('a')).toMatchObject({ sha, phase: 'Succeeded' });
    h.spawnWorker();
    const done = await h.waitFor('app', 'closed out after the outage', (v) => v.phase === 'Succeeded', 90_000);
    expect(done.code).toBe('ClosedOutOverBudget');
    expect(done.shas.find((r) => r.sha === sha)!.result).toMatchObject({
      outcome: 'Succeeded',
      code: 'ClosedOutOverBudget',
      overrunMs: expect.any(Number),
    });
    expect((done.shas.find((r) => r.sha === sha)!.result as { overrunMs: number }).overrunMs).toBeGreaterThan(1000);
    expect(done.message).toMatch(
      /^closed out in \d+(\.\d)?s: \d+(\.\d)?s over the 3s budget from followers\[0\]\.closeout\.budget \(.*\) \(budget missed\)$/,
    );
    expect(h.triggers().map((t) => t.sha)).toEqual([sha]);
    h.recordHistory('app', 'budget-during-outage');
    report({
      fault: 'close-out deadline passes while no worker runs',
      injected: 'worker SIGKILLed mid-close-out (3s budget, 2s job); back 1.5s after the deadline',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `decided by a status read after the deadline: Succeeded (ClosedOutOverBudget), ${((done.shas.find((r) => r.sha === sha)!.result as { overrunMs: number }).overrunMs / 1000).toFixed(1)}s over, shown`,
      reproduce: reproduce('deadline passes'),
    });
  });
});

describe('running followers keep running across the upgrade', () => {
  it('a follower started by the v1 core (its projection failing) is replayed, handed over and deployed by v2; its carried v1 state starts a v2 run', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 200 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '300ms', loop: { continueAsNewAfter: 8 } },
      kubernetes: true, // a state projection this worker cannot write: a failed projection in v1
    });
    const A = h.push('main', 'A');
    await h.startWorker({ bundlePath: await v1WorkflowBundle() });
    await h.startFollowers();
    const v1Deployed = await h.waitFor(
      'app',
      'A deployed by v1',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === A,
    );
    expect((v1Deployed as unknown as { version?: number }).version).toBeUndefined();
    const firstRun = (await h.handle('app').describe()).runId;
    let running = firstRun;
    for (let i = 0; i < 200 && running === firstRun; i++) {
      await sleep(100);
      running = (await h.handle('app').describe()).runId;
    }
    expect(running).not.toBe(firstRun); // v1 continued as new, carrying its v1 state
    const carried = await h.continuedAsNewInput('app', firstRun);
    expect(carried.state).toMatchObject({ lastSucceededSha: A, pendingCancels: [] });
    expect(carried.state).not.toHaveProperty('version');

    // The upgrade: the v1 worker goes, the new one replays the running v1 run and takes over.
    // It goes in the middle of a run it decided in, read while no worker runs: v1 continues as new
    // every 8 iterations (a run it only just started has nothing to take over), and so does v2
    // (the current run once v2 is seen is not always the one it took over).
    let upgradedRun = '';
    for (let tries = 0; tries < 10 && !upgradedRun; tries++) {
      await h.stopWorker();
      const current = (await h.handle('app').describe()).runId;
      if (patchesIn(h.historyJson('app', current)).includes('observe-as-local-activity')) upgradedRun = current;
      else await h.startWorker({ bundlePath: await v1WorkflowBundle() });
    }
    expect(upgradedRun).not.toBe('');
    await h.startWorker();
    await h.handle('app').signal(refreshSignal);
    const upgraded = await h.waitFor('app', 'taken over by v2', (v) => v.version === 2);
    expect(upgraded.phase).toBe('Succeeded');
    const B = h.push('main', 'B');
    await h.waitFor('app', 'B deployed by v2', succeededOn(B));
    const events = await h.events('app');
    expect(events.some((e) => e.code === 'Migrated')).toBe(true);
    expect(events.some((e) => e.code === 'Recorded' && e.message.startsWith('state projection not written'))).toBe(
      true,
    );
    expect(h.triggers().map((t) => t.sha)).toEqual([A, B]);
    // The bytes in history: the run was recorded by v1 (its own patches), then marked by v2 where it took over.
    expect(patchesIn(h.historyJson('app', upgradedRun))).toEqual([
      'retry-failed-projection',
      'observe-as-local-activity',
      'decision-core-v2',
      'push-sha-hint',
      'continue-as-new-suggestion-after-timer',
      'notifications',
      'recorded-clock',
    ]);
    h.recordHistory('app', 'upgraded-from-v1', upgradedRun);

    // A continued run started from the state v1 carried: converted at start; the runtime is
    // already on B, so the follower, not knowing B, asks and fires nothing.
    await h.handle('app').terminate('restart from the carried v1 state');
    const restarted = (
      await h.client.workflow.start('followerWorkflow', {
        workflowId: workflowIdFor(h.id('app')),
        taskQueue: h.taskQueue,
        args: [carried],
        typedSearchAttributes: [{ key: FollowerIdKey, value: h.id('app') }],
      })
    ).firstExecutionRunId;
    const resumed = await h.waitFor(
      'app',
      'B closed out from the carried state',
      (v) => v.version === 2 && v.phase === 'Succeeded' && v.lastSucceededSha === B,
    );
    expect(resumed.shas.find((r) => r.sha === A)).toMatchObject({ result: { outcome: 'Succeeded' }, runs: 1 });
    expect(h.triggers().map((t) => t.sha)).toEqual([A, B]);
    h.recordHistory('app', 'continued-from-v1-state', restarted);
    report({
      fault: 'upgrade from the released v1 workflows',
      injected:
        'a follower running on the v1 workflows (from git), its projection failing; its worker replaced by this release; a run started from v1 carried state',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery:
        'v1 history replayed, handed over at the first live step (marker decision-core-v2), next push deployed; the carried run fired nothing (runtime already on the head)',
      reproduce: reproduce('started by the v1 core'),
    });
  });
});

/** The input a run continued as new with: what it carried into its next run. */
