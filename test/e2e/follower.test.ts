// End to end: a real Temporal dev server, real git over `git daemon`, the real demo adapter
// scripts. The control plane's trigger log is the witness of every trigger.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteBranch } from '../../scripts/git-mirror.ts';
import { pauseSignal, refreshSignal, resumeSignal, triggerSignal } from '../../contract/messages.ts';
import type { FollowerView } from '../../contract/state.ts';
import { Harness, processOutput, REPO, closingOut } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Waits until the follower has tried the mirror for `n` more poll intervals, by the workflow's own clock. */
async function observations(harness: Harness, name: string, n: number): Promise<FollowerView> {
  const start = (await harness.state(name)).lastLookAt ?? 0;
  const spec = harness.registry.followers.find((f) => f.spec.id === harness.id(name))!.spec;
  return harness.waitFor(name, `${n} more observations`, (v) => (v.lastLookAt ?? 0) >= start + n * spec.pollIntervalMs);
}

const succeededOn = (sha: string) => (v: FollowerView) => v.phase === 'Succeeded' && v.lastSucceededSha === sha;

describe('follower: observe → trigger → close out', () => {
  it('triggers a new sha exactly once, repeated observations never re-trigger, and search attributes follow', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 300 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'first sha deployed', succeededOn(first));
    const second = h.push('main', 'second');
    await h.waitFor('app', 'second sha deployed', succeededOn(second));
    await observations(h, 'app', 5);
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);

    const view = await h.state('app');
    expect(view).toMatchObject({
      observedSha: second,
      targetSha: second,
      lastTriggeredSha: second,
      lastSucceededSha: second,
    });
    expect(view.budget.source.path).toBe('defaults.closeout.budget');
    expect(view.shas.find((r) => r.sha === second)).toMatchObject({
      runs: 1,
      result: { outcome: 'Succeeded', code: 'ClosedOut' },
    });

    // Visibility is eventually consistent: poll the real list API until the attributes show.
    const query = `FollowerId='${h.id('app')}' AND FollowerPhase='Succeeded' AND LastSucceededSha='${second}'`;
    let found = 0;
    for (let i = 0; i < 100 && found === 0; i++) {
      found = 0;
      for await (const _ of h.client.workflow.list({ query })) found++;
      if (found === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toBe(1);

    // What the Temporal UI shows as the follower's current details: the mirror's head, deployed, what comes next.
    const { currentDetails } = await h.handle('app').query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toMatch(/^\*\*Succeeded\*\* · `ClosedOut`/);
    expect(currentDetails).toContain(`- head of \`main\`: \`${second.slice(0, 12)}\``);
    expect(currentDetails).toContain(`- deployed: \`${second.slice(0, 12)}\``);
    expect(currentDetails).toContain('- now: wait until ');
    h.recordHistory('app', 'push-twice-succeed');
  });

  it('a push during close-out supersedes the in-flight sha, cancels its job and deploys the new head', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 4000 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor(
      'app',
      'closing out the first sha',
      (v) => v.phase === 'ClosingOut' && closingOut(v)?.sha === first,
    );
    const second = h.push('main', 'second');
    await h.handle('app').signal(refreshSignal);
    const done = await h.waitFor('app', 'second sha deployed', succeededOn(second));

    expect(done.shas.find((r) => r.sha === first)).toMatchObject({ result: { outcome: 'Superseded', by: second } });
    const events = await h.events('app');
    expect(events.some((e) => e.to === 'Superseded' && e.sha === first)).toBe(true);
    expect(events.some((e) => e.message.startsWith(`cancel of ${first.slice(0, 12)} sent`))).toBe(true);
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);
    const lane = JSON.parse(readFileSync(path.join(h.stateDir, 'N1_a.json'), 'utf8')) as {
      jobs: { sha: string; cancelled?: number }[];
    };
    expect(lane.jobs[0]).toMatchObject({ sha: first, cancelled: expect.any(Number) });
    h.recordHistory('app', 'supersede');
  });

  it('a close-out over its budget is Failed with BudgetExceeded, elapsed, budget and where the budget came from', async () => {
    h = await Harness.create({
      lanes: { a: { outcomes: ['never'] } },
      followers: [{ name: 'app', lane: 'a', yaml: { closeout: { check: 'ready', budget: '1500ms' } } }],
    });
    const sha = h.push('main', 'slow');
    await h.startWorker();
    await h.startFollowers();
    const failed = await h.waitFor('app', 'budget exceeded', (v) => v.phase === 'Failed');
    expect(failed.lastError).toMatchObject({ code: 'BudgetExceeded', sha });
    expect(failed.code).toBe('BudgetExceeded');
    expect(failed.message).toMatch(
      /^close-out took \d+(\.\d)?s, over the 1\.5s budget from followers\[0\]\.closeout\.budget \(.*registry\.yaml:\d+\); runtime reports [0-9a-f]{12} Running/,
    );
    expect(failed.budget).toMatchObject({ totalMs: 1500, source: { path: 'followers[0].closeout.budget' } });
    await observations(h, 'app', 4);
    expect((await h.state('app')).phase).toBe('Failed');
    expect(h.triggers()).toHaveLength(1);
  });

  it('retries a retryable failure after backoff and then succeeds', async () => {
    h = await Harness.create({
      lanes: { a: { outcomes: ['fail-retryable', 'succeed'] } },
      followers: [{ name: 'app', lane: 'a' }],
    });
    const sha = h.push('main', 'flaky');
    await h.startWorker();
    await h.startFollowers();
    const done = await h.waitFor('app', 'succeeded after a retry', succeededOn(sha));
    expect(h.triggers().map((t) => t.sha)).toEqual([sha, sha]);
    expect(done.shas.find((r) => r.sha === sha)).toMatchObject({ runs: 2, result: { outcome: 'Succeeded' } });
    const events = await h.events('app');
    expect(
      events.some((e) => e.to === 'Failed' && e.code === 'RuntimeFailed' && e.message.includes('retry 2/3 in 300ms')),
    ).toBe(true);
    expect(events.some((e) => e.to === 'PendingTrigger' && e.code === 'RetryDue')).toBe(true);
    h.recordHistory('app', 'retry-then-succeed');
  });

  it('a terminal failure stays Failed for that sha; the next sha deploys', async () => {
    h = await Harness.create({
      lanes: { a: { outcomes: ['fail-terminal', 'succeed'] } },
      followers: [{ name: 'app', lane: 'a' }],
    });
    const bad = h.push('main', 'broken');
    await h.startWorker();
    await h.startFollowers();
    const failed = await h.waitFor('app', 'terminal failure', (v) => v.phase === 'Failed');
    expect({ code: failed.code, message: failed.message }).toEqual({
      code: 'RuntimeFailed',
      message: 'rollout failed: invalid manifest',
    });
    await observations(h, 'app', 4);
    expect((await h.state('app')).phase).toBe('Failed');
    expect(h.triggers()).toHaveLength(1);
    const fix = h.push('main', 'fix');
    await h.waitFor('app', 'fix deployed', succeededOn(fix));
    expect(h.triggers().map((t) => t.sha)).toEqual([bad, fix]);
  });

  it('pause blocks triggers (and manual ones), resume deploys what arrived meanwhile, and a manual trigger re-deploys the head', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 200 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'first deployed', succeededOn(first));

    await h.handle('app').signal(pauseSignal, { reason: 'change freeze' });
    await h.waitFor(
      'app',
      'paused',
      (v) => v.phase === 'Blocked' && v.code === 'Paused' && v.message === 'paused: change freeze',
    );
    const second = h.push('main', 'during freeze');
    await h.waitFor('app', 'second observed while paused', (v) => v.observedSha === second);
    await observations(h, 'app', 3);
    expect(await h.state('app')).toMatchObject({ phase: 'Blocked', code: 'Paused' });
    expect(h.triggers()).toHaveLength(1);

    await h.handle('app').signal(triggerSignal, { reason: 'hotfix during the freeze' });
    await h.waitForEvent('app', 'manual trigger refused while paused', (e) => e.code === 'ManualWhilePaused');
    await observations(h, 'app', 2);
    expect(await h.state('app')).toMatchObject({ phase: 'Blocked', code: 'Paused' });
    expect(h.triggers()).toHaveLength(1);

    await h.handle('app').signal(resumeSignal, { reason: 'freeze over' });
    await h.waitFor('app', 'second deployed after resume', succeededOn(second));
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);

    await h.handle('app').signal(triggerSignal, { sha: 'f'.repeat(40), reason: 'wrong sha' });
    await h.waitForEvent(
      'app',
      'manual trigger of a sha that is not the head refused',
      (e) => e.code === 'ManualNotHead' && e.sha === 'f'.repeat(40),
    );
    await h.handle('app').signal(triggerSignal, { reason: 'redeploy after node repair' });
    await h.waitFor(
      'app',
      'manual redeploy done',
      (v) => v.phase === 'Succeeded' && v.shas.find((r) => r.sha === second)?.runs === 2,
    );
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second, second]);
    h.recordHistory('app', 'pause-resume-manual');
  });

  it('continue-as-new carries state and events; nothing re-triggers across runs', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '200ms', loop: { continueAsNewAfter: 8 } },
    });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'first deployed', succeededOn(first));
    const firstRun = (await h.handle('app').describe()).runId;
    const runs = new Set([firstRun]);
    for (let i = 0; i < 200 && runs.size < 3; i++) {
      runs.add((await h.handle('app').describe()).runId);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs.size).toBeGreaterThanOrEqual(3);
    const view = await h.state('app');
    expect(view).toMatchObject({ phase: 'Succeeded', lastSucceededSha: first });
    expect((await h.events('app')).some((e) => e.to === 'Succeeded' && e.sha === first)).toBe(true);
    const second = h.push('main', 'second');
    await h.waitFor('app', 'second deployed in a later run', succeededOn(second));
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);
    h.recordHistory('app', 'continue-as-new-first-run', firstRun);
  });

  it('a worker killed mid-close-out does not trigger twice; a new worker finishes the close-out', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 3000 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { activity: { heartbeatTimeout: '2s' } },
    });
    const sha = h.push('main', 'deploy me');
    const first = h.spawnWorker();
    await h.startFollowers();
    await h.waitFor('app', 'closing out', (v) => v.phase === 'ClosingOut' && closingOut(v)?.sha === sha);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = h.spawnWorker();
    await h.waitFor('app', 'deployed by the second worker', succeededOn(sha), 90_000).catch((err) => {
      throw new Error(`${err}\nworker output:\n${processOutput(second)}`);
    });
    expect(h.triggers().map((t) => t.sha)).toEqual([sha]);
  });

  it('SIGTERM shuts a worker down gracefully (exit 0, its work directory gone) while a close-out is in flight; another worker finishes it', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 2000 } }, followers: [{ name: 'app', lane: 'a' }] });
    const sha = h.push('main', 'x');
    const worker = h.spawnWorker();
    await h.startFollowers();
    await h.waitFor('app', 'closing out', (v) => v.phase === 'ClosingOut');
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Off a terminal the worker logs JSON lines, with fields a log shipper can filter on.
    const polling = processOutput(worker)
      .split('\n')
      .find((l) => l.includes('worker: polling'));
    expect(JSON.parse(polling!)).toMatchObject({ level: 'info', taskQueue: h.taskQueue, address: h.address });
    // Spawned workers make their temporary directories in the test's.
    expect(readdirSync(h.dir).filter((e) => e.startsWith('branch-follower-work-'))).toEqual([]);
    h.spawnWorker();
    await h.waitFor('app', 'deployed', succeededOn(sha));
    expect(h.triggers()).toHaveLength(1);
  });

  it('a worker started inside a dirty, behind checkout of the repo decides from the mirror only', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const checkout = path.join(h.dir, 'checkout');
    execFileSync('git', ['clone', '--quiet', h.daemon.url(REPO), checkout]);
    writeFileSync(path.join(checkout, 'README'), 'local edits nobody pushed');
    execFileSync('git', [
      '-C',
      checkout,
      'config',
      'url.git://127.0.0.1:1/.insteadOf',
      `git://127.0.0.1:${h.daemonPort}/`,
    ]);
    const head = h.push('main', 'mirror moved on');
    const local = execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(local).not.toBe(head);

    h.spawnWorker({ cwd: checkout, env: { GIT_DIR: path.join(checkout, '.git') } });
    await h.startFollowers();
    const done = await h.waitFor('app', 'mirror head deployed', succeededOn(head));
    expect(done.observedSha).toBe(head);
    expect(h.triggers().map((t) => t.sha)).toEqual([head]);
  });
});

