// The push-webhook receiver each worker serves when the registry declares controller.webhooks:
// POST /hooks/<source>. A verified push to a branch sends `refresh` to every enabled follower of
// that repository and branch, so it reads the mirror now instead of at its next interval; the
// mirror stays the only authority on the head. Hostile traffic is cheap to refuse: bodies are
// capped, each source is rate-limited, a redelivery is answered without a second refresh, and
// nothing a request carries becomes a command argument. 202 is sent before the signals go out.
import http from 'node:http';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { splitHostPort } from '../config/host-port.ts';
import type { Registry } from '../config/registry.ts';
import { refreshSignal, workflowIdFor } from '../contract/messages.ts';
import { METRICS, type WebhookResult } from '../contract/metrics.ts';
import { repositoryPath } from '../contract/repository-path.ts';
import { readWebhook, type SourceKind } from './webhooks.ts';

/** Larger pushes are refused (413): a push event is a few kilobytes, a large one ~100 KB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Per source: a burst of this many requests, refilled at RATE_PER_S; beyond, 429. */
const BURST = 30;
const RATE_PER_S = 10;
/** A delivery id seen within this window is a redelivery: answered, not acted on again. */
const DEDUPE_MS = 10 * 60_000;
const DEDUPE_MAX = 10_000;

/** Where the receiver listens: the registry's address, or the pod's (the rendered Deployment sets it). */
export const webhooksListen = (registry: Registry, env: NodeJS.ProcessEnv): string | undefined =>
  registry.controller.webhooks && (env.BRANCH_FOLLOWER_WEBHOOKS_LISTEN ?? registry.controller.webhooks.listen);

