// Fault suite, part 2: workers killed at random, the Temporal server killed mid-close-out, and two
// workers sharing a task queue. The control plane's trigger log is the witness of every trigger.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startDevServer, type DevServer } from '../../scripts/dev-server.ts';
import { freePort, startGitDaemon } from '../../scripts/git-mirror.ts';
import type { FollowerView } from '../../contract/state.ts';
import { Harness, processOutput, REPO } from '../support/harness.ts';
import { duplicates, report, shaRefires } from '../support/reliability.ts';

let h: Harness | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exited = (p: ChildProcess) =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => p.once('exit', () => r()));

/** Until the current worker (the supervisor may replace a dead one meanwhile) polls its task queue. */
async function polling(current: () => ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!processOutput(current()).includes('worker: polling')) {
    if (current().exitCode !== null) throw new Error(`worker exited early:\n${processOutput(current())}`);
    if (Date.now() > deadline) throw new Error(`worker did not start:\n${processOutput(current())}`);
    await sleep(50);
  }
}

const head = (harness: Harness, branch: string): string =>
  execFileSync(
    'git',
    ['--git-dir', path.join(harness.mirrorRoot, `${REPO}.git`), 'rev-parse', `refs/heads/${branch}`],
    { encoding: 'utf8' },
  ).trim();

/** Every triggered sha of this follower's lane has an outcome: nothing was left behind. */
function lost(harness: Harness, lane: string, view: FollowerView): string[] {
  return harness
    .triggers(lane)
    .map((t) => t.sha)
    .filter(
      (sha) =>
        !['Succeeded', 'Failed', 'Superseded'].includes(view.shas.find((r) => r.sha === sha)?.result?.outcome ?? ''),
    );
}

// Fast failover, so many kills fit in one run. A task handed to a worker as it dies comes back
// only when its timeout expires: the workflow-task timeout, the sticky-queue timeout, and for an
// activity that never started, its start-to-close timeout (derived from the adapter timeout).
const FAST_FAILOVER = {
  temporal: { workflowTaskTimeout: '2s' },
  worker: { stickyQueueScheduleToStartTimeout: '1s' },
};

