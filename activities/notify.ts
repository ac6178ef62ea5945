// Delivers a follower's notices to the sinks of the registry's `notify:` block: a CloudEvent, a
// chat webhook, or a commit status on GitHub or Gitea. A sink that is down, slow or busy fails the
// attempt retryably and the activity's Temporal retry policy tries again; a sink that refuses the
// request fails it for good. Secrets (tokens, URLs from env) go into the request and nowhere else:
// messages name the variable, never quote fetch's errors, and scrub a sink's answer before quoting it.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { CloudEvent, HTTP } from 'cloudevents';
import { FailureCode, type FailureDetails } from '../contract/codes.ts';
import { formatDuration, shortSha } from '../contract/format.ts';
import { COMMIT_STATES, type Endpoint, type Notice, type Sink } from '../contract/notify.ts';
import { chatLiteral } from '../contract/untrusted/chat.ts';
import { proseLine } from '../contract/untrusted/characters.ts';
import { readableJson } from '../contract/untrusted/json.ts';
import { redact } from './run-command.ts';

export interface DeliveryResult {
  /** The sink's HTTP status. */
  status: number;
  message: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** GitHub refuses a longer status description. */
const MAX_DESCRIPTION = 140;
const MAX_EXCERPT = 200;
/** Enough of a refusal's body to find the secrets in what MAX_EXCERPT keeps. */
const MAX_BODY_READ = 4096;

interface Secret {
  name: string;
  value: string;
}

interface Request {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** What the sink's answer is scrubbed of. */
  secrets: Secret[];
}

/** Sends one notice to one sink. Throws an ApplicationFailure of type NotificationFailed, retryable or not. */
export async function deliver(
  sink: Sink,
  notice: Notice,
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number } = {},
): Promise<DeliveryResult> {
  return send(sink.id, requestFor(sink, notice, env), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

function requestFor(sink: Sink, notice: Notice, env: NodeJS.ProcessEnv): Request {
  switch (sink.kind) {
    case 'cloudevents':
      return cloudEventRequest(sink, notice, env);
    case 'chat': {
      // Slack, Mattermost and Google Chat read `text`; Discord reads `content`.
      const line = chatLine(notice);
      return {
        ...endpoint(sink.id, sink.url, env),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: line, content: line }),
      };
    }
    default:
      return commitStatus(sink, notice, env);
  }
}

function cloudEventRequest(
  sink: Extract<Sink, { kind: 'cloudevents' }>,
  notice: Notice,
  env: NodeJS.ProcessEnv,
): Request {
  const target = endpoint(sink.id, sink.url, env);
  const token = sink.bearerTokenEnv === undefined ? undefined : secret(sink.id, sink.bearerTokenEnv, env);
  const event = new CloudEvent<Notice>({
    specversion: '1.0',
    // The same notice is the same event on every try: receivers dedupe on source + id.
    id: createHash('sha256')
      .update(JSON.stringify([notice.follower, notice.type, notice.sha ?? null, notice.at]))
      .digest('hex')
      .slice(0, 32),
    type: `dev.branch-follower.${notice.type}`,
    // Follower names are DNS labels, so this is a URI-reference as it stands.
    source: `branch-follower/${notice.follower}`,
    ...(notice.sha ? { subject: notice.sha } : {}),
    time: new Date(notice.at).toISOString(),
    datacontenttype: 'application/json',
    data: notice,
  });
  // Binary mode: the body is the notice as plain JSON, readable by a receiver that knows nothing of
  // CloudEvents, and the attributes are ce-* headers a broker can route on without parsing the body.
  const message = HTTP.binary(event);
  return {
    url: target.url,
    // The SDK's binary headers are single strings.
    headers: {
      ...(message.headers as Record<string, string>),
      ...(token && { authorization: `Bearer ${token.value}` }),
    },
    // The notice as JSON, exact, with the characters a reader cannot see or a terminal would obey
    // in JSON's \u escapes (the SDK's JSON.stringify leaves C1, bidi and zero-width ones raw).
    body: readableJson(notice),
    secrets: [...target.secrets, ...(token ? [token] : [])],
  };
}

/**
 * `agentrun-jd01-v02: succeeded 3c619ddc1bbe on main (ClosedOut) <url>`; what went wrong is said (a
 * success's message adds nothing a reader needs), as an inert code span: the message quotes what an
 * adapter, a commit or an operator wrote. The rest is the registry's names and our own words.
 */
function chatLine(n: Notice): string {
  const sha = n.sha ? ` ${shortSha(n.sha)}` : '';
  const why = n.type === 'triggered' || n.type === 'succeeded' ? '' : `: ${chatLiteral(n.message)}`;
  return `${n.follower}: ${n.type}${sha}${supersededBy(n)} on ${n.branch} (${n.code}${why})${n.url ? ` ${n.url}` : ''}`;
}

const supersededBy = (n: Notice): string => (n.by ? ` by ${shortSha(n.by)}` : '');

