// Untrusted text end to end: a runtime whose failure message quotes a hostile commit (every class of
// the corpus in one message), an operator's hostile pause reason and a push webhook with a hostile
// branch name, through the compiled worker and the real server. What arrives is read where it
// arrives: the operator CLI's output (events, status -o wide, explain, history, logs, the pause
// echo, status --watch from the real binary), the worker's log, the UI details the server returns
// (parsed as the Temporal UI parses them), the CloudEvent, chat and commit status bodies the sinks
// received, and the metrics a scrape gets. None may carry a hostile character raw or markup made
// from it; JSON keeps the exact value. A second case opens the follower in the real Temporal UI
// with Chromium and reads the DOM the details render to.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { HTTP, type CloudEvent } from 'cloudevents';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { workflowIdFor } from '../../contract/messages.ts';
import type { Notice } from '../../contract/notify.ts';
import { startDevServer } from '../../scripts/dev-server.ts';
import { freePort } from '../../scripts/git-mirror.ts';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/tools.ts';
import { Harness, processOutput, REPO } from '../support/harness.ts';
import { until } from '../support/kube-cluster.ts';
import { hostileIn, SURFACE_PAYLOAD } from '../support/untrusted-corpus.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'a webhook secret for the test';
/** Every class again, markup first: the UI details cut a value at 300 characters. */
const REASON = `freeze ${SURFACE_PAYLOAD.split(' | ').reverse().join(' | ')}`;
const HOSTILE_BRANCH = 'feature/\u202egnp.exe\u001b]0;pwned\u0007';

interface Received {
  chat: { text: string; content: string }[];
  statuses: { description: string }[];
  /** CloudEvents as received: the raw body and the event the SDK parses from it. */
  events: { body: string; event: CloudEvent<Notice> }[];
}

/** A CloudEvents receiver, a chat webhook and a GitHub-shaped status API, keeping the bodies they were sent. */
async function startSinks() {
  const received: Received = { chat: [], statuses: [], events: [] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const body = JSON.parse(raw) as Record<string, string>;
      if (req.url === '/events')
        received.events.push({
          body: raw,
          event: HTTP.toEvent({ headers: req.headers, body: raw }) as CloudEvent<Notice>,
        });
      else if (req.url === '/chat') received.chat.push(body as unknown as Received['chat'][number]);
      else received.statuses.push(body as unknown as Received['statuses'][number]);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Every node type of a markdown document, as the Temporal UI's parser (mdast-util-from-markdown) reads it. */
function markdownNodes(doc: string): Set<string> {
  const types = new Set<string>();
  const walk = (n: { type: string; children?: unknown[] }): void => {
    types.add(n.type);
    for (const c of n.children ?? []) walk(c as typeof n);
  };
  walk(fromMarkdown(doc));
  return types;
}

/** The first `frames` screens of `status --watch` from the real binary, then it is stopped. */
function watchFrames(registryFile: string, frames: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'client/branch-follower.mjs'), '--registry', registryFile, 'status', '--watch', '-o', 'wide'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.split('\nFOLLOWER').length > frames) child.kill();
    });
    child.on('error', reject);
    child.on('exit', () => resolve(out));
  });
}

let h: Harness | undefined;
let sinks: Awaited<ReturnType<typeof startSinks>> | undefined;
afterEach(async () => {
  await h?.close();
  await sinks?.close();
  h = sinks = undefined;
});

