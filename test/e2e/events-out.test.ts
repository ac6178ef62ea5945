// Events out, end to end: the compiled worker, as the image runs it, deploys two heads and tells
// its sinks — a CloudEvents receiver (each request parsed and validated by the `cloudevents` SDK's
// own parser), a chat webhook whose URL is a secret and which fails its first request, a
// Gitea-shaped commit status API, a sink that refuses and one that never answers — while a real
// Prometheus scrapes its /metrics. The witnesses are the runtime's trigger log, what the sinks
// received, the webhook answers the test got, and the follower's history bytes (no secret in
// them). Two more cases: a run recorded by the previous release starts notifying, and a run that
// continues as new hands its notices in flight to the next.
import http from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { defaultPayloadConverter } from '@temporalio/common';
import { HTTP, type CloudEvent } from 'cloudevents';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/git-mirror.ts';
import { shortSha } from '../../contract/format.ts';
import { notificationQueue, workflowIdFor } from '../../contract/messages.ts';
import type { Notice, Outgoing } from '../../contract/notify.ts';
import { Harness, patchesIn, REPO } from '../support/harness.ts';
import { until } from '../support/kube-cluster.ts';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { preNotificationsBundle } from '../support/v1-bundle.ts';

const CHAT_PATH = '/chat/T0-a-chat-secret-in-the-url';
const TOKEN = 'gitea-token-not-for-your-eyes';
const WEBHOOK_SECRET = 'a webhook secret for the test';

interface Received {
  events: CloudEvent<Notice>[];
  chat: string[];
  statuses: { sha: string; authorization?: string; body: Record<string, string> }[];
  /** Requests the never-answering sink holds. */
  held: http.ServerResponse[];
}

