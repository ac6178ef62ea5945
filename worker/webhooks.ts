// What a git host's push webhook says, once it has proven where it came from. Each kind checks
// the host's own proof: GitHub's X-Hub-Signature-256 (sha256=<hex> HMAC of the raw body), Gitea's
// and Forgejo's X-Gitea-Signature / X-Forgejo-Signature (bare hex HMAC), GitLab's X-Gitlab-Token
// (the shared secret itself), and the generic X-Signature (sha256=<hex> or sha512=<hex>, as Flux's
// generic-hmac Receiver). Comparisons are constant-time. Nothing here logs or returns the secret.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SourceKind = 'github' | 'gitea' | 'gitlab' | 'generic';

/** Header names are lower case, as node:http gives them. */
export type Headers = Record<string, string | string[] | undefined>;

export type Verdict =
  /** A push to a branch: the repository as the host names it (owner/name), the branch, the new head. */
  | { kind: 'push'; delivery?: string; repository: string; branch: string; sha?: string }
  /** A request the host sends to check the hook (GitHub's ping), or an event that is not a push. */
  | { kind: 'ignored'; delivery?: string; why: string }
  | { kind: 'unauthorized' }
  | { kind: 'malformed'; why: string };

const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Equal in constant time, whatever the lengths (both sides are hashed first). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const hmac = (algorithm: 'sha256' | 'sha512', secret: string, body: Buffer): string =>
  createHmac(algorithm, secret).update(body).digest('hex');

/** The header that carries a kind's proof: a request without it cannot be authentic, whatever its body. */
const PROOF_HEADERS: Record<SourceKind, readonly string[]> = {
  github: ['x-hub-signature-256'],
  gitea: ['x-gitea-signature', 'x-forgejo-signature'],
  gitlab: ['x-gitlab-token'],
  generic: ['x-signature'],
};

/** Whether the request carries a proof at all (read before the body, to refuse a bare one unread). */
export const carriesProof = (kind: SourceKind, headers: Headers): boolean =>
  PROOF_HEADERS[kind].some((name) => header(headers, name) !== undefined);

/** Whether the request carries the proof its kind requires, for this secret and body. */
function authentic(kind: SourceKind, headers: Headers, body: Buffer, secret: string): boolean {
  switch (kind) {
    case 'github': {
      const sig = header(headers, 'x-hub-signature-256');
      return sig !== undefined && sameSecret(sig, `sha256=${hmac('sha256', secret, body)}`);
    }
    case 'gitea': {
      const sig = header(headers, 'x-gitea-signature') ?? header(headers, 'x-forgejo-signature');
      return sig !== undefined && sameSecret(sig.toLowerCase(), hmac('sha256', secret, body));
    }
    case 'gitlab': {
      const token = header(headers, 'x-gitlab-token');
      return token !== undefined && sameSecret(token, secret);
    }
    case 'generic': {
      const m = /^(sha256|sha512)=([0-9a-fA-F]+)$/.exec(header(headers, 'x-signature') ?? '');
      return m !== null && sameSecret(m[2]!.toLowerCase(), hmac(m[1] as 'sha256' | 'sha512', secret, body));
    }
  }
}

/** The host's id for this delivery (the same on a redelivery), if it sends one. */
function deliveryOf(kind: SourceKind, headers: Headers): string | undefined {
  switch (kind) {
    case 'github':
      return header(headers, 'x-github-delivery');
    case 'gitea':
      return header(headers, 'x-gitea-delivery') ?? header(headers, 'x-forgejo-delivery');
    case 'gitlab':
      return header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-event-uuid');
    case 'generic':
      return header(headers, 'x-delivery');
  }
}

/** The event name, where the host says it; a generic source sends pushes only. */
function eventOf(kind: SourceKind, headers: Headers): string {
  switch (kind) {
    case 'github':
      return header(headers, 'x-github-event') ?? '';
    case 'gitea':
      return header(headers, 'x-gitea-event') ?? header(headers, 'x-forgejo-event') ?? '';
    case 'gitlab':
      return header(headers, 'x-gitlab-event') === 'Push Hook' ? 'push' : (header(headers, 'x-gitlab-event') ?? '');
    case 'generic':
      return 'push';
  }
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Proof first: nothing in a body that fails it is read. */
export function readWebhook(kind: SourceKind, headers: Headers, body: Buffer, secret: string): Verdict {
  if (!authentic(kind, headers, body, secret)) return { kind: 'unauthorized' };
  const delivery = deliveryOf(kind, headers);
  const event = eventOf(kind, headers);
  if (event !== 'push') return { kind: 'ignored', delivery, why: `a ${event || 'nameless'} event, not a push` };
  let payload: {
    ref?: unknown;
    after?: unknown;
    repository?: { full_name?: unknown };
    project?: { path_with_namespace?: unknown };
  };
  try {
    payload = JSON.parse(body.toString('utf8')) as typeof payload;
  } catch {
    return { kind: 'malformed', why: 'the body is not JSON' };
  }
  const repository = kind === 'gitlab' ? payload.project?.path_with_namespace : payload.repository?.full_name;
  if (typeof repository !== 'string' || !repository)
    return { kind: 'malformed', why: 'no repository name in the push' };
  if (typeof payload.ref !== 'string') return { kind: 'malformed', why: 'no ref in the push' };
  if (!payload.ref.startsWith('refs/heads/'))
    return { kind: 'ignored', delivery, why: `${payload.ref} is not a branch` };
  const sha = typeof payload.after === 'string' && SHA.test(payload.after) ? payload.after : undefined;
  return {
    kind: 'push',
    delivery,
    repository,
    branch: payload.ref.slice('refs/heads/'.length),
    ...(sha ? { sha } : {}),
  };
}
