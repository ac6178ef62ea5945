// Push webhooks as the git hosts send them, signed by an implementation we did not write
// (@octokit/webhooks-methods, GitHub's own: its sha256=<hex> is also Flux's generic X-Signature,
// and its hex is what Gitea and Forgejo send bare). Payloads are shaped as the hosts document
// them. A tampered body, a wrong secret or a missing proof is refused before the body is read.
// The receiver under abuse runs in-process on real sockets, signalling through the test's Temporal
// server (its follower has no run there, so a refresh it sends fails and is logged): forged
// floods, slow and idle clients, too many connections, and names that only end like a followed one.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { loadRegistry } from '../../config/registry.ts';
import { freePort } from '../../scripts/git-mirror.ts';
import {
  BODY_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  SOURCE_BURST,
  UNAUTHENTICATED_BURST,
  serveWebhooks,
  type Receiver,
} from '../../worker/receiver.ts';
import { readWebhook } from '../../worker/webhooks.ts';
import { until } from '../support/kube-cluster.ts';
import { BASE_REGISTRY } from '../support/registry-text.ts';
import { sha } from '../support/spec.ts';
import { tempDir } from '../support/temp-dir.ts';

const SECRET = 'It is a webhook secret';
const after = sha(4);
const githubPush = JSON.stringify({
  ref: 'refs/heads/v0.3',
  before: sha(3),
  after,
  repository: { full_name: 'pikasTech/HWLAB', clone_url: 'https://github.com/pikasTech/HWLAB.git' },
});
const gitlabPush = JSON.stringify({
  object_kind: 'push',
  ref: 'refs/heads/main',
  before: sha(3),
  after,
  checkout_sha: after,
  project: { path_with_namespace: 'platform/app', git_http_url: 'https://gitlab.example.com/platform/app.git' },
});
const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('push webhooks', () => {
  it('GitHub: a signed push names the repository, the branch and the new head', async () => {
    const headers = {
      'x-hub-signature-256': await sign(SECRET, githubPush),
      'x-github-event': 'push',
      'x-github-delivery': 'd-1',
    };
    expect(readWebhook('github', headers, bytes(githubPush), SECRET)).toEqual({
      kind: 'push',
      delivery: 'd-1',
      repository: 'pikasTech/HWLAB',
      branch: 'v0.3',
      sha: after,
    });
  });

  it('GitHub: a tampered body, another secret or no signature is unauthorized', async () => {
    const signature = await sign(SECRET, githubPush);
    const tampered = githubPush.replace('v0.3', 'v0.4');
    expect(
      readWebhook('github', { 'x-hub-signature-256': signature, 'x-github-event': 'push' }, bytes(tampered), SECRET),
    ).toEqual({ kind: 'unauthorized' });
    const other = await sign('another secret', githubPush);
    expect(
      readWebhook('github', { 'x-hub-signature-256': other, 'x-github-event': 'push' }, bytes(githubPush), SECRET),
    ).toEqual({ kind: 'unauthorized' });
    expect(readWebhook('github', { 'x-github-event': 'push' }, bytes(githubPush), SECRET)).toEqual({
      kind: 'unauthorized',
    });
  });

  it("GitHub: the hook's ping and a tag push are answered and ignored", async () => {
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    expect(
      readWebhook(
        'github',
        { 'x-hub-signature-256': await sign(SECRET, ping), 'x-github-event': 'ping' },
        bytes(ping),
        SECRET,
      ),
    ).toMatchObject({
      kind: 'ignored',
      why: 'a ping event, not a push',
    });
    const tag = githubPush.replace('refs/heads/v0.3', 'refs/tags/v1.0.0');
    expect(
      readWebhook(
        'github',
        { 'x-hub-signature-256': await sign(SECRET, tag), 'x-github-event': 'push' },
        bytes(tag),
        SECRET,
      ),
    ).toMatchObject({
      kind: 'ignored',
      why: 'refs/tags/v1.0.0 is not a branch',
    });
  });

  it('Gitea and Forgejo: the bare hex signature of the same HMAC', async () => {
    const hex = (await sign(SECRET, githubPush)).slice('sha256='.length);
    for (const [sig, event, delivery] of [
      ['x-gitea-signature', 'x-gitea-event', 'x-gitea-delivery'],
      ['x-forgejo-signature', 'x-forgejo-event', 'x-forgejo-delivery'],
    ] as const) {
      expect(
        readWebhook('gitea', { [sig]: hex, [event]: 'push', [delivery]: 'g-1' }, bytes(githubPush), SECRET),
      ).toMatchObject({
        kind: 'push',
        delivery: 'g-1',
        branch: 'v0.3',
      });
      expect(
        readWebhook(
          'gitea',
          { [sig]: hex.replace(/^./, hex[0] === 'a' ? 'b' : 'a'), [event]: 'push' },
          bytes(githubPush),
          SECRET,
        ),
      ).toEqual({ kind: 'unauthorized' });
    }
  });

  it('GitLab: the shared token, and the project path as the repository', () => {
    const headers = { 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Push Hook', 'idempotency-key': 'k-1' };
    expect(readWebhook('gitlab', headers, bytes(gitlabPush), SECRET)).toEqual({
      kind: 'push',
      delivery: 'k-1',
      repository: 'platform/app',
      branch: 'main',
      sha: after,
    });
    expect(readWebhook('gitlab', { ...headers, 'x-gitlab-token': `${SECRET}!` }, bytes(gitlabPush), SECRET)).toEqual({
      kind: 'unauthorized',
    });
    expect(
      readWebhook('gitlab', { ...headers, 'x-gitlab-event': 'Tag Push Hook' }, bytes(gitlabPush), SECRET),
    ).toMatchObject({ kind: 'ignored' });
  });

  it('generic: X-Signature sha256=<hex> (sha512 too), as a Flux generic-hmac Receiver checks it', async () => {
    expect(
      readWebhook('generic', { 'x-signature': await sign(SECRET, githubPush) }, bytes(githubPush), SECRET),
    ).toMatchObject({ kind: 'push', branch: 'v0.3' });
    expect(readWebhook('generic', { 'x-signature': 'md5=0123' }, bytes(githubPush), SECRET)).toEqual({
      kind: 'unauthorized',
    });
  });

  it('a signed body that is not a push it can read is malformed, and says why', async () => {
    const notJson = 'ref=refs/heads/main';
    expect(
      readWebhook(
        'github',
        { 'x-hub-signature-256': await sign(SECRET, notJson), 'x-github-event': 'push' },
        bytes(notJson),
        SECRET,
      ),
    ).toEqual({
      kind: 'malformed',
      why: 'the body is not JSON',
    });
    const noRepo = JSON.stringify({ ref: 'refs/heads/main' });
    expect(
      readWebhook(
        'github',
        { 'x-hub-signature-256': await sign(SECRET, noRepo), 'x-github-event': 'push' },
        bytes(noRepo),
        SECRET,
      ),
    ).toEqual({
      kind: 'malformed',
      why: 'no repository name in the push',
    });
  });
});

/** The BASE registry (follower `one` follows org/repo@main) with a github source on `listen`. */
function receiverRegistry(listen: string) {
  const doc = YAML.parse(BASE_REGISTRY);
  doc.controller.webhooks = { listen, sources: { github: { kind: 'github', secretEnv: 'BF_TEST_SECRET' } } };
  const dir = tempDir('bf-receiver-');
  writeFileSync(path.join(dir, 'lanes.yaml'), 'lanes: {}\n');
  writeFileSync(path.join(dir, 'registry.yaml'), YAML.stringify(doc));
  return loadRegistry(path.join(dir, 'registry.yaml'));
}

/** A raw client connection: how long it stayed open and what it was sent. */
interface RawClient {
  socket: net.Socket;
  received: () => string;
  isClosed: () => boolean;
  /** Milliseconds from connecting to the server closing it; rejects when it is still open after `waitMs`. */
  closedWithin: (waitMs: number) => Promise<number>;
}

async function rawClient(port: number, first = ''): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let closedAfter: number | undefined;
  socket.on('data', (c: Buffer) => (received += c.toString()));
  socket.on('error', () => {}); // a reset is one way of being closed
  await once(socket, 'connect');
  const opened = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => resolve((closedAfter = Date.now() - opened))),
  );
  if (first) socket.write(first);
  return {
    socket,
    received: () => received,
    isClosed: () => closedAfter !== undefined,
    closedWithin: (waitMs) =>
      Promise.race([
        closed,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`still open after ${waitMs} ms`)), waitMs).unref(),
        ),
      ]),
  };
}

