// The push-webhook receiver each worker serves when the registry declares controller.webhooks:
// POST /hooks/<source>. A verified push to a branch sends `refresh` to every enabled follower of
// that repository and branch, so it reads the mirror now instead of at its next interval; the
// mirror stays the only authority on the head. Hostile traffic is cheap to refuse: a request
// proves itself before it spends its source's budget (forgers cannot use up the git host's), each
// client address has a small budget for failures, bodies are capped, slow clients are cut off,
// connections are capped, a redelivery or a replay of a push already announced is answered without
// a second refresh, and nothing a request carries becomes a command argument. 202 is sent before
// the signals go out. The limits are listed in docs/events.md ("Limits").
import http from 'node:http';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { splitHostPort } from '../config/host-port.ts';
import type { Registry } from '../config/registry.ts';
import { refreshSignal, workflowIdFor } from '../contract/messages.ts';
import { METRICS, type WebhookResult } from '../contract/metrics.ts';
import { repositoryPath } from '../contract/repository-path.ts';
import { readableJson } from '../contract/untrusted/json.ts';
import { carriesProof, readWebhook, type SourceKind } from './webhooks.ts';

/** Larger pushes are refused (413): a push event is a few kilobytes, a large one ~100 KB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Per source, charged only by a proven push that sends refreshes: a burst of this many, refilled
 * at SOURCE_RATE_PER_S; beyond, 429. Forged requests (which anyone can send) and replays of a push
 * captured once (absorbed as duplicate or unchanged) never spend the budget of the git host, which
 * alone can sign a new push.
 */
export const SOURCE_BURST = 30;
const SOURCE_RATE_PER_S = 10;
/**
 * Per client address, charged by each request that failed to prove itself once its body was being
 * read (401, 408, 413): a burst of this many, refilled at UNAUTHENTICATED_RATE_PER_S. (A 404 or a
 * 405 is answered unread, as cheaply as a 429 would be; `status` probes with a GET.) Once it is
 * spent, that address's failures are answered 429, and a request with no proof header at all is
 * answered 429 before its body is read. One with a proof header is still read and checked: the git
 * host may share the address with the forgers (an ingress, a NAT, loopback), and refusing its push
 * unread would hand them the denial of service this budget is there to stop. The body cap, the
 * timeouts and MAX_CONNECTIONS bound what reading those costs.
 */
export const UNAUTHENTICATED_BURST = 10;
const UNAUTHENTICATED_RATE_PER_S = 1;
/** Addresses the budget above remembers; the one seen least recently is forgotten first. */
const ADDRESSES_MAX = 10_000;
/** A client has this long from connecting (or its previous request) to send a request's headers. */
export const HEADERS_TIMEOUT_MS = 5_000;
/** …and this long after its headers to send the body: a git host sends a push in one go. */
export const BODY_TIMEOUT_MS = 5_000;
/** Node's own bound on a whole request, behind the two above (it answers 408 and closes). */
const REQUEST_TIMEOUT_MS = HEADERS_TIMEOUT_MS + BODY_TIMEOUT_MS;
/** How often Node checks those deadlines; its default (30 s) would let a slow client hold on for 30 s. */
const CONNECTIONS_CHECK_MS = 1_000;
/** A connection that sends nothing for this long is closed (between requests: KEEP_ALIVE_TIMEOUT_MS). */
export const IDLE_TIMEOUT_MS = 10_000;
/** A kept-alive connection is closed when no next request starts within this long. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * Connections open at once; a further one is closed as it arrives, until some go. A git host
 * sends a handful at a time; this bounds the sockets and body buffers a flood can hold.
 */
export const MAX_CONNECTIONS = 64;
/** A delivery id seen within this window is a redelivery: answered, not acted on again. */
const DEDUPE_MS = 10 * 60_000;
const DEDUPE_MAX = 10_000;
/**
 * A push whose sha (`after`) is the last one announced for its source, repository and branch,
 * within DEDUPE_MS of that announcement, is answered `unchanged` and sends nothing: a replayed
 * push (its body signed once, its delivery id made up afresh) must not grow a follower's history.
 * The sha is recorded as its refreshes go out (copies sent at the same time are absorbed too) and
 * forgotten if one fails. Each replica keeps its own memory, so a replay costs at most one read of
 * the mirror per replica per window; a push without a sha is never absorbed. At most this many
 * (source, repository, branch) are kept.
 */
const HEADS_MAX = 10_000;

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

/**
 * The followers of `repository` (owner/name, as the host names it) and `branch`: the whole path,
 * case-insensitively as hosts compare it; `app` is not `org/app`.
 */
function followersOf(routes: ReturnType<typeof routesOf>, repository: string, branch: string): string[] {
  const wanted = repository.toLowerCase();
  return routes.filter((r) => r.branch === branch && r.path === wanted).map((r) => r.id);
}

