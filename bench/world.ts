// What every benchmark runs on: a fresh Temporal dev server (so runs do not share load), a git
// daemon serving generated repositories of ten branches each, the production worker in its own
// process (bench/worker.ts), and the benchmark adapter (bench/adapter.sh).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import YAML from 'yaml';
import { startFollower, startOptions, startWatcher, watcherSpecs } from '../client/followers.ts';
import { loadRegistry, type Registry } from '../config/registry.ts';
import { startDevServer, type DevServer } from '../scripts/dev-server.ts';
import { freePort, pushCommit, seedMirror, startGitDaemon, type GitDaemon } from '../scripts/git-mirror.ts';
import { refreshSignal, workflowIdFor } from '../contract/messages.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADAPTER = path.join(ROOT, 'bench', 'adapter.sh');
export const BRANCHES_PER_REPO = 10;
export type Log = (line: string) => void;

export interface Bench {
  dir: string;
  cli: string;
  bundlePath: string;
  mirrorRoot: string;
  daemon: GitDaemon;
  log: Log;
}

/** The mirror: `count` repositories bench/r<i>, each with branches b0…b9 (copies of one seeded repository). */
export function ensureRepos(b: Bench, count: number): void {
  const template = path.join(b.mirrorRoot, 'bench', 'r0.git');
  if (!existsSync(template))
    seedMirror(b.mirrorRoot, [
      {
        repo: 'bench/r0',
        branches: Array.from({ length: BRANCHES_PER_REPO }, (_, i) => ({ name: `b${i}`, commits: 1 })),
      },
    ]);
  for (let i = 1; i < count; i++) {
    const dest = path.join(b.mirrorRoot, 'bench', `r${i}.git`);
    if (!existsSync(dest)) cpSync(template, dest, { recursive: true });
  }
}

export interface FleetOptions {
  name: string;
  followers: number;
  mode: 'poll' | 'watch';
  pollInterval: string;
  /** git: the daemon, read in process; file: the same repositories through `git ls-remote` (the reader before this change). */
  scheme: 'git' | 'file';
  continueAsNewAfter?: number;
  /** Serve push webhooks (a `github` source) on this port of 127.0.0.1. */
  webhookPort?: number;
}

/** The shared secret of the bench's webhook source (a made-up value: the bench's own). */
export const BENCH_WEBHOOK_SECRET = 'the benchmark webhook secret';

export interface Fleet {
  options: FleetOptions;
  server: DevServer;
  client: Client;
  registry: Registry;
  worker: ChildProcess;
  samplesFile: string;
  stateDir: string;
  ids: string[];
  /** repo and branch of each follower, by id. */
  where: Map<string, { repo: string; branch: string }>;
  stop(): Promise<void>;
}