/** Writes `next(i)` every second until the socket closes (each write keeps it from being idle). */
function trickle(client: RawClient, next: (i: number) => string): void {
  let i = 0;
  const timer = setInterval(() => client.socket.write(next(i++)), 1000);
  client.socket.on('close', () => clearInterval(timer));
}

describe('the receiver under abuse', () => {
  const SECRET_ENV_VALUE = 'the receiver test secret';
  let client: Client;
  let receiver: Receiver | undefined;
  let port: number;
  let url: string;
  let lines: string[];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  });
  afterAll(async () => {
    await client.connection.close();
  });
  beforeEach(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}/hooks/github`;
    lines = [];
    receiver = await serveWebhooks({
      registry: receiverRegistry(`127.0.0.1:${port}`),
      client,
      env: { BF_TEST_SECRET: SECRET_ENV_VALUE },
      log: (line) => lines.push(line),
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await receiver?.close();
    receiver = undefined;
  });

  const push = (after: string, repository = 'org/repo') =>
    JSON.stringify({ ref: 'refs/heads/main', after, repository: { full_name: repository } });
  let deliveries = 0;
  /** POSTs `body` signed with `secret` (the receiver's unless said), or with no signature at all (null). */
  async function post(body: string, secret: string | null = SECRET_ENV_VALUE) {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': `d-${++deliveries}`,
      ...(secret === null ? {} : { 'x-hub-signature-256': await sign(secret, body) }),
    };
    const res = await fetch(url, { method: 'POST', body, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("a forged flood does not spend the source's budget: the signed push gets through, from the same address", async () => {
    // In waves of 15 connections (under MAX_CONNECTIONS); one signed push in the middle of the
    // flood, one right after it.
    const forged = () => Promise.all(Array.from({ length: 15 }, () => post(push(sha(1)), 'not the secret')));
    const answers = [...(await forged()), ...(await forged())];
    const [during, ...wave] = await Promise.all([
      post(push(sha(2))),
      ...Array.from({ length: 15 }, () => post(push(sha(1)), 'x')),
    ]);
    answers.push(...wave, ...(await forged()), ...(await forged()), ...(await forged()));
    const after = await post(push(sha(3)));
    expect(during).toEqual({ status: 202, body: { followers: ['one'] } });
    expect(after).toEqual({ status: 202, body: { followers: ['one'] } });
    const statuses = answers.map((a) => a.status);
    // The address's failure budget: its burst answered 401 (a little more refills meanwhile), then 429.
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(UNAUTHENTICATED_BURST);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(SOURCE_BURST);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);

    // Spent: a request with no proof is answered 429 before its body is read (it declares one and
    // sends none — reading would wait for the body deadline and answer 408).
    const bare = await rawClient(
      port,
      'POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
    );
    clients.push(bare);
    await until(async () => bare.received().includes('\r\n\r\n'), BODY_TIMEOUT_MS / 2, bare.received);
    expect(bare.received()).toMatch(/^HTTP\/1\.1 429 /);
    // Still spent, signed pushes are read, checked and accepted: the source's burst is left (but
    // for the two above, maybe refilled since), and then spent by them.
    const burst = await Promise.all(Array.from({ length: SOURCE_BURST + 10 }, (_, i) => post(push(sha(10 + i)))));
    expect(burst.filter((a) => a.status === 202).length).toBeGreaterThanOrEqual(SOURCE_BURST - 2);
    expect(burst.filter((a) => a.status === 429).length).toBeGreaterThan(0);
  });

  it('slow clients (headers, a chunked body, nothing at all) are cut off while a signed push is served', async () => {
    const slowHeaders = await Promise.all(
      Array.from({ length: 15 }, () => rawClient(port, 'POST /hooks/github HTTP/1.1\r\nHost: x\r\n')),
    );
    for (const c of slowHeaders) trickle(c, (i) => `x-pad-${i}: y\r\n`);
    const slowBody = await Promise.all(
      Array.from({ length: 15 }, () =>
        rawClient(
          port,
          'POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            'X-Hub-Signature-256: sha256=00\r\nX-GitHub-Event: push\r\nTransfer-Encoding: chunked\r\n\r\n',
        ),
      ),
    );
    for (const c of slowBody) trickle(c, () => '1\r\n{\r\n');
    const idle = await Promise.all(Array.from({ length: 10 }, () => rawClient(port)));
    const slow = [...slowHeaders, ...slowBody, ...idle];
    clients.push(...slow);

    expect(await post(push(sha(4)))).toEqual({ status: 202, body: { followers: ['one'] } });
    expect(slow.filter((c) => c.isClosed())).toEqual([]); // served while all of them were held open

    // Node checks the headers' deadline once a second (so up to 1 s late; 2 s more for a loaded
    // machine); the body's is the receiver's own timer.
    const headersClosed = await Promise.all(slowHeaders.map((c) => c.closedWithin(30_000)));
    expect(Math.max(...headersClosed)).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    for (const c of slowHeaders) expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    const bodyClosed = await Promise.all(slowBody.map((c) => c.closedWithin(30_000)));
    expect(Math.max(...bodyClosed)).toBeLessThan(BODY_TIMEOUT_MS + 3_000);
    // 408, or 429 once the address's failure budget is spent (every request here is from loopback).
    for (const c of slowBody) expect(c.received()).toMatch(/^HTTP\/1\.1 (408|429) /);
    const idleClosed = await Promise.all(idle.map((c) => c.closedWithin(30_000)));
    expect(Math.max(...idleClosed)).toBeLessThan(IDLE_TIMEOUT_MS + 3_000);
    expect((await post(push(sha(4)))).status).toBe(202);
  });

  it('past the connection cap a new connection is closed unanswered; once some go, the receiver serves again', async () => {
    // Each holds a request begun (its headers are due within HEADERS_TIMEOUT_MS: this runs well within).
    for (let i = 0; i < MAX_CONNECTIONS; i++) clients.push(await rawClient(port, 'POST /hooks/github HTTP/1.1\r\n'));
    const extra = await rawClient(port, 'POST /hooks/github HTTP/1.1\r\nHost: x\r\n\r\n');
    await extra.closedWithin(HEADERS_TIMEOUT_MS / 2);
    expect(extra.received()).toBe('');
    expect(clients.filter((c) => c.isClosed())).toEqual([]);
    for (const c of clients.splice(0)) c.socket.destroy();
    await until(
      async () => (await post(push(sha(5)))).status === 202,
      10_000,
      () => 'not served after the cap',
    );
  });

  it('a push matches only the exact owner/name of a followed mirror, case-insensitively', async () => {
    // A sha of its own each: the same sha again while the last one's refresh is still being sent is absorbed.
    let n = 60;
    const followers = async (repository: string) => (await post(push(sha(n++), repository))).body.followers;
    expect(await followers('repo')).toEqual([]);
    expect(await followers('x/org/repo')).toEqual([]);
    expect(await followers('xorg/repo')).toEqual([]);
    expect(await followers('org/repo')).toEqual(['one']);
    expect(await followers('ORG/Repo')).toEqual(['one']);
    // Logged JSON-quoted: a name's control characters do not reach the log raw.
    await followers('org/\u001b[2Jrepo\nforged line');
    expect(lines.find((l) => l.includes('no follower follows'))).toBe(
      'webhook github: no follower follows "repo"@"main"',
    );
    expect(lines.some((l) => /[\u0000-\u001f]/.test(l))).toBe(false);
  });

  it('a push whose refresh failed is not absorbed: the same sha again is sent again', async () => {
    // `one` has no run on the test server: the refresh fails, and is logged.
    expect((await post(push(sha(7)))).body).toEqual({ followers: ['one'] });
    await until(
      async () => lines.some((l) => l.includes('refresh of one not sent')),
      10_000,
      () => lines.join('\n'),
    );
    expect((await post(push(sha(7)))).body).toEqual({ followers: ['one'] });
  });
});
