// observe.mode: watch, on the real dev server and git daemon: one mirror watcher per repository
// reads all its heads, wakes only the followers whose branch moved, and wakes everyone after a
// mirror outage; idle followers read the mirror only at their fallback interval.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../config/registry.ts';
import { repoDir, seedMirror, startGitDaemon } from '../../scripts/git-mirror.ts';
import { watcherStateQuery } from '../../contract/messages.ts';
import { Harness, REPO } from '../support/harness.ts';
import { untilValue } from '../support/kube-cluster.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const WATCH = { pollInterval: '300ms', observe: { mode: 'watch', fallbackInterval: '1h' } };

describe('mirror watcher', () => {
  it('one read per repository wakes only the follower whose branch moved', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 }, b: { deployMs: 100 }, c: { deployMs: 100 }, d: { deployMs: 100 } },
      followers: [
        { name: 'a', lane: 'a', branch: 'a' },
        { name: 'b', lane: 'b', branch: 'b' },
        { name: 'c', lane: 'c', branch: 'c' },
      ],
      defaults: WATCH,
    });
    // A second repository: its own watcher.
    seedMirror(h.mirrorRoot, [{ repo: 'org/other', branches: [{ name: 'main', commits: 1 }] }]);
    const other = { name: 'd', lane: 'd', yaml: { source: { mirror: h.daemon.url('org/other'), branch: 'main' } } };
    h.writeConfig({
      followers: [
        { name: 'a', lane: 'a', branch: 'a' },
        { name: 'b', lane: 'b', branch: 'b' },
        { name: 'c', lane: 'c', branch: 'c' },
        other,
      ],
    });
    h.registry = loadRegistry(h.registryFile);
    await h.startWorker();
    await h.startFollowers();
    for (const n of ['a', 'b', 'c', 'd']) await h.waitFor(n, 'first deploy', (v) => v.phase === 'Succeeded');
    const watcher = h.client.workflow.getHandle(h.watcherId(h.daemon.url(REPO)));
    await waitForRead(watcher, 2);

    const looked = Object.fromEntries(
      await Promise.all(['a', 'b', 'c'].map(async (n) => [n, (await h!.state(n)).lastLookAt] as const)),
    );
    const moved = h.push('b', 'only b moves');
    await h.waitFor('b', 'deployed by the wake-up', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === moved);
    // Several watcher reads later, a and c have not read the mirror again: nobody woke them.
    await waitForRead(watcher, 3);
    for (const n of ['a', 'c'])
      expect((await h.state(n)).lastLookAt, `${n} read the mirror while idle`).toBe(looked[n]);
    expect((await watcher.query(watcherStateQuery)).wakeUps).toBe(1);
    expect(h.triggers('b').map((t) => t.sha)).toContain(moved);

    const plan = JSON.parse((await h.cli('plan', '-o', 'json')).out);
    expect(plan.watchers.map((w: { mirror: string; action: string }) => `${w.mirror} ${w.action}`).sort()).toEqual(
      [`${h.daemon.url(REPO)} unchanged`, `${h.daemon.url('org/other')} unchanged`].sort(),
    );
    const status = await h.cli('status');
    expect(status.out).toMatch(/mirror watchers: 2\/2 running, oldest read \d+(ms|s) ago/);
  });

  it('a mirror outage shows on the watcher, and every follower is woken once the mirror is back', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 }, b: { deployMs: 100 } },
      followers: [
        { name: 'a', lane: 'a', branch: 'a' },
        { name: 'b', lane: 'b', branch: 'b' },
      ],
      defaults: WATCH,
    });
    await h.startWorker();
    await h.startFollowers();
    for (const n of ['a', 'b']) await h.waitFor(n, 'first deploy', (v) => v.phase === 'Succeeded');
    const watcher = h.client.workflow.getHandle(h.watcherId(h.daemon.url(REPO)));
    await waitForRead(watcher, 1);
    // The Temporal UI's current details name each branch's head as git has it, and the next read.
    const metadata = () => watcher.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    const watching = (await metadata()).currentDetails;
    for (const branch of ['a', 'b']) {
      const head = execFileSync('git', ['--git-dir', repoDir(h.mirrorRoot, REPO), 'rev-parse', branch], {
        encoding: 'utf8',
      }).trim();
      expect(watching).toContain(`\`${branch}\` \`${head.slice(0, 12)}\``);
    }
    expect(watching).toMatch(/^- now: wait until \S+: the next read, then wake the followers whose branch moved$/m);

    await h.daemon.stop();
    const failing = await untilValue(
      async () => (await watcher.query(watcherStateQuery)).failing,
      'watcher sees the outage',
      30_000,
    );
    expect(failing.message).toMatch(/reading git:\/\/127\.0\.0\.1:\d+\/org\/app\.git: .*ECONNREFUSED/);
    // The Temporal UI's current details say so too, with the cause.
    const { currentDetails } = await metadata();
    expect(currentDetails).toMatch(
      /^\*\*Failing\*\* `git:\/\/127\.0\.0\.1:\d+\/org\/app\.git`: 2 branch\(es\) for 2 follower\(s\)/,
    );
    expect(currentDetails).toContain('ECONNREFUSED');
    const before = (await h.state('a')).lastLookAt!;
    // The branch moves while the mirror is unreadable, then the mirror comes back.
    const moved = h.push('a', 'during the outage');
    h.daemon = await startGitDaemon(h.mirrorRoot, '127.0.0.1', h.daemonPort);
    await h.waitFor('a', 'deployed after recovery', (v) => v.lastSucceededSha === moved);
    await h.waitFor('b', 'woken after recovery', (v) => (v.lastLookAt ?? 0) > before);
    expect((await watcher.query(watcherStateQuery)).failing).toBeUndefined();
    h.recordWorkflowHistory(h.watcherId(h.daemon.url(REPO)), 'watcher-outage-recovery');
    h.recordHistory('a', 'watched-follower-outage');
  });
});

async function waitForRead(
  watcher: { query: (q: typeof watcherStateQuery) => Promise<{ readAt?: number }> },
  reads: number,
): Promise<void> {
  let last = 0;
  for (let seen = 0; seen < reads;) {
    const readAt = await untilValue(
      async () => {
        const r = (await watcher.query(watcherStateQuery)).readAt;
        return r !== undefined && r > last ? r : undefined;
      },
      'a watcher read',
      30_000,
    );
    last = readAt;
    seen++;
  }
}