/** Starts a dev server, the worker and `followers` followers (N/10 repositories × 10 branches), and waits until each has deployed its head once. */
export async function startFleet(b: Bench, o: FleetOptions): Promise<Fleet> {
  const dir = path.join(b.dir, o.name);
  rmSync(dir, { recursive: true, force: true });
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(
    path.join(dir, 'lanes.yaml'),
    '# the benchmark adapter keeps its state in the directory named in its argv\n',
  );
  const repos = Math.ceil(o.followers / BRANCHES_PER_REPO);
  ensureRepos(b, repos);
  const where = new Map<string, { repo: string; branch: string }>();
  const ids: string[] = [];
  const followers = Array.from({ length: o.followers }, (_, i) => {
    const repo = `bench/r${Math.floor(i / BRANCHES_PER_REPO)}`;
    const branch = `b${i % BRANCHES_PER_REPO}`;
    const id = `f${i}`;
    ids.push(id);
    where.set(id, { repo, branch });
    const mirror = o.scheme === 'git' ? b.daemon.url(repo) : pathToFileURL(path.join(b.mirrorRoot, `${repo}.git`)).href;
    return {
      id,
      enabled: true,
      adapter: 'bench',
      source: { mirror, branch },
      target: { configRef: 'lanes.yaml', params: { lane: id } },
      closeout: { check: 'done' },
    };
  });

  // History in memory: the figures are branch-follower's and Temporal's, not this disk's fsync.
  const server = await startDevServer({
    cli: b.cli,
    host: '127.0.0.1',
    port: await freePort(),
    namespace: 'default',
    startTimeoutMs: 120_000,
    log: b.log,
  });
  const registryFile = path.join(dir, 'registry.yaml');
  writeFileSync(
    registryFile,
    YAML.stringify({
      controller: {
        registryId: 'bench',
        temporal: { address: server.address, namespace: 'default', taskQueue: 'bench', workflowTaskTimeout: '10s' },
        worker: {
          maxConcurrentActivityTaskExecutions: 200,
          maxConcurrentWorkflowTaskExecutions: 200,
          maxCachedWorkflows: o.followers + repos + 100,
          shutdownGraceTime: '2s',
          stickyQueueScheduleToStartTimeout: '10s',
        },
        ...(o.webhookPort
          ? {
              webhooks: {
                listen: `127.0.0.1:${o.webhookPort}`,
                sources: { github: { kind: 'github', secretEnv: 'BENCH_WEBHOOK_SECRET' } },
              },
            }
          : {}),
      },
      defaults: {
        pollInterval: o.pollInterval,
        observe: { timeout: '10s', mode: o.mode, fallbackInterval: '1h' },
        closeout: { budget: '5m', pollInterval: '200ms' },
        retry: { maxAttempts: 3, initialBackoff: '1s', backoffCoefficient: 2, maxBackoff: '10s' },
        adapter: { timeout: '30s', maxOutputBytes: 4096 },
        activity: { heartbeatTimeout: '30s', maxAttempts: 3, maxRetryInterval: '5s' },
        loop: { continueAsNewAfter: o.continueAsNewAfter ?? 1000, eventsKept: 50, shasKept: 20 },
      },
      adapters: {
        bench: {
          kind: 'command',
          status: { argv: [ADAPTER, 'status', stateDir, '{lane}'] },
          trigger: { argv: [ADAPTER, 'trigger', stateDir, '{lane}', '{sha}'] },
          checks: { done: { kind: 'adapter-status' } },
        },
      },
      followers,
    }),
  );
  const registry = loadRegistry(registryFile);

  const samplesFile = path.join(dir, 'samples.log');
  writeFileSync(samplesFile, '');
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const worker = spawn(process.execPath, ['--import', loader, path.join(ROOT, 'bench', 'worker.ts'), registryFile], {
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      BENCH_SAMPLES: samplesFile,
      BRANCH_FOLLOWER_WORKFLOW_BUNDLE: b.bundlePath,
      BENCH_WEBHOOK_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let workerOut = '';
  worker.stdout!.on('data', (c: Buffer) => (workerOut = (workerOut + c.toString()).slice(-4000)));
  worker.stderr!.on('data', (c: Buffer) => (workerOut = (workerOut + c.toString()).slice(-4000)));
  await until(
    () => workerOut.includes('bench worker ready'),
    60_000,
    () => `the bench worker did not start: ${workerOut}`,
  );

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const options = startOptions(registry, 'bench');
  await inBatches(registry.followers, 50, (f) => startFollower(client, options, f.spec));
  await inBatches(watcherSpecs(registry), 50, (w) => startWatcher(client, options, w));
  const fleet: Fleet = {
    options: o,
    server,
    client,
    registry,
    worker,
    samplesFile,
    stateDir,
    ids,
    where,
    async stop() {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
      await connection.close();
      await server.stop();
    },
  };
  const started = Date.now();
  await until(
    () => triggers(fleet).length >= o.followers,
    30 * 60_000,
    () => `only ${triggers(fleet).length}/${o.followers} followers deployed their first head`,
    () => {
      b.log(
        `  … ${triggers(fleet).length}/${o.followers} followers deployed their first head (${Math.round((Date.now() - started) / 1000)}s)`,
      );
    },
  );
  // Triggered is not done: the close-outs run on, and a window opened during them measures them.
  // A visibility count every second at most, so the waiting adds little load of its own.
  let closedOut = 0;
  let countedAt = 0;
  const allClosedOut = async () => {
    if (Date.now() - countedAt >= 1000) {
      countedAt = Date.now();
      closedOut = (await client.workflow.count(`FollowerPhase = "Succeeded"`)).count;
    }
    return closedOut >= o.followers;
  };
  await until(
    allClosedOut,
    30 * 60_000,
    () => `only ${closedOut}/${o.followers} followers closed out their first deploy`,
  );
  return fleet;
}

export interface TriggerRecord {
  lane: string;
  sha: string;
  /** Wall-clock ms (ns precision) when the adapter's trigger command started. */
  at: number;
}

export function triggers(f: Fleet): TriggerRecord[] {
  const file = path.join(f.stateDir, 'triggers.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [lane, sha, ns] = l.split(' ');
      return { lane: lane!, sha: sha!, at: Number(BigInt(ns!) / 1000n) / 1000 };
    });
}

/** Lag samples (ms) the worker recorded between two wall-clock times. */
export function lagSamples(f: Fleet, from: number, to: number): { follower: number[]; watcher: number[] } {
  const out = { follower: [] as number[], watcher: [] as number[] };
  for (const line of readFileSync(f.samplesFile, 'utf8').split('\n')) {
    const [at, lag, kind] = line.split(' ');
    if (!kind || Number(at) < from || Number(at) > to) continue;
    out[kind as 'follower' | 'watcher'].push(Number(lag));
  }
  return out;
}

/** Pushes a commit to the follower's branch; returns the sha and the wall-clock ms the mirror had it. */
export function push(b: Bench, f: Fleet, id: string, message: string): { sha: string; at: number } {
  const w = f.where.get(id)!;
  const sha = pushCommit(b.mirrorRoot, w.repo, w.branch, message);
  return { sha, at: Date.now() };
}

export const refresh = (f: Fleet, id: string): Promise<void> =>
  f.client.workflow.getHandle(workflowIdFor(id)).signal(refreshSignal);

export async function startBench(log: Log, cli: string, bundlePath: string): Promise<Bench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-bench-'));
  const mirrorRoot = path.join(dir, 'mirror');
  // No connection limit: a busy moment of the plain-loop floor would otherwise be refused by the daemon, not measured.
  const daemon = await startGitDaemon(mirrorRoot, '127.0.0.1', await freePort(), { maxConnections: 0 });
  return { dir, cli, bundlePath, mirrorRoot, daemon, log };
}

export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  why: () => string,
  progress?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastNote = Date.now();
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(why());
    if (progress && Date.now() - lastNote > 15_000) {
      progress();
      lastNote = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}