class TokenBucket {
  private tokens: number;
  private at = Date.now();
  constructor(
    private readonly burst: number,
    private readonly ratePerS: number,
  ) {
    this.tokens = burst;
  }
  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerS);
    this.at = now;
  }
  spent(): boolean {
    this.refill();
    return this.tokens < 1;
  }
  take(): boolean {
    if (this.spent()) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Inserts `key` as the newest entry of a Map (which keeps insertion order), dropping the oldest past `max`. */
function setNewest<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}

/** The unauthenticated failures' budget of each client address. */
class AddressBudgets {
  private buckets = new Map<string, TokenBucket>();
  spent(address: string): boolean {
    return this.buckets.get(address)?.spent() ?? false;
  }
  /** Charges one failure; false when the address had nothing left. */
  charge(address: string): boolean {
    const bucket = this.buckets.get(address) ?? new TokenBucket(UNAUTHENTICATED_BURST, UNAUTHENTICATED_RATE_PER_S);
    setNewest(this.buckets, address, bucket, ADDRESSES_MAX);
    return bucket.take();
  }
}

/** Per (source, repository, branch): the last sha announced (forgotten if a refresh of it failed). */
class AnnouncedHeads {
  private heads = new Map<string, { sha: string; at: number }>();
  announced(key: string, sha: string): boolean {
    const head = this.heads.get(key);
    return head !== undefined && head.sha === sha && Date.now() - head.at < DEDUPE_MS;
  }
  record(key: string, sha: string): void {
    setNewest(this.heads, key, { sha, at: Date.now() }, HEADS_MAX);
  }
  /** Forgets `key`; with `sha`, only while it is still the one recorded (a newer push's stays). */
  forget(key: string, sha?: string): void {
    if (sha === undefined || this.heads.get(key)?.sha === sha) this.heads.delete(key);
  }
}

/** The delivery ids acted on within the window. */
class Deliveries {
  private acted = new Map<string, number>();
  has(id: string): boolean {
    const now = Date.now();
    for (const [key, at] of this.acted) {
      if (now - at < DEDUPE_MS && this.acted.size < DEDUPE_MAX) break;
      this.acted.delete(key); // oldest first: Map keeps insertion order
    }
    return this.acted.has(id);
  }
  record(id: string): void {
    this.acted.set(id, Date.now());
  }
  /** A delivery that was not acted on after all (its refresh failed): the host's redelivery is. */
  forget(id: string): void {
    this.acted.delete(id);
  }
}

function reply(
  res: http.ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  // Values from the payload stay exact; their C1, bidi and invisible characters are \u escapes.
  res.end(`${readableJson(body)}\n`);
}

/** Reads the body up to the cap and within BODY_TIMEOUT_MS; else says which it broke. */
function readBody(req: http.IncomingMessage): Promise<Buffer | 'tooLarge' | 'tooSlow'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return resolve('tooLarge');
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (why: 'tooLarge' | 'tooSlow') => {
      clearTimeout(deadline);
      req.removeAllListeners('data');
      resolve(why);
    };
    const deadline = setTimeout(() => stop('tooSlow'), BODY_TIMEOUT_MS);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) stop('tooLarge');
      else chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(deadline);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
  });
}

export interface Receiver {
  /** Stops listening, cancels the signals still in flight and waits for them (then the connection may close). */
  close(): Promise<void>;
}