/** One server plays every sink; the chat webhook refuses its first request with a 500. */
async function startSinks(): Promise<{ url: string; received: Received; close(): Promise<void> }> {
  const received: Received = { events: [], chat: [], statuses: [], held: [] };
  let chatRequests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const url = req.url ?? '';
      if (url === '/slow') return void received.held.push(res);
      if (url === '/events') {
        const event = HTTP.toEvent({ headers: req.headers, body }) as CloudEvent<Notice>;
        event.validate();
        received.events.push(event);
      } else if (url === CHAT_PATH) {
        if (++chatRequests === 1) return void res.writeHead(500).end('try later');
        received.chat.push((JSON.parse(body) as { text: string }).text);
      } else {
        const status = /^\/api\/v1\/repos\/org\/app\/statuses\/([0-9a-f]{40})$/.exec(url);
        if (!status) return void res.writeHead(404).end();
        received.statuses.push({
          sha: status[1]!,
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          body: JSON.parse(body) as Record<string, string>,
        });
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      for (const res of received.held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let h: Harness | undefined;
let prometheus: PrometheusServer | undefined;
let sinks: Awaited<ReturnType<typeof startSinks>> | undefined;
afterEach(async () => {
  await prometheus?.stop();
  await h?.close();
  await sinks?.close();
  h = prometheus = sinks = undefined;
});

/** The sum of an instant query's series (0 when there is none yet). */
const valueOf = async (expr: string): Promise<number> =>
  (await prometheus!.query(expr)).reduce((sum, s) => sum + s.value, 0);

describe('events out', () => {
  it('sinks are told each deploy once, a slow sink holds nothing up, and Prometheus scrapes what the runtime saw', async () => {
    sinks = await startSinks();
    const metrics = `127.0.0.1:${await freePort()}`;
    const hooks = `127.0.0.1:${await freePort()}`;
    h = await Harness.create({
      lanes: { a: { deployMs: 300 } },
      followers: [{ name: 'app', lane: 'a', yaml: { notify: ['bus', 'chat', 'commits', 'slow', 'gone'] } }],
      temporal: { uiUrl: 'http://ui.example' },
      metrics: { listen: metrics },
      webhooks: { listen: hooks, sources: { github: { kind: 'github', secretEnv: 'BF_TEST_WEBHOOK_SECRET' } } },
      notify: {
        bus: { kind: 'cloudevents', url: `${sinks.url}/events` },
        chat: { kind: 'chat', urlEnv: 'BF_TEST_CHAT_URL' },
        commits: { kind: 'gitea-status', apiUrl: `${sinks.url}/api/v1`, tokenEnv: 'BF_TEST_GITEA_TOKEN' },
        slow: { kind: 'cloudevents', url: `${sinks.url}/slow` },
        gone: { kind: 'cloudevents', url: `${sinks.url}/gone` },
      },
    });
    const worker = h.spawnWorker({
      env: {
        BF_TEST_CHAT_URL: `${sinks.url}${CHAT_PATH}`,
        BF_TEST_GITEA_TOKEN: TOKEN,
        BF_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
    });
    const output = () => (worker as unknown as { output: string }).output;
    await until(async () => output().includes(`metrics: serving http://${metrics}/metrics`), 60_000, output);
    prometheus = await startPrometheus({ bin: inject('prometheus').prometheus, dir: h.dir, targets: [metrics] });
    await h.startFollowers();
    const id = h.id('app');

    await h.waitFor('app', 'the first head deployed', (v) => v.phase === 'Succeeded');
    const pushed = h.push('main', 'the second head');
    const done = await h.waitFor('app', 'the pushed head deployed', (v) => v.lastSucceededSha === pushed);
    // The runtime's own log: each head triggered once — while the slow sink still holds every request.
    const shas = h.triggers('a').map((t) => t.sha);
    expect(shas).toHaveLength(2);
    expect(shas[1]).toBe(pushed);
    expect(new Set(shas).size).toBe(2);
    expect(sinks.received.held.length).toBeGreaterThan(0);

    // CloudEvents: triggered and succeeded per head, once each (a redelivery would repeat an id).
    const told = (type: string) => sinks!.received.events.filter((e) => e.type === `dev.branch-follower.${type}`);
    await until(
      async () => told('succeeded').length === 2,
      30_000,
      () => `CloudEvents received: ${sinks!.received.events.map((e) => `${e.type} ${e.subject}`).join(', ')}`,
    );
    for (const type of ['triggered', 'succeeded']) expect(told(type).map((e) => e.subject)).toEqual(shas);
    expect(new Set(sinks.received.events.map((e) => e.id)).size).toBe(sinks.received.events.length);
    const last = told('succeeded')[1]!;
    expect(last.source).toBe(`branch-follower/${id}`);
    expect(last.data).toMatchObject({ follower: id, repository: REPO, branch: 'main', sha: pushed, code: 'ClosedOut' });

    // Gitea commit statuses: pending on trigger, success on close-out, linked to the follower's page.
    await until(
      async () => sinks!.received.statuses.filter((s) => s.body.state === 'success').length === 2,
      30_000,
      () => `statuses: ${JSON.stringify(sinks!.received.statuses.map((s) => [s.sha, s.body.state]))}`,
    );
    expect(sinks.received.statuses.map((s) => [s.sha, s.body.state])).toEqual(
      shas.flatMap((sha) => [
        [sha, 'pending'],
        [sha, 'success'],
      ]),
    );
    for (const s of sinks.received.statuses) {
      expect(s.authorization).toBe(`token ${TOKEN}`);
      expect(s.body).toMatchObject({
        context: `branch-follower/${id}`,
        target_url: `http://ui.example/namespaces/default/workflows/${encodeURIComponent(workflowIdFor(id))}`,
      });
    }

    // The chat webhook refused the first notice; its retry got through, so every notice arrived.
    await until(
      async () => sinks!.received.chat.length === 4,
      30_000,
      () => `chat lines: ${sinks!.received.chat.join(' | ')}`,
    );
    expect(sinks.received.chat.filter((t) => t.includes('succeeded') && t.includes(shortSha(pushed)))).toHaveLength(1);

    // What status shows of the sinks: each one's latest delivery from the follower's state.
    const view = await h.waitFor('app', 'the deliveries recorded', (v) =>
      ['bus', 'chat', 'commits'].every((s) => v.deliveries?.some((d) => d.sink === s && d.ok && d.sha === pushed)),
    );
    expect(view.deliveries?.some((d) => d.sink === 'slow')).toBe(false);
    const status = (await h.cli('status')).out;
    expect(status).toMatch(
      new RegExp(`^  bus \\(cloudevents, ${id}\\): delivered succeeded ${pushed.slice(0, 12)} of ${id} at `, 'm'),
    );
    expect(status).toMatch(/^ {2}slow \(cloudevents, .*\): nothing sent yet$/m);
    // A sink that refuses (404) is not tried again: the follower records NotificationFailed, status says FAILED.
    await h.waitForEvent('app', 'a refused notice', (e) => e.code === 'NotificationFailed' && e.sha === pushed);
    expect((await h.cli('status')).out).toMatch(
      new RegExp(`^  gone \\(cloudevents, ${id}\\): FAILED for ${id}; the latest: .* sink gone answered 404`, 'm'),
    );

    // Webhooks: one signed push and one with a wrong secret, as the receiver answered them.
    const body = JSON.stringify({ ref: 'refs/heads/main', after: pushed, repository: { full_name: REPO } });
    const hook = async (secret: string) =>
      (
        await fetch(`http://${hooks}/hooks/github`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-hub-signature-256': await sign(secret, body),
          },
        })
      ).status;
    expect([await hook(WEBHOOK_SECRET), await hook('not the secret')]).toEqual([202, 401]);

    const history = h.historyJson('app');
    // Prometheus, through its HTTP API: what it scraped agrees with the runtime's log and the answers above.
    const expectScraped = async (expr: string, want: number) => {
      let got = NaN;
      await until(
        async () => (got = await valueOf(expr)) === want,
        30_000,
        () => `${expr} = ${got}, want ${want}`,
      );
    };
    const f = `follower="${id}"`;
    await expectScraped(`branch_follower_triggers_total{${f}}`, shas.length);
    await expectScraped(`branch_follower_deploys_total{${f},outcome="Succeeded",code="ClosedOut"}`, shas.length);
    await expectScraped(`branch_follower_seen_to_succeeded_seconds_count{${f}}`, shas.length);
    await expectScraped(
      `branch_follower_phase_since_timestamp_seconds{${f},phase="Succeeded"}`,
      (done.codeSince ?? NaN) / 1000,
    );
    // The phase it left reads 0 (a series that is there, not a missing one).
    expect(
      (await prometheus.waitForSeries(`branch_follower_phase_since_timestamp_seconds{${f},phase="ClosingOut"}`)).map(
        (s) => s.value,
      ),
    ).toEqual([0]);
    await expectScraped(`branch_follower_webhook_requests_total{source="github",result="accepted"}`, 1);
    await expectScraped(`branch_follower_webhook_requests_total{source="github",result="unauthorized"}`, 1);
    await expectScraped(`branch_follower_notifications_total{sink="bus",notice="succeeded",result="delivered"}`, 2);
    await expectScraped(`branch_follower_notifications_total{sink="chat",result="failed"}`, 1);
    await expectScraped(`branch_follower_notifications_total{sink="gone",result="failed"}`, 4);
    // Notices go through a task queue of their own: a slow sink holds none of the deploy's slots.
    const scheduled = (JSON.parse(history) as { events: Record<string, any>[] }).events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter(Boolean);
    expect(new Set(scheduled.filter((a) => a.activityType.name === 'notify').map((a) => a.taskQueue.name))).toEqual(
      new Set([notificationQueue(h.taskQueue)]),
    );
    // The SDK's own series come from the same endpoint.
    expect((await prometheus.waitForSeries('temporal_worker_task_slots_available')).length).toBeGreaterThan(0);
    // What BranchFollowerNoWorker reads: the follower queue's workflow pollers, by namespace and queue.
    const pollers = await prometheus.waitForSeries(
      `temporal_num_pollers{poller_type="workflow_task",task_queue="${h.taskQueue}",namespace="default"}`,
    );
    expect(pollers.map((s) => s.value).every((v) => v > 0)).toBe(true);
    // …and what BranchFollowerNotificationsFailing groups the deliveries by.
    const deliveries = await prometheus.waitForSeries('branch_follower_notifications_total{sink="gone"}');
    expect(deliveries.every((s) => s.metric.namespace === 'default' && s.metric.kind === 'cloudevents')).toBe(true);

    // Secrets stayed in the worker: not in the follower's history, not in the worker's log.
    for (const secret of [TOKEN, CHAT_PATH.split('/')[2]!, WEBHOOK_SECRET]) {
      expect(history).not.toContain(secret);
      expect(output()).not.toContain(secret);
    }
  });

  it('a follower started before notifications begins telling its sinks after its next fired timer, and its run replays', async () => {
    sinks = await startSinks();
    h = await Harness.create({
      lanes: { a: { deployMs: 300 } },
      followers: [{ name: 'app', lane: 'a', yaml: { notify: ['bus'] } }],
      notify: { bus: { kind: 'cloudevents', url: `${sinks.url}/events` } },
    });
    await h.startWorker({ bundlePath: await preNotificationsBundle() });
    await h.startFollowers();
    const first = await h.waitFor('app', 'the first head deployed by the old release', (v) => v.phase === 'Succeeded');
    const run = (await h.handle('app').describe()).runId;
    await h.stopWorker();
    expect(patchesIn(h.historyJson('app', run))).not.toContain('notifications');

    await h.startWorker();
    const pushed = h.push('main', 'deployed by this release');
    await h.waitFor('app', 'the pushed head deployed', (v) => v.lastSucceededSha === pushed);
    await until(
      async () => sinks!.received.events.some((e) => e.type === 'dev.branch-follower.succeeded'),
      30_000,
      () => `CloudEvents received: ${sinks!.received.events.map((e) => `${e.type} ${e.subject}`).join(', ')}`,
    );
    // Told of what this release did, nothing of what the old one did; the same run throughout.
    expect(sinks.received.events.map((e) => [e.type, e.subject])).toEqual([
      ['dev.branch-follower.triggered', pushed],
      ['dev.branch-follower.succeeded', pushed],
    ]);
    expect(first.lastSucceededSha).not.toBe(pushed);
    expect((await h.handle('app').describe()).runId).toBe(run);
    expect(patchesIn(h.historyJson('app', run))).toContain('notifications');
    // h.close() replays the run, recorded by both releases, with this one (test/support/replay-check.ts).
  });

  it('a run that continues as new hands the notices its sinks have not taken to the next run, which sends them', async () => {
    sinks = await startSinks();
    h = await Harness.create({
      lanes: { a: { deployMs: 300 } },
      followers: [{ name: 'app', lane: 'a', yaml: { notify: ['slow'] } }],
      defaults: { loop: { continueAsNewAfter: 6 } },
      notify: { slow: { kind: 'cloudevents', url: `${sinks.url}/slow` } },
    });
    await h.startWorker();
    await h.startFollowers();
    const first = (await h.handle('app').describe()).runId;
    await h.waitFor('app', 'the first head deployed', (v) => v.phase === 'Succeeded');
    let next = first;
    await until(
      async () => (next = (await h!.handle('app').describe()).runId) !== first,
      60_000,
      () => `run ${first} did not continue as new`,
    );
    // The sink holds every request: what the first run had sent was still in flight when it went.
    const carried = (await h.continuedAsNewInput('app', first)).notices ?? [];
    expect(carried.map((o) => [o.sink.id, o.notice.type])).toContainEqual(['slow', 'triggered']);
    // The bytes in the next run's history: it schedules each carried notice again (in its first tasks).
    const scheduledIn = async (runId: string): Promise<Outgoing[]> =>
      ((await h!.client.workflow.getHandle(workflowIdFor(h!.id('app')), runId).fetchHistory()).events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a?.activityType?.name === 'notify')
        .map((a) => defaultPayloadConverter.fromPayload<Outgoing>(a!.input!.payloads![0]!));
    let sent: Outgoing[] = [];
    await until(
      async () => (sent = await scheduledIn(next)).length >= carried.length,
      30_000,
      () => `run ${next} scheduled ${JSON.stringify(sent)}; carried ${JSON.stringify(carried)}`,
    );
    for (const o of carried) expect(sent).toContainEqual(o);
  });
});
