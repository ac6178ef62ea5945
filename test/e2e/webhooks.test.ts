// Push webhooks end to end: the compiled worker, as the image runs it, serves the receiver; a push
// signed as GitHub signs it (@octokit/webhooks-methods) makes the follower read the mirror and
// deploy the new head at once — its poll interval is an hour, so nothing else could have. The
// witness is the runtime's trigger log. Hostile requests are refused and trigger nothing: a forged
// flood from the push's own (loopback) address does not hold it back, and replays of a push that
// was announced (fresh delivery ids) add nothing to the follower's history.
import http from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, setBranch } from '../../scripts/git-mirror.ts';
import { refreshSignal } from '../../contract/messages.ts';
import { MAX_BODY_BYTES } from '../../worker/receiver.ts';
import { Harness, REPO } from '../support/harness.ts';
import { until } from '../support/kube-cluster.ts';

const SECRET = 'a webhook secret for the test';
const SECRET_ENV = 'BF_TEST_WEBHOOK_SECRET';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The refresh signals in the follower's history (its current run). */
async function refreshes(handle: ReturnType<Harness['handle']>): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === refreshSignal.name)
    .length;
}

const pushPayload = (sha: string, repository = REPO, branch = 'main') =>
  JSON.stringify({ ref: `refs/heads/${branch}`, after: sha, repository: { full_name: repository } });

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The status of a POST that declares a body over the cap (and sends none of it). */
function declaredTooLarge(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-length': String(MAX_BODY_BYTES + 1) } },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('the push webhook receiver', () => {
  it('a signed push deploys the new head at once; a bad signature, a redelivery, a stranger and a flood do not', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    h = await Harness.create({
      lanes: { a: {} },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '1h' },
      webhooks: { listen, sources: { github: { kind: 'github', secretEnv: SECRET_ENV } }, announceWindow: '2s' },
    });
    const worker = h.spawnWorker({ env: { [SECRET_ENV]: SECRET } });
    const output = () => (worker as unknown as { output: string }).output;
    await until(async () => output().includes(`webhooks: listening on ${listen} for github`), 60_000, output);
    await h.startFollowers();
    const first = await h.waitFor('app', 'first head deployed', (v) => v.phase === 'Succeeded');
    const url = `http://${listen}/hooks/github`;
    const hook = async (body: string, delivery: string, secret = SECRET) =>
      post(url, body, {
        'x-hub-signature-256': await sign(secret, body),
        'x-github-event': 'push',
        'x-github-delivery': delivery,
      });

    const sha = h.push('main', 'pushed, then announced');
    // Refused before anything is read: a wrong secret, a tampered body.
    expect((await hook(pushPayload(sha), 'bad-1', 'not the secret')).status).toBe(401);
    const signature = await sign(SECRET, pushPayload(sha));
    expect(
      (
        await post(url, pushPayload(sha).replace('main', 'other'), {
          'x-hub-signature-256': signature,
          'x-github-event': 'push',
        })
      ).status,
    ).toBe(401);
    expect((await h.state('app')).observedSha).toBe(first.observedSha);
    // A source nobody declared, however its name is spelt, is not found.
    expect((await post(`http://${listen}/hooks/%E0%A4%A`, '{}', {})).status).toBe(404);
    expect((await post(`http://${listen}/hooks/gitlab`, '{}', {})).status).toBe(404);
    // Too large: refused on its declared length, before any of it is read.
    expect(await declaredTooLarge(url)).toBe(413);

    // A forged flood from loopback, in waves under the connection cap: its address's failure budget
    // runs out (401, then 429); the source's budget is not touched, so the signed push right after
    // it is accepted (the corpus saw it answered 429 after 40 forged ones).
    const forged: number[] = [];
    for (let wave = 0; wave < 4; wave++)
      forged.push(
        ...(
          await Promise.all(Array.from({ length: 15 }, (_, i) => hook(pushPayload(sha), `forged-${wave}-${i}`, 'x')))
        ).map((r) => r.status),
      );
    expect(forged.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(forged.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(forged.every((s) => s === 401 || s === 429)).toBe(true);
    expect(await hook(pushPayload(sha), 'delivery-1')).toEqual({ status: 202, body: { followers: [h.id('app')] } });
    const done = await h.waitFor(
      'app',
      'the announced head deployed',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha,
      30_000,
    );
    expect(done.lastSucceededSha).toBe(sha);
    expect(h.triggers().map((t) => t.sha)).toEqual([first.lastSucceededSha, sha]);

    // Replays: the same signed body under fresh delivery ids. Its sha is the one last announced
    // (and all its refreshes went out): answered unchanged, nothing sent, the history as it was.
    const signalled = await refreshes(h.handle('app'));
    const historyLength = (await h.handle('app').describe()).historyLength;
    for (let i = 0; i < 25; i++)
      expect(await hook(pushPayload(sha), `replay-${i}`)).toEqual({ status: 202, body: { unchanged: sha } });

    // A redelivery is answered and not acted on; a repository nobody follows is said and counted.
    expect(await hook(pushPayload(sha), 'delivery-1')).toEqual({ status: 202, body: { duplicate: 'delivery-1' } });
    expect(await hook(pushPayload(sha, 'someone/else'), 'delivery-2')).toEqual({
      status: 202,
      body: { followers: [], reason: 'no follower follows someone/else@main' },
    });
    // Only the exact owner/name: the bare name, which the followed path merely ends in, wakes nobody.
    const bare = REPO.split('/')[1]!;
    expect(await hook(pushPayload(sha, bare), 'delivery-bare')).toEqual({
      status: 202,
      body: { followers: [], reason: `no follower follows ${bare}@main` },
    });
    // A signed flood of the captured push (under the connection cap), more than the source's burst
    // on top of the replays: each absorbed, none of it charged to the source, which sends nothing.
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => hook(pushPayload(sha), `flood-${i}`)));
    expect(flood.filter((r) => r.body.unchanged !== sha)).toEqual([]);
    expect(h.triggers().map((t) => t.sha)).toEqual([first.lastSucceededSha, sha]);
    expect(output()).not.toContain('MaxListenersExceededWarning');
    expect((await h.handle('app').describe()).historyLength).toBe(historyLength);

    // The mirror lags the git host: the push is announced before the mirror has it. The follower
    // reads, finds the old head, and reads again (250 ms, doubling) until the mirror shows the
    // announced sha; with its hour-long poll interval, nothing else would read it.
    // The git host's next push right after the flood: the replays spent none of its budget.
    const lagging = h.push('staging', 'on the git host, not yet mirrored to main');
    // Sent with 9 copies at once (a replay racing the original): one is acted on, the rest absorbed.
    const copies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => hook(pushPayload(lagging), `delivery-lag-${i}`)),
    );
    expect(copies.filter((c) => c.body.unchanged === lagging)).toHaveLength(9);
    expect(copies.filter((c) => c.status === 202 && Array.isArray(c.body.followers))).toEqual([
      { status: 202, body: { followers: [h.id('app')] } },
    ]);
    await h.waitFor('app', 'the old head read again', (v) => (v.lastLookAt ?? 0) > (done.lastLookAt ?? 0));
    expect((await h.state('app')).observedSha).toBe(sha);
    await sleep(1000);
    setBranch(h.mirrorRoot, REPO, 'main', lagging); // the mirror catches up
    await h.waitFor(
      'app',
      'the announced sha deployed once the mirror had it',
      (v) => v.lastSucceededSha === lagging,
      30_000,
    );
    expect(h.triggers().map((t) => t.sha)).toEqual([first.lastSucceededSha, sha, lagging]);
    // Of everything sent since the replays, the one new push alone reached the follower.
    expect((await refreshes(h.handle('app'))) - signalled).toBe(1);
    // A push without a sha is never absorbed: there is nothing to tell it from the last one by.
    const shaless = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: REPO } });
    for (const delivery of ['shaless-1', 'shaless-2'])
      expect(await hook(shaless, delivery)).toEqual({ status: 202, body: { followers: [h.id('app')] } });

    // The ledger: every move so far was announced. One found by reading (a plain wake-up, as a
    // mirror watcher rings) that no webhook announces within the window (2 s here) is counted.
    expect((await h.cli('status')).out).toContain(
      `webhooks: receiver ${listen} answering (sources: github); no move in 24 h went unannounced`,
    );
    const unannounced = h.push('main', 'pushed, its webhook lost');
    await h.handle('app').signal(refreshSignal);
    await h.waitForEvent('app', 'a missed webhook', (e) => e.code === 'MissedWebhook' && e.sha === unannounced);
    expect((await h.cli('status')).out).toContain(
      `${REPO.toLowerCase()}: 1 move(s) found by reading that no webhook announced in 24 h`,
    );
  });
});