describe('follower: Blocked, with a reason, and recovery', () => {
  it('a branch that does not exist is Blocked with BranchNotFound', async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'app', lane: 'a', branch: 'release/v9' }] });
    deleteBranch(h.mirrorRoot, REPO, 'release/v9');
    await h.startWorker();
    await h.startFollowers();
    const v = await h.waitFor('app', 'blocked', (s) => s.phase === 'Blocked');
    expect(v.code).toBe('BranchNotFound');
    expect(v.message).toMatch(/^branch release\/v9 does not exist on git:/);
    expect(h.triggers()).toHaveLength(0);
  });

  it('a missing adapter binary is Blocked with AdapterMissing and recovers when it appears', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const program = path.join(h.dir, 'bin', 'lanectl');
    const argv = (verb: string, extra: string[] = []) => ({
      argv: [
        program,
        'nodes',
        'control-plane',
        verb,
        '--node',
        '{node}',
        '--lane',
        '{lane}',
        '--config',
        '{configRef}',
        ...extra,
      ],
    });
    h.writeConfig({ adapter: { status: argv('status'), trigger: argv('trigger-current', ['--sha', '{sha}']) } });
    h.registry = (await import('../../config/registry.ts')).loadRegistry(h.registryFile);
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    const blocked = await h.waitFor('app', 'adapter missing', (v) => v.phase === 'Blocked');
    expect(blocked.code).toBe('AdapterMissing');
    expect(blocked.message).toContain(`adapter demo status: cannot run ${program}: not found`);
    mkdirSync(path.dirname(program), { recursive: true });
    symlinkSync(path.resolve('examples/bin/hwlab'), program);
    await h.waitFor('app', 'deployed once the adapter exists', succeededOn(sha));
    expect(h.triggers().map((t) => t.sha)).toEqual([sha]);
  });
});