function commitStatus(
  sink: Extract<Sink, { kind: 'github-status' | 'gitea-status' }>,
  notice: Notice,
  env: NodeJS.ProcessEnv,
): Request {
  // The workflow sends a status sink only what it takes (sinkTakes).
  const state = COMMIT_STATES[notice.type];
  if (!state || !notice.sha)
    throw notificationFailure(
      `sink ${sink.id}: a commit status needs a sha and a deploy notice, not ${notice.type}`,
      false,
    );
  const token = secret(sink.id, sink.tokenEnv, env);
  const repository = (sink.repository ?? notice.repository).split('/').map(encodeURIComponent).join('/');
  const description =
    notice.type === 'superseded' ? `superseded${supersededBy(notice)}` : `${notice.code}: ${notice.message}`;
  const auth: Record<string, string> =
    sink.kind === 'github-status'
      ? // As GitHub's REST docs ask of every request.
        {
          authorization: `Bearer ${token.value}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
        }
      : // docs.gitea.com/development/api-usage: "Authorization: token <token>".
        { authorization: `token ${token.value}`, accept: 'application/json' };
  return {
    url: `${sink.apiUrl.replace(/\/+$/, '')}/repos/${repository}/statuses/${notice.sha}`,
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      state,
      ...(notice.url ? { target_url: notice.url } : {}),
      // Plain text on the commit: one line, controls, bidi and invisible characters shown escaped.
      description: clip(proseLine(description), MAX_DESCRIPTION),
      context: sink.context ?? `branch-follower/${notice.follower}`,
    }),
    secrets: [token],
  };
}

/** A URL from env is a secret (chat webhook URLs embed one): messages call it "the URL in $NAME". */
function endpoint(sinkId: string, ep: Endpoint, env: NodeJS.ProcessEnv): { url: string; secrets: Secret[] } {
  if ('url' in ep) return { url: httpUrl(sinkId, ep.url, 'its url').href, secrets: [] };
  const value = secret(sinkId, ep.env, env);
  const url = httpUrl(sinkId, value.value, `the URL in $${ep.env}`);
  // A sink may quote the path it was asked for ("Cannot POST /services/…"), which carries the secret too.
  const pathAndQuery = url.pathname + url.search;
  return { url: url.href, secrets: [value, ...(pathAndQuery === '/' ? [] : [{ name: ep.env, value: pathAndQuery }])] };
}

function httpUrl(sinkId: string, text: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw notificationFailure(`sink ${sinkId}: ${where} is not a URL`, false);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw notificationFailure(`sink ${sinkId}: ${where} is not an http(s) URL`, false);
  return url;
}

/** A variable's value; unset or empty is a failure that names the variable. */
function secret(sinkId: string, name: string, env: NodeJS.ProcessEnv): Secret {
  // A value from a mounted file often ends in a newline, which no header or URL may carry.
  const value = env[name]?.trim();
  if (!value) throw notificationFailure(`sink ${sinkId}: $${name} is not set in the worker's environment`, false);
  return { name, value };
}

async function send(sinkId: string, request: Request, timeoutMs: number): Promise<DeliveryResult> {
  let res: Response;
  let excerpt: string;
  try {
    res = await fetch(request.url, {
      method: 'POST',
      headers: { ...request.headers, 'user-agent': 'branch-follower' },
      body: request.body,
      // A redirect would carry the token and the notice somewhere the registry does not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.ok) {
      await res.body?.cancel();
      return { status: res.status, message: `answered ${res.status}` };
    }
    excerpt = await excerptOf(res, request.secrets);
  } catch (err) {
    throw unreachable(sinkId, err, timeoutMs);
  }
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500 || rateLimited(res);
  throw notificationFailure(`sink ${sinkId} answered ${res.status}${excerpt && `: ${excerpt}`}`, retryable);
}

/** GitHub answers a request over its rate limits with 403 (or 429): docs.github.com, "Rate limits for the REST API". */
const rateLimited = (res: Response): boolean =>
  res.status === 403 && (res.headers.get('x-ratelimit-remaining') === '0' || res.headers.has('retry-after'));

/** The start of a refusal's body, as one line, scrubbed of the request's secrets: a sink may echo them. */
async function excerptOf(res: Response, secrets: Secret[]): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    chunks.push(chunk.value);
    size += chunk.value.length;
    if (size >= MAX_BODY_READ) break;
  }
  await reader.cancel();
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY_READ).toString('utf8');
  return clip(proseLine(redact(text, secrets, size >= MAX_BODY_READ)), MAX_EXCERPT);
}

/** Down, slow or cut off: worth another try. Never fetch's message, which may quote the URL. */
function unreachable(sinkId: string, err: unknown, timeoutMs: number): ApplicationFailure {
  if ((err as Error | undefined)?.name === 'TimeoutError')
    return notificationFailure(`sink ${sinkId}: no answer within ${formatDuration(timeoutMs)}`, true);
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const why = typeof code === 'string' ? code : ((err as Error | undefined)?.name ?? 'unknown error');
  return notificationFailure(`sink ${sinkId}: could not be reached (${why})`, true);
}

/** Retryable ones are left to Temporal's retry policy for this activity (unlike failure.ts, where the follower decides). */
function notificationFailure(message: string, retryable: boolean): ApplicationFailure {
  const details: FailureDetails = { retryable, at: Date.now() };
  return ApplicationFailure.create({
    type: FailureCode.NotificationFailed,
    message,
    nonRetryable: !retryable,
    details: [details],
  });
}

/** At most `max` characters (code points), the last one an ellipsis when cut. */
function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