export function serveWebhooks(o: ReceiverOptions): Promise<Receiver> {
  const config = o.registry.controller.webhooks;
  if (!config) throw new Error('the registry declares no controller.webhooks');
  const buckets = new Map(
    Object.keys(config.sources).map((id) => [id, new TokenBucket(SOURCE_BURST, SOURCE_RATE_PER_S)]),
  );
  const addresses = new AddressBudgets();
  const deliveries = new Deliveries();
  const heads = new AnnouncedHeads();
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
  /** Answers 429 to an address that failed too often. */
  const tooManyFailures = (res: http.ServerResponse, source: string): void =>
    answer(
      res,
      source,
      'tooManyFailures',
      429,
      { error: 'too many unauthenticated requests from this address' },
      { 'retry-after': '1' },
    );
  /** A request that did not prove itself: charged to its address, and answered 429 once that is spent. */
  const refuse = (
    res: http.ServerResponse,
    address: string,
    source: string,
    result: WebhookResult,
    status: number,
    body: Record<string, unknown>,
    headers?: http.OutgoingHttpHeaders,
  ): void =>
    addresses.charge(address) ? answer(res, source, result, status, body, headers) : tooManyFailures(res, source);

  /** Sends `refresh` to each follower; true when every signal went out. */
  const refresh = async (id: string, followers: string[], sha: string | undefined): Promise<boolean> => {
    const abort = new AbortController();
    const sending = Promise.all(
      followers.map((f) =>
        o.client
          .withAbortSignal(abort.signal, () =>
            o.client.workflow.getHandle(workflowIdFor(f)).signal(refreshSignal, sha ? { sha } : {}),
          )
          .then(
            () => true,
            (err: unknown) => {
              o.log(`webhook ${id}: refresh of ${f} not sent: ${(err as Error).message}`);
              return false;
            },
          ),
      ),
    );
    inFlight.set(sending, abort);
    const sent = await sending.finally(() => inFlight.delete(sending));
    return sent.every(Boolean);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const address = req.socket.remoteAddress ?? '-';
    const route = /^\/hooks\/([^/?#]+)$/.exec((req.url ?? '').split('?')[0]!);
    if (!route) return answer(res, '-', 'notFound', 404, { error: 'not found: post to /hooks/<source>' });
    const id = route[1]!;
    const source = Object.hasOwn(config.sources, id) ? config.sources[id] : undefined;
    if (!source) return answer(res, '-', 'notFound', 404, { error: `no webhook source ${JSON.stringify(id)}` });
    if (req.method !== 'POST')
      return answer(res, id, 'methodNotAllowed', 405, { error: 'POST only' }, { allow: 'POST' });
    const secret = o.env[source.secretEnv];
    if (!secret)
      return answer(res, id, 'noSecret', 503, {
        error: `this worker has no secret for source ${id} (${source.secretEnv} is not set)`,
      });
    const kind = source.kind as SourceKind;
    if (addresses.spent(address) && !carriesProof(kind, req.headers)) return tooManyFailures(res, id);
    const body = await readBody(req);
    if (body === 'tooLarge' || body === 'tooSlow') {
      const [result, status, error] =
        body === 'tooLarge'
          ? (['tooLarge', 413, `the body is larger than ${MAX_BODY_BYTES} bytes`] as const)
          : (['timedOut', 408, `the body did not arrive within ${BODY_TIMEOUT_MS} ms`] as const);
      refuse(res, address, id, result, status, { error }, { connection: 'close' });
      req.destroy();
      return;
    }
    const verdict = readWebhook(kind, req.headers, body, secret);
    if (verdict.kind === 'unauthorized')
      return refuse(res, address, id, 'unauthorized', 401, { error: 'the signature does not match' });
    switch (verdict.kind) {
      case 'malformed':
        return answer(res, id, 'badRequest', 400, { error: verdict.why });
      case 'ignored':
        return answer(res, id, 'ignored', 202, { ignored: verdict.why });
    }
    const delivery = verdict.delivery === undefined ? undefined : `${id}/${verdict.delivery}`;
    if (delivery !== undefined && deliveries.has(delivery))
      return answer(res, id, 'duplicate', 202, { duplicate: verdict.delivery });
    const head = `${id}/${verdict.repository.toLowerCase()}/${verdict.branch}`;
    if (verdict.sha && heads.announced(head, verdict.sha))
      return answer(res, id, 'unchanged', 202, { unchanged: verdict.sha });
    const followers = followersOf(routes, verdict.repository, verdict.branch);
    if (!followers.length) {
      // JSON-quoted: the payload's names may carry control characters; the reply keeps them exact.
      o.log(
        `webhook ${id}: no follower follows ${JSON.stringify(verdict.repository)}@${JSON.stringify(verdict.branch)}`,
      );
      return answer(res, id, 'noFollower', 202, {
        followers,
        reason: `no follower follows ${verdict.repository}@${verdict.branch}`,
      });
    }
    // Only what sends signals spends the source's budget: a replay or a redelivery of a push
    // captured once, absorbed above, cannot use it up and hold back the git host's next push.
    // A push answered 429 is not recorded as delivered: the host's redelivery of it is acted on.
    if (!buckets.get(id)!.take())
      return answer(res, id, 'rateLimited', 429, { error: 'too many requests' }, { 'retry-after': '1' });
    // Recorded before the signals go out, so copies sent at the same time are absorbed too; undone
    // when a refresh fails. A push without a sha leaves nothing to tell a replay by: forgotten.
    if (delivery !== undefined) deliveries.record(delivery);
    if (verdict.sha) heads.record(head, verdict.sha);
    else heads.forget(head);
    answer(res, id, 'accepted', 202, { followers });
    if (await refresh(id, followers, verdict.sha)) return;
    if (delivery !== undefined) deliveries.forget(delivery);
    if (verdict.sha) heads.forget(head, verdict.sha);
  };

  const server = http.createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        o.log(`webhook: ${JSON.stringify((err as Error).message)}`);
        if (!res.headersSent) answer(res, '-', 'error', 500, { error: 'internal error' });
      });
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  // With no 'timeout' listener on the server, a socket idle this long is destroyed.
  server.setTimeout(IDLE_TIMEOUT_MS);
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