describe('follower: secrets', () => {
  it('a secret value the adapter leaks never reaches Temporal history or the state query', async () => {
    const secret = `s3cr3t-${Date.now()}-value`;
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    // An adapter that fails its first trigger with the token in its message, then behaves.
    const wrapper = path.join(h.dir, 'bin', 'leaky');
    mkdirSync(path.dirname(wrapper), { recursive: true });
    const marker = path.join(h.dir, 'leaked-once');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$3" = trigger-current ] && [ ! -e ${marker} ]; then touch ${marker}; echo "{\\"message\\":\\"auth with $DEMO_TOKEN refused\\",\\"retryable\\":true}"; exit 1; fi\nexec ${path.resolve('examples/bin/hwlab')} "$@"\n`,
      { mode: 0o755 },
    );
    const argv = (verb: string, extra: string[] = []) => ({
      argv: [
        wrapper,
        'nodes',
        'control-plane',
        verb,
        '--node',
        '{node}',
        '--lane',
        '{lane}',
        '--config',
        '{configRef}',
        ...extra,
      ],
    });
    h.writeConfig({ adapter: { status: argv('status'), trigger: argv('trigger-current', ['--sha', '{sha}']) } });
    h.registry = (await import('../../config/registry.ts')).loadRegistry(h.registryFile);
    process.env.DEMO_TOKEN = secret;
    process.env.BRANCH_FOLLOWER_FINGERPRINT_KEY = 'the-workers-key';
    try {
      const sha = h.push('main', 'x');
      await h.startWorker();
      await h.startFollowers();
      await h.waitFor('app', 'deployed after the leaky failure', succeededOn(sha));
    } finally {
      delete process.env.DEMO_TOKEN;
      delete process.env.BRANCH_FOLLOWER_FINGERPRINT_KEY;
    }
    expect(existsSync(marker)).toBe(true);
    const history = h.historyJson('app');
    const state = JSON.stringify(await h.state('app')) + JSON.stringify(await h.events('app'));
    expect(history).toContain('[redacted:DEMO_TOKEN]');
    expect(history).not.toContain(secret);
    expect(state).not.toContain(secret);
    // What operators may see instead: the name, presence and a fingerprint keyed with the workers' key.
    expect((await h.state('app')).secrets?.entries).toContainEqual({
      name: 'DEMO_TOKEN',
      present: true,
      fingerprint: `hmac-sha256:${createHmac('sha256', 'the-workers-key').update(secret).digest('hex').slice(0, 12)}`,
    });
  });
});