describe.each(['poll', 'watch'] as const)('worker kills (%s mode)', (mode) => {
  it('SIGKILLs at random moments and right after the runtime accepted a trigger, jobs of seconds: no key or sha fires twice, every head ends deployed with the runtime on it, every fired sha has an outcome', async () => {
    const KILLS = 20;
    const PUSHES = 45;
    const lanes = ['l1', 'l2', 'l3'];
    h = await Harness.create({
      // Each lane's control plane kills the worker that runs some of its triggers, after accepting them.
      lanes: {
        l1: { deployMs: 1500, killWorkerOnTriggers: [2, 6, 11] },
        l2: { deployMs: 2500, killWorkerOnTriggers: [3, 8] },
        l3: { deployMs: 4000, killWorkerOnTriggers: [1, 5] },
      },
      followers: lanes.map((lane, i) => ({ name: `f${i + 1}`, lane, branch: `b${i + 1}` })),
      defaults: {
        pollInterval: '300ms',
        observe: { timeout: '2s', mode, fallbackInterval: '5s' },
        closeout: { pollInterval: '100ms', budget: '5m' },
        adapter: { timeout: '2s' }, // the demo adapter answers in ~0.2s; a lost attempt costs at most this
        activity: { heartbeatTimeout: '1s', maxAttempts: 50, maxRetryInterval: '1s' },
      },
      ...FAST_FAILOVER,
    });
    const workers = h.superviseWorker();
    await h.startFollowers();

    let pushed = 0;
    const pushing = (async () => {
      for (; pushed < PUSHES; pushed++) {
        h!.push(`b${(pushed % 3) + 1}`, `push ${pushed}`);
        await sleep(500 + Math.random() * 1000);
      }
    })();
    for (let kill = 1; kill <= KILLS; kill++) {
      await polling(workers.current);
      await sleep(Math.random() * 1500);
      workers.current().kill('SIGKILL');
      await exited(workers.current());
    }
    await pushing;
    const stormOver = Date.now(); // the last kill and the last push are both behind us

    const views = await Promise.all(
      lanes.map((_, i) => {
        const sha = head(h!, `b${i + 1}`);
        return h!.waitFor(
          `f${i + 1}`,
          `final head ${sha.slice(0, 8)} Succeeded`,
          (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha,
          300_000,
        );
      }),
    );
    const recoveryS = (Date.now() - stormOver) / 1000;
    const triggers = h.triggers();
    // The world: the runtime's own log and status, and the mirror's refs.
    const dups = duplicates(triggers);
    const missing = lanes.flatMap((lane, i) => lost(h!, lane, views[i]!));
    expect(pushed).toBe(PUSHES);
    expect(triggers.map((t) => t.triggerId)).not.toContain('-');
    expect(dups).toBe(0);
    expect(shaRefires(triggers)).toBe(0); // pushes only move forward: no sha is ever needed twice
    expect(missing).toEqual([]);
    lanes.forEach((lane, i) =>
      expect(h!.runtimeStatus(lane)).toMatchObject({ sha: head(h!, `b${i + 1}`), phase: 'Succeeded' }),
    );
    // The runtime's own kills, from its log. Each one the runtime attempts follows an accepted job
    // (l3's first is always one); one that comes after ours finds no worker and fails the command
    // instead — the follower learns nothing either way. How many land is chance: counted, reported.
    const runtimeKills = h.runtimeKills();
    expect(runtimeKills.killed.length + runtimeKills.missed).toBeGreaterThan(0);
    const deaths = workers.deaths().length;
    const lives = new Set(triggers.map((t) => t.worker)).size;
    report({
      fault: `worker SIGKILL (${mode} mode)`,
      injected: `${KILLS} kills at random moments and ${runtimeKills.killed.length} by the runtime right after accepting a trigger (${runtimeKills.missed} found their worker already dead); ${pushed} pushes on 3 branches, jobs of 1.5–4s; ${triggers.length} triggers, fired by ${lives} of ${deaths + 1} worker lives`,
      duplicates: dups,
      lost: missing.length,
      recovery: `final heads Succeeded, the runtime on each, ${recoveryS.toFixed(1)}s after the last kill and push; no key twice`,
      reproduce: `npx vitest run test/faults/crashes.test.ts -t "worker kills \\(${mode} mode\\)"`,
    });
  }, 900_000); // ~20 worker restarts and ~45 pushes spaced out: minutes, by design
});

describe('server restart', () => {
  it('the Temporal server killed -9 mid-close-out and restarted on the same DB: the follower resumes, no duplicate trigger', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-server-'));
    const port = await freePort();
    const serverOptions = {
      cli: inject('temporalCli'),
      host: '127.0.0.1',
      port,
      dbFile: path.join(dir, 'temporal.db'),
      namespace: 'default',
      startTimeoutMs: 120_000,
      log: () => undefined,
    };
    let server: DevServer = await startDevServer(serverOptions);
    cleanups.push(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    h = await Harness.create({
      address: server.address,
      lanes: { a: { deployMs: 4000 } },
      followers: [{ name: 'app', lane: 'a' }],
      ...FAST_FAILOVER,
    });
    const sha = h.push('main', 'x');
    let worker = h.spawnWorker();
    await h.startFollowers();
    await h.waitFor('app', 'closing out', (v) => v.phase === 'ClosingOut');

    server.process.kill('SIGKILL');
    await exited(server.process);
    const killedAt = Date.now();
    server = await startDevServer(serverOptions);
    if (worker.exitCode !== null) worker = h.spawnWorker(); // a worker that gave up is restarted, as a supervisor would
    await h.waitFor(
      'app',
      'deployed after the restart',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha,
      120_000,
    );
    const recoveryS = (Date.now() - killedAt) / 1000;
    expect(h.triggers().map((t) => t.sha)).toEqual([sha]);
    report({
      fault: 'Temporal server kill -9',
      injected: 'SIGKILL mid-close-out, restart on the same SQLite file',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `Succeeded ${recoveryS.toFixed(1)}s after the kill (server restart included)`,
      reproduce: 'npx vitest run test/faults/crashes.test.ts -t "server restart"',
    });
  });
});

describe('mirror outage', () => {
  it('mirror outage: an unreachable mirror is Blocked with since-when, nothing triggers, and it recovers within a poll', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'first deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === first);
    await h.daemon.stop();
    const blocked = await h.waitFor('app', 'blocked on the mirror', (v) => v.phase === 'Blocked');
    expect(blocked.code).toBe('MirrorUnreachable');
    expect(blocked.message).toMatch(
      /^reading git:\/\/127\.0\.0\.1:\d+\/org\/app\.git: 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    expect(blocked.mirrorBlocked?.since).toEqual(expect.any(Number));
    const second = h.push('main', 'during outage');
    await sleep(3 * 500 + 200); // three poll intervals of outage
    expect((await h.state('app')).mirrorBlocked?.since).toBe(blocked.mirrorBlocked?.since);
    expect(h.triggers()).toHaveLength(1);
    h.daemon = await startGitDaemon(h.mirrorRoot, '127.0.0.1', h.daemonPort);
    const back = Date.now();
    await h.waitFor(
      'app',
      'second deployed after recovery',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === second,
    );
    const recoveryS = (Date.now() - back) / 1000;
    const outage = (await h.events('app')).find((e) => e.code === 'MirrorRecovered');
    expect(outage).toBeDefined();
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);
    report({
      fault: 'mirror outage',
      injected: 'git daemon stopped for 3+ poll intervals while the branch moved',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `Blocked (MirrorUnreachable, since-when kept) with no trigger; new head deployed ${recoveryS.toFixed(1)}s after the mirror returned (poll 500ms); ${outage!.message}`,
      reproduce: 'npx vitest run test/faults/crashes.test.ts -t "mirror outage"',
    });
  });
});

