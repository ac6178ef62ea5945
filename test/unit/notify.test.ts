// Notification delivery against real HTTP sinks (node:http servers): CloudEvents read back by the
// cloudevents SDK's own parser, chat webhooks, GitHub and Gitea commit statuses, and every way a
// sink can fail. Every answer and failure is searched for the secrets the worker's env holds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach, describe, expect, it } from 'vitest';
import { deliver, type DeliveryResult } from '../../activities/notify.ts';
import { NOTICE_TYPES, sinkTakes, type Notice, type NoticeType, type Sink } from '../../contract/notify.ts';

/** In every secret below: no message, result or failure may contain it. */
const SECRET = 'Zq9-SECRET-4f1e';
const SHA = '3c619ddc1bbe0f3c1b4c2f1a9e8d7c6b5a4f3e2d';
const NEXT_SHA = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b';

const notice = (over: Partial<Notice> = {}): Notice => ({
  type: 'succeeded',
  follower: 'agentrun-jd01-v02',
  repository: 'lab/agentrun',
  branch: 'main',
  sha: SHA,
  code: 'ClosedOut',
  message: 'the runtime reported the sha Succeeded',
  at: Date.UTC(2026, 10, 28, 5, 0, 0),
  url: 'http://temporal.example/namespaces/default/workflows/follower-agentrun-jd01-v02',
  ...over,
});

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
/** An answer, or `hold`: keep the request open and never answer. */
type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
});

