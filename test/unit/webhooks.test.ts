// Push webhooks as the git hosts send them, signed by an implementation we did not write
// (@octokit/webhooks-methods, GitHub's own: its sha256=<hex> is also Flux's generic X-Signature,
// and its hex is what Gitea and Forgejo send bare). Payloads are shaped as the hosts document
// them. A tampered body, a wrong secret or a missing proof is refused before the body is read.
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { readWebhook } from '../../worker/webhooks.ts';
import { sha } from '../support/spec.ts';

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