describe('two workers', () => {
  it('share one task queue: nothing doubles, whichever takes the work', async () => {
    const n = 6;
    h = await Harness.create({
      lanes: Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, { deployMs: 300 }])),
      followers: Array.from({ length: n }, (_, i) => ({ name: `f${i}`, lane: `l${i}`, branch: `b${i}` })),
      defaults: { pollInterval: '300ms', closeout: { pollInterval: '100ms' } },
    });
    const workers = ['w1', 'w2'].map((name) => h!.spawnWorker({ env: { BF_WORKER_NAME: name } }));
    // Both poll before the first task exists, so either can take each follower.
    for (const w of workers) await polling(() => w);
    await h.startFollowers();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) h.push(`b${i}`, `round ${round}`);
      await sleep(700);
    }
    await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const sha = head(h!, `b${i}`);
        return h!.waitFor(
          `f${i}`,
          'final head Succeeded',
          (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha,
          120_000,
        );
      }),
    );
    const triggers = h.triggers();
    expect(duplicates(triggers)).toBe(0);
    // How the work splits is Temporal's to decide (a follower's tasks stick to the worker that has
    // it cached; one run here saw every trigger on one worker): reported, not asserted. Both stayed up.
    const byWorker = new Map<string, number>();
    for (const t of triggers) byWorker.set(t.worker, (byWorker.get(t.worker) ?? 0) + 1);
    for (const w of workers) expect(w.exitCode, processOutput(w)).toBeNull();
    report({
      fault: 'two workers, one task queue',
      injected: `${n} followers, ${n * 3} pushes, 2 worker processes`,
      duplicates: duplicates(triggers),
      lost: 0,
      recovery: `work split ${[...byWorker.entries()].map(([w, c]) => `${w}: ${c}`).join(', ')} triggers`,
      reproduce: 'npx vitest run test/faults/crashes.test.ts -t "two workers"',
    });
  });
});
