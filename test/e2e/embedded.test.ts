// `npm start` end to end: the shipped registry (ports and data paths moved to a temp dir) brings
// up its own dev server with UI, the demo mirror and the worker; the seed's three followers reach
// Succeeded; a second start resumes them without starting or triggering anything twice; a demo
// push with --webhook reaches a follower through the receiver (it polls only once an hour here).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePort } from '../../scripts/git-mirror.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SEED_FOLLOWERS = ['hwlab-jd01-v03', 'agentrun-jd01-v02', 'web-probe-sentinel-master'];
const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shipped config, copied with its owning configs; ports, data and programs moved. */
async function prepare(): Promise<{ registry: string; address: string; triggersLogs: string[] }> {
  cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), {
    recursive: true,
    filter: (src) => !src.endsWith('.ts'),
  });
  const file = path.join(dir, 'config', 'cicd-branch-followers.yaml');
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  const [tPort, uiPort, gitPort, hookPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const address = `127.0.0.1:${tPort}`;
  doc.controller.temporal.address = address;
  doc.controller.temporal.uiUrl = `http://127.0.0.1:${uiPort}`;
  doc.controller.embedded = {
    temporal: { ...doc.controller.embedded.temporal, uiPort, dbFile: path.join(dir, 'data/temporal.db') },
    mirror: {
      root: path.join(dir, 'data/mirror'),
      listen: `127.0.0.1:${gitPort}`,
      seed: path.join(ROOT, 'examples/mirror-seed.yaml'),
    },
  };
  doc.controller.webhooks.listen = `127.0.0.1:${hookPort}`;
  doc.controller.metrics.listen = `127.0.0.1:${metricsPort}`;
  // Only a webhook can make a follower read the mirror again within the test.
  doc.defaults.pollInterval = '1h';
  for (const f of doc.followers) {
    f.source.mirror = f.source.mirror.replace(':9418/', `:${gitPort}/`);
    delete f.pollInterval;
  }
  for (const a of Object.values<any>(doc.adapters)) {
    for (const op of ['status', 'trigger', 'cancel', 'logs'])
      if (a[op]) a[op].argv[0] = path.join(ROOT, 'examples/bin', path.basename(a[op].argv[0]));
  }
  writeFileSync(file, YAML.stringify(doc));
  // The owning configs keep their relative state dirs, which now land under dir/.data.
  const triggersLogs = ['hwlab', 'agentrun', 'web-probe'].map((n) =>
    path.join(dir, '.data/control-plane', n, 'triggers.log'),
  );
  return { registry: file, address, triggersLogs };
}

function start(registry: string): ChildProcess & { output: () => string } {
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, path.join(ROOT, 'scripts/start.ts')], {
    cwd: dir,
    env: { ...process.env, BRANCH_FOLLOWER_REGISTRY: registry, BRANCH_FOLLOWER_TEMPORAL_ADDRESS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return Object.assign(child, { output: () => out });
}

async function until(what: string, pred: () => boolean, output: () => string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const stop = async (child: ChildProcess): Promise<number | null> => {
  child.kill('SIGINT');
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
};

describe('npm start (the embedded default)', () => {
  it('brings up the stack, deploys the seed followers once, and a restart starts nothing twice', async () => {
    const { registry, address, triggersLogs } = await prepare();
    const first = start(registry);
    const succeeded = (out: string, id: string) => new RegExp(`${id}\\s+Succeeded`).test(out);
    await until(
      'three followers Succeeded',
      () => SEED_FOLLOWERS.every((id) => succeeded(first.output(), id)),
      first.output,
    );
    expect(first.output()).toContain('created demo repos');
    expect(first.output()).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
    expect(existsSync(path.join(dir, 'data/temporal.db'))).toBe(true);

    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const runIds = async () =>
      Object.fromEntries(
        await Promise.all(
          SEED_FOLLOWERS.map(async (id) => [
            id,
            (await client.workflow.getHandle(`branch-follower/${id}`).describe()).runId,
          ]),
        ),
      );
    const before = await runIds();
    await connection.close();
    // Each deploy the runtime logged is told to the registry's CloudEvents sink, which `npm start`
    // receives itself and prints (parsed by the cloudevents SDK).
    const told = (log: string, id: string) => {
      const sha = readFileSync(log, 'utf8').trim().split('\n').at(-1)!.split(' ')[2]!;
      return `[events] ${id} succeeded ${sha.slice(0, 12)} (ClosedOut) ← dev.branch-follower.succeeded`;
    };
    await until(
      'each deploy told to the local CloudEvents sink',
      () => SEED_FOLLOWERS.every((id, i) => first.output().includes(told(triggersLogs[i]!, id))),
      first.output,
      60_000,
    );
    expect(await stop(first), first.output()).toBe(0);
    const triggered = triggersLogs.map((f) => readFileSync(f, 'utf8').trim().split('\n'));
    expect(triggered.map((lines) => lines.length)).toEqual([1, 1, 1]);

    // Second start: same data dir, the dev server comes back on the same DB, nothing doubles.
    const second = start(registry);
    await until(
      'followers reported again',
      () => SEED_FOLLOWERS.every((id) => succeeded(second.output(), id)),
      second.output,
    );
    expect(second.output()).not.toContain('created demo repos');
    const again = await Connection.connect({ address });
    const after = await (async () => {
      const c = new Client({ connection: again });
      return Object.fromEntries(
        await Promise.all(
          SEED_FOLLOWERS.map(async (id) => [
            id,
            (await c.workflow.getHandle(`branch-follower/${id}`).describe()).runId,
          ]),
        ),
      );
    })();
    await again.close();
    expect(after).toEqual(before);
    expect(triggersLogs.map((f) => readFileSync(f, 'utf8').trim().split('\n').length)).toEqual([1, 1, 1]);

    // A push announced by its webhook, as `npm run demo:push -- agentrun --webhook` sends it.
    const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
    const push = await promisify(execFile)(
      process.execPath,
      ['--import', loader, path.join(ROOT, 'scripts/demo-push.ts'), 'agentrun', '--webhook'],
      { cwd: dir, env: { ...process.env, BRANCH_FOLLOWER_REGISTRY: registry } },
    );
    expect(push.stdout).toMatch(
      /webhook to http:\/\/127\.0\.0\.1:\d+\/hooks\/github: 202 \{"followers":\["agentrun-jd01-v02"\]\}/,
    );
    const sha = /^pushed ([0-9a-f]{12})/.exec(push.stdout)![1]!;
    await until(
      'the announced push triggered',
      () => readFileSync(triggersLogs[1]!, 'utf8').includes(sha),
      second.output,
      60_000,
    );
    expect(await stop(second), second.output()).toBe(0);
    expect(triggersLogs.map((f) => readFileSync(f, 'utf8').trim().split('\n').length)).toEqual([1, 2, 1]);
  });
});
