// Issue 21, on the real dev server and git daemon: refs nobody follows cannot starve a mirror.
// A repository whose whole ref advertisement passes the 64 MiB cap still deploys its followed
// branch (the reads ask only for it), and a server whose answer really passes the cap blocks
// its follower with MirrorAdvertisementTooLarge at its next read (here a refresh, as a push
// webhook or run-once sends) — until the mirror answers sensibly again.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readRefs } from '../../activities/git-protocol.ts';
import { MAX_ADVERTISEMENT } from '../../activities/observe.ts';
import { loadRegistry } from '../../config/registry.ts';
import { refreshSignal, watcherStateQuery } from '../../contract/messages.ts';
import { floodRefs, repoDir } from '../../scripts/git-mirror.ts';
import { Harness, REPO } from '../support/harness.ts';
import { untilValue } from '../support/kube-cluster.ts';

let h: Harness | undefined;
let front: Front | undefined;
afterEach(async () => {
  front?.close();
  front = undefined;
  await h?.close();
  h = undefined;
});

const WATCH = { pollInterval: '300ms', observe: { mode: 'watch', fallbackInterval: '1h' } };
const NAME = 1000;

describe('a mirror flooded with refs nobody follows', () => {
  it('a repository whose whole advertisement passes the cap still deploys the followed branch', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 }, b: { deployMs: 100 } },
      followers: [
        { name: 'a', lane: 'a', branch: 'a' },
        { name: 'b', lane: 'b', branch: 'b' },
      ],
      defaults: WATCH,
    });
    const main = execFileSync('git', ['--git-dir', repoDir(h.mirrorRoot, REPO), 'rev-parse', 'main'], {
      encoding: 'utf8',
    }).trim();
    floodRefs(h.mirrorRoot, REPO, main, Math.ceil(MAX_ADVERTISEMENT / NAME), NAME);
    // The premise, from the daemon itself: asked for every ref (protocol v0), it sends past the cap.
    const url = new URL(h.daemon.url(REPO));
    const all = {
      prefixes: [],
      keep: () => false,
      timeoutMs: 60_000,
      maxBytes: MAX_ADVERTISEMENT,
      protocol: 0 as const,
    };
    await expect(readRefs(url, all)).rejects.toMatchObject({ kind: 'tooLarge' });

    await h.startWorker();
    await h.startFollowers();
    for (const n of ['a', 'b']) await h.waitFor(n, 'first deploy', (v) => v.phase === 'Succeeded');
    const watcher = h.client.workflow.getHandle(h.watcherId(h.daemon.url(REPO)));
    const moved = h.push('a', 'a push among the flood');
    // Woken by the watcher (the follower's own fallback is an hour away).
    await h.waitFor('a', 'deployed by the wake-up', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === moved);
    expect(h.triggers('a').map((t) => t.sha)).toContain(moved);
    const seen = await untilValue(async () => {
      const s = await watcher.query(watcherStateQuery);
      return s.heads?.a === moved ? s : undefined;
    }, 'the watcher reads the new head');
    expect(seen.failing).toBeUndefined();
    expect(Object.keys(seen.heads ?? {}).sort()).toEqual(['a', 'b']);
  });

  it('an answer past the cap blocks the follower with MirrorAdvertisementTooLarge at its next read, until the mirror answers sensibly', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 } },
      followers: [{ name: 'a', lane: 'a', branch: 'a' }],
      defaults: WATCH,
    });
    // The mirror is reached through a front that either passes the daemon through or, like a
    // server that speaks only v0 to a flood of refs, answers with packets past the cap.
    front = await startFront(h.daemonPort);
    const mirror = `git://127.0.0.1:${front.port}/${REPO}.git`;
    h.writeConfig({ followers: [{ name: 'a', lane: 'a', yaml: { source: { mirror, branch: 'a' } } }] });
    h.registry = loadRegistry(h.registryFile);
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('a', 'first deploy', (v) => v.phase === 'Succeeded');
    const watcher = h.client.workflow.getHandle(h.watcherId(mirror));

    front.flood = true;
    const failing = await untilValue(async () => (await watcher.query(watcherStateQuery)).failing, 'the watcher fails');
    expect(failing.message).toContain(`passed ${MAX_ADVERTISEMENT} bytes`);
    // The follower's own read — woken as a push webhook or `run-once` wakes it, not after its
    // hourly fallback — is Blocked with the code that says why.
    await h.handle('a').signal(refreshSignal);
    const blocked = await h.waitFor(
      'a',
      'Blocked by the flood',
      (v) => v.phase === 'Blocked' && v.code === 'MirrorAdvertisementTooLarge',
    );
    expect(blocked.mirrorBlocked?.code).toBe('MirrorAdvertisementTooLarge');
    expect(h.triggers('a')).toHaveLength(1);

    // The flood is cleaned up and the branch moves: the follower recovers and deploys it.
    const moved = h.push('a', 'after the clean-up');
    front.flood = false;
    await h.waitFor('a', 'deployed after recovery', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === moved);
    expect(h.triggers('a').map((t) => t.sha)).toContain(moved);
    // The watcher may still be reading the flood it was sent before the clean-up: its next read works.
    await untilValue(
      async () => !(await watcher.query(watcherStateQuery)).failing || undefined,
      'the watcher reads again',
    );
  });
});

interface Front {
  port: number;
  /** true: answer every connection with an endless v0 advertisement of maximal packets. */
  flood: boolean;
  close(): void;
}

/** A TCP front for the git daemon on `daemonPort` that can turn into a flood. */
async function startFront(daemonPort: number): Promise<Front> {
  const payload = 65520 - 4;
  const packet = Buffer.from(
    (payload + 4).toString(16) + `${'0'.repeat(40)} refs/heads/flood/${'z'.repeat(payload - 59)}\n`,
  );
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (!front.flood) {
      const upstream = net.connect({ host: '127.0.0.1', port: daemonPort });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      return;
    }
    client.once('data', () => {
      const pour = (): void => {
        while (!client.destroyed && client.write(packet));
      };
      client.on('drain', pour);
      pour();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const front: Front = {
    port: (server.address() as net.AddressInfo).port,
    flood: false,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  return front;
}