export interface ReceiverOptions {
  registry: Registry;
  client: Client;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** Each enabled follower with where its mirror keeps the repository, read once per receiver. */
const routesOf = (registry: Registry) =>
  registry.followers
    .filter((f) => f.enabled)
    .map(({ spec }) => ({ id: spec.id, branch: spec.source.branch, path: repositoryPath(spec.source.mirror) }));

/** The followers of `repository` (owner/name, as the host names it) and `branch`. */
function followersOf(routes: ReturnType<typeof routesOf>, repository: string, branch: string): string[] {
  const wanted = repository.toLowerCase();
  return routes
    .filter((r) => r.branch === branch && (r.path === wanted || r.path.endsWith(`/${wanted}`)))
    .map((r) => r.id);
}

class TokenBucket {
  private tokens = BURST;
  private at = Date.now();
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(BURST, this.tokens + ((now - this.at) / 1000) * RATE_PER_S);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

class Deliveries {
  private seen = new Map<string, number>();
  /** True the first time within the window. */
  first(id: string): boolean {
    const now = Date.now();
    for (const [key, at] of this.seen) {
      if (now - at < DEDUPE_MS && this.seen.size < DEDUPE_MAX) break;
      this.seen.delete(key); // oldest first: Map keeps insertion order
    }
    if (this.seen.has(id)) return false;
    this.seen.set(id, now);
    return true;
  }
}

function reply(
  res: http.ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Reads the body up to the cap; undefined when it is larger (the request is then answered 413). */
function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return resolve(undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface Receiver {
  /** Stops listening, cancels the signals still in flight and waits for them (then the connection may close). */
  close(): Promise<void>;
}

export function serveWebhooks(o: ReceiverOptions): Promise<Receiver> {
  const config = o.registry.controller.webhooks;
  if (!config) throw new Error('the registry declares no controller.webhooks');
  const buckets = new Map(Object.keys(config.sources).map((id) => [id, new TokenBucket()]));
  const deliveries = new Deliveries();
  const routes = routesOf(o.registry);
  /** The refreshes still being sent, each with its own signal: the client never lets go of a signal it was given. */
  const inFlight = new Map<Promise<unknown>, AbortController>();

  const requests = Runtime.instance().metricMeter.createCounter(
    'branch_follower_webhook_requests_total',
    undefined,
    METRICS.branch_follower_webhook_requests_total.help,
  );
  /** Answers and counts; a source the registry does not declare is counted as `-` (a path is not a label). */
  const answer = (
    res: http.ServerResponse,
    source: string,
    result: WebhookResult,
    status: number,
    body: Record<string, unknown>,
    headers?: http.OutgoingHttpHeaders,
  ): void => {
    requests.add(1, { source, result });
    reply(res, status, body, headers);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const route = /^\/hooks\/([^/?#]+)$/.exec((req.url ?? '').split('?')[0]!);
    if (!route) return answer(res, '-', 'notFound', 404, { error: 'not found: post to /hooks/<source>' });
    const id = route[1]!;
    const source = Object.hasOwn(config.sources, id) ? config.sources[id] : undefined;
    if (!source) return answer(res, '-', 'notFound', 404, { error: `no webhook source ${JSON.stringify(id)}` });
    if (req.method !== 'POST')
      return answer(res, id, 'methodNotAllowed', 405, { error: 'POST only' }, { allow: 'POST' });
    if (!buckets.get(id)!.take())
      return answer(res, id, 'rateLimited', 429, { error: 'too many requests' }, { 'retry-after': '1' });
    const secret = o.env[source.secretEnv];
    if (!secret)
      return answer(res, id, 'noSecret', 503, {
        error: `this worker has no secret for source ${id} (${source.secretEnv} is not set)`,
      });
    const body = await readBody(req);
    if (!body) {
      answer(
        res,
        id,
        'tooLarge',
        413,
        { error: `the body is larger than ${MAX_BODY_BYTES} bytes` },
        { connection: 'close' },
      );
      req.destroy();
      return;
    }
    const verdict = readWebhook(source.kind as SourceKind, req.headers, body, secret);
    switch (verdict.kind) {
      case 'unauthorized':
        return answer(res, id, 'unauthorized', 401, { error: 'the signature does not match' });
      case 'malformed':
        return answer(res, id, 'badRequest', 400, { error: verdict.why });
      case 'ignored':
        return answer(res, id, 'ignored', 202, { ignored: verdict.why });
    }
    if (verdict.delivery !== undefined && !deliveries.first(`${id}/${verdict.delivery}`)) {
      return answer(res, id, 'duplicate', 202, { duplicate: verdict.delivery });
    }
    const followers = followersOf(routes, verdict.repository, verdict.branch);
    if (!followers.length) {
      o.log(`webhook ${id}: no follower follows ${verdict.repository}@${verdict.branch}`);
      return answer(res, id, 'noFollower', 202, {
        followers,
        reason: `no follower follows ${verdict.repository}@${verdict.branch}`,
      });
    }
    answer(res, id, 'accepted', 202, { followers });
    const abort = new AbortController();
    const sending = Promise.all(
      followers.map((f) =>
        o.client
          .withAbortSignal(abort.signal, () =>
            o.client.workflow
              .getHandle(workflowIdFor(f))
              .signal(refreshSignal, verdict.sha ? { sha: verdict.sha } : {}),
          )
          .catch((err: unknown) => o.log(`webhook ${id}: refresh of ${f} not sent: ${(err as Error).message}`)),
      ),
    );
    inFlight.set(sending, abort);
    await sending.finally(() => inFlight.delete(sending));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log(`webhook: ${(err as Error).message}`);
      if (!res.headersSent) answer(res, '-', 'error', 500, { error: 'internal error' });
    });
  });
  const [host, port] = splitHostPort(webhooksListen(o.registry, o.env)!);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        async close() {
          server.close();
          for (const abort of inFlight.values()) abort.abort();
          await Promise.all(inFlight.keys());
        },
      }),
    );
  });
}

/**
 * The receiver the registry declares (undefined without controller.webhooks), signalling through
 * a Temporal connection of its own, which it closes with itself.
 */
export async function serveWebhooksConnected(
  o: Omit<ReceiverOptions, 'client'> & { connect: ConnectionOptions; namespace: string },
): Promise<Receiver | undefined> {
  if (!o.registry.controller.webhooks) return undefined;
  const connection = await Connection.connect(o.connect);
  const receiver = await serveWebhooks({ ...o, client: new Client({ connection, namespace: o.namespace }) }).catch(
    async (err: unknown) => {
      await connection.close();
      throw err;
    },
  );
  return {
    async close() {
      await receiver.close();
      await connection.close();
    },
  };
}