/** A sink on a free port: records each request, then answers as `answer` says (default 201). */
async function sink(answer: (req: Received) => Answer = () => ({ status: 201 })) {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(received);
      const a = answer(received);
      if (a === 'hold') return;
      res.writeHead(a.status, a.headers).end(a.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** The worker's environment: tokens and a webhook URL, each carrying SECRET. */
const envWith = (webhookUrl: string): NodeJS.ProcessEnv => ({
  WEBHOOK_URL: webhookUrl,
  CE_TOKEN: `ce-${SECRET}`,
  GH_TOKEN: `ghp_${SECRET}`,
  GITEA_TOKEN: `gt-${SECRET}`,
});

interface Failed {
  type: string;
  message: string;
  retryable: boolean;
  nonRetryable: boolean;
}

/** deliver, with every word it returns or throws searched for SECRET. */
async function attempt(
  s: Sink,
  n: Notice,
  env: NodeJS.ProcessEnv,
  timeoutMs?: number,
): Promise<{ result?: DeliveryResult; failed?: Failed }> {
  try {
    const result = await deliver(s, n, env, timeoutMs === undefined ? {} : { timeoutMs });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    return { result };
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(`${f.stack} ${JSON.stringify(f.details)}`).not.toContain(SECRET);
    const { retryable } = f.details?.[0] as { retryable: boolean };
    return { failed: { type: f.type ?? '', message: f.message, retryable, nonRetryable: Boolean(f.nonRetryable) } };
  }
}

const delivered = async (...args: Parameters<typeof attempt>): Promise<DeliveryResult> => {
  const { result, failed } = await attempt(...args);
  expect(failed).toBeUndefined();
  return result!;
};

const failed = async (...args: Parameters<typeof attempt>): Promise<Failed> => {
  const { result, failed: f } = await attempt(...args);
  expect(result).toBeUndefined();
  expect(f!.type).toBe('NotificationFailed');
  // Temporal retries exactly what the details call retryable.
  expect(f!.nonRetryable).toBe(!f!.retryable);
  return f!;
};

/** The request as a CloudEvent, by the SDK's own parser, validated. */
function eventOf(req: Received): CloudEvent<Notice> {
  const event = HTTP.toEvent({ headers: req.headers, body: req.body }) as CloudEvent<Notice>;
  expect(event.validate()).toBe(true);
  return event;
}

describe('cloudevents sinks', () => {
  it('send a valid CloudEvents 1.0 event in binary mode: type, source, subject, time, and the notice as data', async () => {
    const ce = await sink(() => ({ status: 202 }));
    const s: Sink = { id: 'events', kind: 'cloudevents', url: { url: `${ce.url}/events` }, bearerTokenEnv: 'CE_TOKEN' };
    const n = notice();
    expect(await delivered(s, n, envWith(''))).toEqual({ status: 202, message: 'answered 202' });
    const [req] = ce.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/events');
    expect(req!.headers.authorization).toBe(`Bearer ce-${SECRET}`);
    expect(req!.headers['ce-specversion']).toBe('1.0'); // binary mode: attributes are headers
    expect(JSON.parse(req!.body)).toEqual(n); // and the body is the notice itself
    const event = eventOf(req!);
    expect(event.specversion).toBe('1.0');
    expect(event.type).toBe('dev.branch-follower.succeeded');
    expect(event.source).toBe('branch-follower/agentrun-jd01-v02');
    expect(event.subject).toBe(SHA);
    expect(event.time).toBe(new Date(n.at).toISOString());
    expect(event.datacontenttype).toBe('application/json');
    expect(event.data).toEqual(n);
  });

  it('a retried delivery is the same event (same source and id); another notice is another event', async () => {
    let calls = 0;
    const ce = await sink(() => (++calls === 1 ? { status: 503 } : { status: 202 }));
    const s: Sink = { id: 'events', kind: 'cloudevents', url: { url: ce.url } };
    const n = notice({ type: 'triggered', code: 'TriggerAccepted' });
    expect((await failed(s, n, {})).retryable).toBe(true);
    await delivered(s, n, {});
    await delivered(s, { ...n, at: n.at + 1 }, {});
    await delivered(s, { ...n, follower: 'other' }, {});
    const [first, retry, later, other] = ce.requests.map(eventOf);
    expect(retry!.id).toBe(first!.id);
    expect(retry!.source).toBe(first!.source);
    expect(retry!.type).toBe('dev.branch-follower.triggered');
    expect(later!.id).not.toBe(first!.id);
    expect(other!.id).not.toBe(first!.id);
    expect(ce.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('a notice without a sha has no subject and is still a valid event; the URL may come from env', async () => {
    const ce = await sink();
    const s: Sink = { id: 'events', kind: 'cloudevents', url: { env: 'WEBHOOK_URL' } };
    const n = notice({ type: 'blocked', sha: undefined, code: 'MirrorUnreachable', url: undefined });
    await delivered(s, n, envWith(`${ce.url}/in/${SECRET}`));
    expect(ce.requests[0]!.path).toBe(`/in/${SECRET}`);
    const event = eventOf(ce.requests[0]!);
    expect(event.subject).toBeUndefined();
    expect(event.type).toBe('dev.branch-follower.blocked');
    expect(event.data).toEqual(n);
  });
});

describe('chat sinks', () => {
  it('post one readable line as `text` and `content` to the URL in the env variable', async () => {
    const chat = await sink(() => ({ status: 200, body: 'ok' }));
    const s: Sink = { id: 'team', kind: 'chat', url: { env: 'WEBHOOK_URL' } };
    const n = notice();
    expect(await delivered(s, n, envWith(`${chat.url}/services/T0/B0/${SECRET}`))).toMatchObject({ status: 200 });
    const [req] = chat.requests;
    expect(req!.path).toBe(`/services/T0/B0/${SECRET}`);
    expect(req!.headers['content-type']).toBe('application/json');
    const line = `agentrun-jd01-v02: succeeded 3c619ddc1bbe on main (ClosedOut) ${n.url}`;
    expect(JSON.parse(req!.body)).toEqual({ text: line, content: line });
  });

  it('say what superseded a sha and why something went wrong, and leave out what a notice lacks', async () => {
    const chat = await sink();
    const s: Sink = { id: 'team', kind: 'chat', url: { url: chat.url } };
    await delivered(
      s,
      notice({ type: 'superseded', code: 'Superseded', by: NEXT_SHA, url: undefined, message: 'moved on' }),
      {},
    );
    await delivered(
      s,
      notice({ type: 'blocked', code: 'BranchNotFound', sha: undefined, url: undefined, message: 'no branch\nmain' }),
      {},
    );
    expect(chat.requests.map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual([
      'agentrun-jd01-v02: superseded 3c619ddc1bbe by 9a8b7c6d5e4f on main (Superseded: `moved on`)',
      'agentrun-jd01-v02: blocked on main (BranchNotFound: `no branch main`)',
    ]);
  });
});

/** The documented state for each notice (GitHub "Create a commit status", Gitea CreateStatusOption); absent: not a commit status. */
const EXPECTED_STATE: Record<NoticeType, string | undefined> = {
  triggered: 'pending',
  succeeded: 'success',
  failed: 'failure',
  budgetExceeded: 'failure',
  superseded: 'error',
  blocked: undefined,
  missedWebhook: undefined,
};

describe.each([
  {
    kind: 'github-status' as const,
    base: '',
    tokenEnv: 'GH_TOKEN',
    headers: {
      authorization: `Bearer ghp_${SECRET}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    },
  },
  {
    kind: 'gitea-status' as const,
    base: '/api/v1',
    tokenEnv: 'GITEA_TOKEN',
    headers: { authorization: `token gt-${SECRET}` },
  },
])('$kind sinks', ({ kind, base, tokenEnv, headers }) => {
  it.each(NOTICE_TYPES.map((type) => [type, EXPECTED_STATE[type]] as const))('%s → %s', async (type, state) => {
    const host = await sink();
    const s: Sink = { id: 'ci', kind, apiUrl: `${host.url}${base}/`, tokenEnv };
    expect(sinkTakes(s, notice({ type }))).toBe(state !== undefined);
    if (!state) {
      // Not a commit status: never sent one, and refused without a request when it is.
      expect(await failed(s, notice({ type }), envWith(''))).toMatchObject({
        retryable: false,
        message: expect.stringContaining(`not ${type}`),
      });
      expect(host.requests).toEqual([]);
      return;
    }
    const result = await delivered(s, notice({ type, by: NEXT_SHA }), envWith(''));
    expect(result).toMatchObject({ status: 201 });
    expect(host.requests).toHaveLength(1);
    const [req] = host.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe(`${base}/repos/lab/agentrun/statuses/${SHA}`);
    expect(req!.headers).toMatchObject({ ...headers, 'content-type': 'application/json' });
    expect(req!.headers['user-agent']).toBeTruthy();
    const body = JSON.parse(req!.body) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['context', 'description', 'state', 'target_url']);
    expect(body.state).toBe(state);
    expect(body.context).toBe('branch-follower/agentrun-jd01-v02');
    expect(body.target_url).toBe(notice().url);
    expect(body.description).toBe(
      type === 'superseded' ? 'superseded by 9a8b7c6d5e4f' : 'ClosedOut: the runtime reported the sha Succeeded',
    );
  });

  it('use the sink repository and context when given; cut the description to 140 characters', async () => {
    const host = await sink();
    const s: Sink = {
      id: 'ci',
      kind,
      apiUrl: `${host.url}${base}`,
      tokenEnv,
      repository: 'org/app',
      context: 'deploy/lab',
    };
    const message = `job failed:\n${'x'.repeat(300)}`;
    await delivered(s, notice({ type: 'failed', code: 'RuntimeFailed', message, url: undefined }), envWith(''));
    const [req] = host.requests;
    expect(req!.path).toBe(`${base}/repos/org/app/statuses/${SHA}`);
    const body = JSON.parse(req!.body) as Record<string, string>;
    expect(body).toMatchObject({ state: 'failure', context: 'deploy/lab' });
    expect(body.target_url).toBeUndefined();
    expect([...body.description!]).toHaveLength(140);
    expect(body.description).toMatch(/^RuntimeFailed: job failed: x+…$/);
  });

  it('take no notice without a sha', async () => {
    const s: Sink = { id: 'ci', kind, apiUrl: 'https://git.example/api', tokenEnv: 'UNSET_TOKEN' };
    expect(sinkTakes(s, notice({ type: 'triggered', sha: undefined }))).toBe(false);
    expect(sinkTakes(s, notice({ type: 'triggered' }))).toBe(true);
  });
});

describe('failures', () => {
  const chatAt = (url: string): Sink => ({ id: 'team', kind: 'chat', url: { url } });

  it.each([500, 502, 503, 408, 429])('%i is retryable', async (status) => {
    const host = await sink(() => ({ status, body: 'try later' }));
    const f = await failed(chatAt(host.url), notice(), {});
    expect(f).toMatchObject({ retryable: true, message: `sink team answered ${status}: try later` });
  });

  it.each([400, 401, 404, 410, 422])(
    '%i is not retryable, and says the status and the start of the body',
    async (status) => {
      const host = await sink(() => ({
        status,
        body: `{"message":"Validation Failed",\n"detail":"${'y'.repeat(500)}"}`,
      }));
      const f = await failed(chatAt(host.url), notice(), {});
      expect(f.retryable).toBe(false);
      expect(f.message).toMatch(
        new RegExp(`^sink team answered ${status}: \\{"message":"Validation Failed", "detail":"y+…$`),
      );
      expect(f.message.length).toBeLessThanOrEqual(`sink team answered ${status}: `.length + 200);
    },
  );

  it("GitHub's rate limit (403 with x-ratelimit-remaining: 0) is retryable; another 403 is not", async () => {
    const host = await sink((req) =>
      req.path.includes('limited')
        ? { status: 403, headers: { 'x-ratelimit-remaining': '0' }, body: 'API rate limit exceeded' }
        : { status: 403, body: 'Resource not accessible by integration' },
    );
    const gh = (apiUrl: string): Sink => ({ id: 'ci', kind: 'github-status', apiUrl, tokenEnv: 'GH_TOKEN' });
    expect((await failed(gh(`${host.url}/limited`), notice(), envWith(''))).retryable).toBe(true);
    expect((await failed(gh(host.url), notice(), envWith(''))).retryable).toBe(false);
  });

  it('a redirect is not followed: not retryable, and the other end is never asked', async () => {
    const elsewhere = await sink();
    const host = await sink(() => ({ status: 307, headers: { location: `${elsewhere.url}/steal` } }));
    expect(await failed(chatAt(host.url), notice(), {})).toMatchObject({
      retryable: false,
      message: 'sink team answered 307',
    });
    expect(elsewhere.requests).toEqual([]);
  });

  it('a sink that never answers times out, retryably', async () => {
    const host = await sink(() => 'hold');
    const f = await failed(chatAt(host.url), notice(), {}, 200);
    expect(f).toMatchObject({ retryable: true, message: 'sink team: no answer within 200ms' });
  });

  it('a sink that is not listening is retryable, and the message names the cause', async () => {
    const host = await sink();
    const [server] = servers.splice(0);
    await new Promise((resolve) => server!.close(resolve));
    const f = await failed(chatAt(host.url), notice(), {});
    expect(f).toMatchObject({ retryable: true, message: 'sink team: could not be reached (ECONNREFUSED)' });
  });

  it.each([
    [{ id: 'team', kind: 'chat', url: { env: 'NO_URL' } }, 'sink team: $NO_URL is not set'],
    [
      { id: 'ev', kind: 'cloudevents', url: { url: 'http://x' }, bearerTokenEnv: 'NO_TOKEN' },
      'sink ev: $NO_TOKEN is not set',
    ],
    [{ id: 'ci', kind: 'gitea-status', apiUrl: 'http://x', tokenEnv: 'EMPTY' }, 'sink ci: $EMPTY is not set'],
  ] satisfies [Sink, string][])('a missing or empty variable is a clear failure, not retried: %j', async (s, says) => {
    const f = await failed(s, notice(), { ...envWith(''), EMPTY: ' \n' });
    expect(f).toMatchObject({ retryable: false, message: `${says} in the worker's environment` });
  });

  it('a webhook URL in env that is not an http(s) URL is named by its variable, never quoted', async () => {
    const s: Sink = { id: 'team', kind: 'chat', url: { env: 'WEBHOOK_URL' } };
    expect(await failed(s, notice(), envWith(`hooks.example/${SECRET}`))).toMatchObject({
      retryable: false,
      message: 'sink team: the URL in $WEBHOOK_URL is not a URL',
    });
    expect(await failed(s, notice(), envWith(`ftp://hooks.example/${SECRET}`))).toMatchObject({
      retryable: false,
      message: 'sink team: the URL in $WEBHOOK_URL is not an http(s) URL',
    });
  });

  it('a sink that echoes the token or the secret path has them scrubbed from the message', async () => {
    const echo = (req: Received): Answer => ({
      status: 401,
      body: `Cannot POST ${req.path} with ${req.headers.authorization ?? 'no token'}`,
    });
    const chat = await sink(echo);
    const chatFailure = await failed(
      { id: 'team', kind: 'chat', url: { env: 'WEBHOOK_URL' } },
      notice(),
      envWith(`${chat.url}/hooks/${SECRET}`),
    );
    expect(chatFailure.message).toBe('sink team answered 401: Cannot POST [redacted:WEBHOOK_URL] with no token');
    const gh = await sink(echo);
    const ghFailure = await failed(
      { id: 'ci', kind: 'github-status', apiUrl: gh.url, tokenEnv: 'GH_TOKEN' },
      notice(),
      envWith(''),
    );
    expect(ghFailure.message).toBe(
      `sink ci answered 401: Cannot POST /repos/lab/agentrun/statuses/${SHA} with Bearer [redacted:GH_TOKEN]`,
    );
  });
});