describe('untrusted text end to end', () => {
  it('a hostile failure message, pause reason and webhook ref arrive inert on every surface, and exact in JSON', async () => {
    sinks = await startSinks();
    const metrics = `127.0.0.1:${await freePort()}`;
    const hooks = `127.0.0.1:${await freePort()}`;
    h = await Harness.create({
      lanes: { a: { outcomes: ['fail-terminal'], failMessage: SURFACE_PAYLOAD } },
      followers: [{ name: 'app', lane: 'a', yaml: { notify: ['bus', 'chat', 'commits'] } }],
      metrics: { listen: metrics },
      webhooks: { listen: hooks, sources: { github: { kind: 'github', secretEnv: 'BF_TEST_WEBHOOK_SECRET' } } },
      notify: {
        bus: { kind: 'cloudevents', url: `${sinks.url}/events` },
        chat: { kind: 'chat', urlEnv: 'BF_TEST_CHAT_URL' },
        commits: { kind: 'github-status', apiUrl: `${sinks.url}/api`, tokenEnv: 'BF_TEST_TOKEN' },
      },
    });
    const worker = h.spawnWorker({
      env: { BF_TEST_CHAT_URL: `${sinks.url}/chat`, BF_TEST_TOKEN: 't', BF_TEST_WEBHOOK_SECRET: SECRET },
    });
    await until(
      async () => processOutput(worker).includes(`webhooks: listening on ${hooks}`),
      60_000,
      () => processOutput(worker),
    );
    await h.startFollowers();
    const id = h.id('app');
    const failed = await h.waitFor('app', 'the head failed with the hostile message', (v) => v.phase === 'Failed');
    const head = failed.observedSha!;
    expect(failed.message).toContain(SURFACE_PAYLOAD.slice(0, 100));

    // A push webhook for a branch nobody follows, with a hostile name: the receiver logs it.
    const push = JSON.stringify({ ref: `refs/heads/${HOSTILE_BRANCH}`, after: head, repository: { full_name: REPO } });
    const answer = await fetch(`http://${hooks}/hooks/github`, {
      method: 'POST',
      body: push,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'hostile-1',
        'x-hub-signature-256': await sign(SECRET, push),
      },
    });
    expect(answer.status).toBe(202);
    // JSON keeps the exact value: the receiver's answer names the branch as it was sent.
    expect(JSON.stringify(await answer.json())).toContain(JSON.stringify(HOSTILE_BRANCH).slice(1, -1));

    const paused = await h.cli('pause', '--follower', id, '--reason', REASON);
    expect(paused.code).toBe(0);
    await h.waitFor('app', 'paused with the hostile reason', (v) => v.paused?.reason === REASON);

    // The CLI, every human-readable view of the follower.
    const views = {
      pauseEcho: paused.out,
      events: (await h.cli('events', '--follower', id)).out,
      statusWide: (await h.cli('status', '--follower', id, '-o', 'wide')).out,
      explain: (await h.cli('explain', '--follower', id, '--sha', head)).out,
      history: (await h.cli('history', '--follower', id)).out,
      logs: (await h.cli('logs', '--follower', id)).out,
      yaml: (await h.cli('events', '--follower', id, '-o', 'yaml')).out,
      statusWatch: await watchFrames(h.registryFile, 2),
    };
    for (const [view, text] of Object.entries(views)) expect(hostileIn(text), view).toEqual([]);
    expect(views.logs).toContain('\\x1b[2J');
    // The message is one row of the events table: no row of its own for the forged line.
    const events = (await h.cli('events', '--follower', id, '-o', 'json')).out;
    const transitions = (JSON.parse(events) as { events: { message: string }[] }).events;
    expect(views.events.split('\n')).toHaveLength(transitions.length + 1);
    // JSON output keeps the exact values (in JSON's escapes), and shows none of them raw.
    expect(transitions.some((t) => t.message.includes(SURFACE_PAYLOAD))).toBe(true);
    expect(transitions.some((t) => t.message.includes(REASON))).toBe(true);
    expect(hostileIn(events)).toEqual([]);

    // The worker's log, as a log shipper or `kubectl logs` reads it.
    await until(
      async () => processOutput(worker).includes('hostile-1') || processOutput(worker).includes('gnp.exe'),
      30_000,
      () => processOutput(worker),
    );
    expect(hostileIn(processOutput(worker))).toEqual([]);
    for (const line of processOutput(worker).trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();

    // The UI details, as the server returns them and the Temporal UI parses them.
    await until(
      async () =>
        (
          await h!.handle('app').query<{ currentDetails: string }>('__temporal_workflow_metadata')
        ).currentDetails.includes('paused since'),
      30_000,
      () => 'the details do not show the pause yet',
    );
    const { currentDetails } = await h.handle('app').query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(hostileIn(currentDetails)).toEqual([]);
    const kinds = markdownNodes(currentDetails);
    for (const markup of [
      'link',
      'image',
      'html',
      'linkReference',
      'imageReference',
      'definition',
      'heading',
      'blockquote',
    ])
      expect(kinds.has(markup), `${markup} in ${currentDetails}`).toBe(false);

    // The sinks: the failure told to chat and as a commit status.
    await until(
      async () =>
        sinks!.received.chat.some((c) => c.text.includes('failed')) &&
        sinks!.received.statuses.length >= 2 &&
        sinks!.received.events.some((e) => e.event.type === 'dev.branch-follower.failed'),
      30_000,
      () => JSON.stringify(sinks!.received),
    );
    const chat = sinks.received.chat.find((c) => c.text.includes('failed'))!;
    for (const text of [chat.text, chat.content]) {
      expect(hostileIn(text)).toEqual([]);
      expect(text).not.toMatch(/<[!@#]|<https?:|<users\//);
      const chatKinds = markdownNodes(text);
      for (const markup of ['link', 'image', 'html']) expect(chatKinds.has(markup), text).toBe(false);
    }
    for (const s of sinks.received.statuses) expect(hostileIn(s.description)).toEqual([]);
    // A CloudEvent's body is JSON: the exact message, in JSON's escapes, nothing raw.
    const told = sinks.received.events.find((e) => e.event.type === 'dev.branch-follower.failed');
    expect(told?.event.data?.message).toBe(failed.message);
    expect(hostileIn(told!.body)).toEqual([]);

    // Metrics: labels are the registry's names and our codes; nothing a push or an adapter wrote.
    const scraped = await (await fetch(`http://${metrics}/metrics`)).text();
    expect(scraped).toContain('branch_follower_webhook_requests_total');
    expect(hostileIn(scraped)).toEqual([]);
    expect(scraped).not.toContain('gnp.exe');
  });

  it('the Temporal UI renders the details of a follower quoting hostile text with no element made from it (Chromium, the rendered DOM)', async () => {
    const log = (line: string): void => console.log(`[untrusted] ${line}`);
    const executablePath = await ensureChromium(log);
    const server = await startDevServer({
      cli: inject('temporalCli'),
      host: '127.0.0.1',
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      startTimeoutMs: 120_000,
      log,
    });
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      h = await Harness.create({
        address: server.address,
        lanes: { a: { outcomes: ['fail-terminal'], failMessage: SURFACE_PAYLOAD } },
        followers: [{ name: 'app', lane: 'a' }],
      });
      await h.startWorker();
      await h.startFollowers();
      const id = h.id('app');
      await h.waitFor('app', 'the head failed with the hostile message', (v) => v.phase === 'Failed');
      expect((await h.cli('pause', '--follower', id, '--reason', REASON)).code).toBe(0);
      await h.waitFor('app', 'paused with the hostile reason', (v) => v.paused?.reason === REASON);

      const page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
      await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowIdFor(id))}`, {
        timeout: 60_000,
      });
      await page.getByText('User Metadata', { exact: true }).first().click({ timeout: 60_000 });
      // The UI renders the details' markdown on its server and shows the page in a frame.
      let rendered: { tags: string[]; text: string; hrefs: string[] } | undefined;
      await until(
        async () => {
          for (const frame of page.frames()) {
            const dom = await frame
              .evaluate(() => {
                const main = document.querySelector('main') ?? document.body;
                return {
                  tags: [...main.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()),
                  text: main.textContent ?? '',
                  hrefs: [...document.querySelectorAll('[href],[src]')].map((e) => e.outerHTML),
                };
              })
              .catch(() => undefined);
            if (dom?.text.includes('paused since')) rendered = dom;
          }
          return rendered !== undefined;
        },
        60_000,
        () =>
          `no frame shows the details yet: ${page
            .frames()
            .map((f) => f.url())
            .join(', ')}`,
      );
      const { tags, text, hrefs } = rendered!;
      // Our own markup only: the phase in bold, the time in italics, a list, code spans.
      expect(tags.filter((t) => !['code', 'em', 'li', 'p', 'strong', 'ul'].includes(t))).toEqual([]);
      expect(hrefs.filter((h) => !h.startsWith('<link') && !h.startsWith('<base'))).toEqual([]);
      expect(hostileIn(text)).toEqual([]);
      // The values are there, as their characters: escaped controls, the markup as text.
      expect(text).toContain('\\u{e0001}');
      expect(text).toContain('<img src=x onerror=alert(1)>');
      expect(text).toContain('@here @channel');
      expect(text).toContain('characters)'); // the cut's marker
      expect(text).toContain('<!channel>');
    } finally {
      await browser.close();
      await h?.close();
      h = undefined;
      await server.stop();
    }
  });
});
