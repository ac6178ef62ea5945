// The measurements. Each takes a fresh dev server and worker (bench/world.ts), so no scenario
// inherits another's load, and reports raw figures as well as percentiles.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { sign } from '@octokit/webhooks-methods';
import { Worker } from '@temporalio/worker';
import { readBranchHead, readBranchHeads } from '../activities/observe.ts';
import { parseDuration } from '../config/duration.ts';
import { DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { watcherIdFor, workflowIdFor } from '../contract/messages.ts';
import { freePort } from '../scripts/git-mirror.ts';
import { childPids, cpuMs, machineBusyMs, percentile, rssPeak } from './proc.ts';
import {
  ADAPTER,
  BENCH_WEBHOOK_SECRET,
  BRANCHES_PER_REPO,
  ensureRepos,
  lagSamples,
  push,
  refresh,
  ROOT,
  startFleet,
  triggers,
  until,
  type Bench,
  type Fleet,
  type FleetOptions,
} from './world.ts';

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export const stats = (values: number[]): Stats => ({
  n: values.length,
  p50: round(percentile(values, 50)),
  p99: round(percentile(values, 99)),
  max: round(Math.max(...values)),
});
const round = (v: number): number => (Number.isFinite(v) ? Math.round(v * 10) / 10 : v);

export interface DensityResult {
  label: string;
  mode: 'poll' | 'watch';
  reader: 'in-process' | 'ls-remote';
  followers: number;
  pollIntervalMs: number;
  warmupS: number;
  /** How long after the warm-up CPU use took to settle (the window starts then). */
  settleS: number;
  windowS: number;
  /** Lag of the reads that detect a push: each follower's own read (poll), the watcher's read (watch). */
  lag: Stats;
  cpuPct: { worker: number; server: number; gitDaemon: number; machine: number };
  rssMiB: { worker: number; server: number };
  /** Reads of the mirror per second, and CPU ms per follower-interval (one follower's branch checked once). */
  readsPerS: number;
  cpuMsPerFollowerIteration: number;
}

/** N followers, idle after their first deploy, measured over a window: does every read start on time? */
export async function density(
  b: Bench,
  o: Omit<FleetOptions, 'name'>,
  windowMs: number,
  label: string,
): Promise<DensityResult> {
  const t0 = Date.now();
  const fleet = await startFleet(b, { ...o, name: `density-${o.mode}-${o.scheme}-${o.followers}` });
  const warmupS = Math.round((Date.now() - t0) / 1000);
  try {
    // A read slowed by the warm-up's load starts its next timer late, so the read after it is late
    // too: one whole interval lets every follower or watcher read once in calm before the window.
    const calm = Date.now();
    await new Promise((r) => setTimeout(r, parseDuration(o.pollInterval)));
    await steady([fleet.worker.pid!, fleet.server.process.pid!]);
    const settleS = Math.round((Date.now() - calm) / 1000);
    const m = measure(fleet, b);
    const workerRss = rssPeak(fleet.worker.pid!);
    const serverRss = rssPeak(fleet.server.process.pid!);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const to = Date.now();
    const cpu = m.stop();
    const samples = lagSamples(fleet, from, to);
    const reads = o.mode === 'watch' ? samples.watcher : samples.follower;
    const iterations = (o.followers * (to - from)) / parseDuration(o.pollInterval);
    return {
      label,
      mode: o.mode,
      reader: o.scheme === 'git' ? 'in-process' : 'ls-remote',
      followers: o.followers,
      pollIntervalMs: parseDuration(o.pollInterval),
      warmupS,
      settleS,
      windowS: Math.round((to - from) / 1000),
      lag: stats(reads),
      cpuPct: cpu.pct,
      rssMiB: { worker: Math.round(workerRss.stop()), server: Math.round(serverRss.stop()) },
      readsPerS: round(reads.length / ((to - from) / 1000)),
      cpuMsPerFollowerIteration: round((cpu.ms.worker + cpu.ms.server + cpu.ms.gitDaemon) / iterations),
    };
  } finally {
    await fleet.stop();
  }
}

/**
 * Steady state, judged by CPU alone (not by the figures measured): the processes' CPU use in two
 * consecutive 3 s slices within 30 % (or 4 points) of each other. At most 45 s.
 */
async function steady(pids: number[]): Promise<void> {
  const slice = async (): Promise<number> => {
    const a = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    await new Promise((r) => setTimeout(r, 3000));
    return (pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - a) / 30;
  };
  let prev = await slice();
  for (let i = 0; i < 14; i++) {
    const cur = await slice();
    if (Math.abs(cur - prev) <= Math.max(4, 0.3 * prev)) break;
    prev = cur;
  }
}

/** CPU of the worker (with git and adapter children), the dev server, the git daemon and the whole machine. */
function measure(f: Fleet, b: Bench) {
  const daemons = daemonPids(b);
  const pids = { worker: f.worker.pid!, server: f.server.process.pid! };
  const read = () => ({
    worker: cpuMs(pids.worker),
    server: cpuMs(pids.server),
    gitDaemon: daemons.reduce((sum, pid) => sum + cpuMs(pid), 0),
    machine: machineBusyMs(),
  });
  const start = read();
  const t0 = Date.now();
  return {
    stop() {
      const end = read();
      const wall = Date.now() - t0;
      const ms = {
        worker: end.worker - start.worker,
        server: end.server - start.server,
        gitDaemon: end.gitDaemon - start.gitDaemon,
        machine: end.machine - start.machine,
      };
      const pct = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, round((100 * v) / wall)])) as typeof ms;
      return { ms, pct };
    },
  };
}

/** `git daemon` is a wrapper: the daemon that forks upload-pack per connection is its child. */
const daemonPids = (b: Bench): number[] => [b.daemon.process.pid!, ...childPids(b.daemon.process.pid!)];

export interface ReactionResult {
  label: string;
  /** signal: a `refresh` signal sent by the bench; webhook: a signed push webhook to the worker's receiver; poll: none. */
  via: 'signal' | 'webhook' | 'poll';
  mode: 'poll' | 'watch' | 'floor';
  pollIntervalMs: number;
  followers: number;
  /** Push (the mirror has the commit) → the adapter's trigger command starts, ms. */
  latency: Stats;
  raw: number[];
}

/**
 * Pushes to followers' branches and times each push until the adapter's trigger starts. `signal`:
 * a `refresh` signal at push time (what a webhook would send), one push at a time. `poll`: no
 * signal; a round pushes once to every follower, then waits until all have triggered.
 */
export async function reaction(
  b: Bench,
  o: Omit<FleetOptions, 'name' | 'webhookPort'>,
  via: 'signal' | 'webhook' | 'poll',
  pushes: number,
  label: string,
): Promise<ReactionResult> {
  const webhookPort = via === 'webhook' ? await freePort() : undefined;
  const fleet = await startFleet(b, {
    ...o,
    name: `reaction-${via}-${o.mode}`,
    ...(webhookPort ? { webhookPort } : {}),
  });
  try {
    const notify =
      via === 'webhook'
        ? (id: string, sha: string) => pushWebhook(webhookPort!, fleet.where.get(id)!, sha)
        : (id: string) => refresh(fleet, id);
    const raw = await pushAndTime(
      b,
      fleet,
      via === 'poll' ? 'poll' : 'signal',
      pushes,
      parseDuration(o.pollInterval),
      notify,
    );
    return {
      label,
      via,
      mode: o.mode,
      pollIntervalMs: parseDuration(o.pollInterval),
      followers: o.followers,
      latency: stats(raw),
      raw,
    };
  } finally {
    await fleet.stop();
  }
}

/** The push webhook GitHub would send for `sha` on the follower's branch, signed as GitHub signs it. */
async function pushWebhook(port: number, at: { repo: string; branch: string }, sha: string): Promise<void> {
  const body = JSON.stringify({ ref: `refs/heads/${at.branch}`, after: sha, repository: { full_name: at.repo } });
  const res = await fetch(`http://127.0.0.1:${port}/hooks/github`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': await sign(BENCH_WEBHOOK_SECRET, body),
    },
  });
  if (res.status !== 202) throw new Error(`the receiver answered ${res.status}: ${await res.text()}`);
}

/** `notify`: how a push is announced on the signal path (a `refresh` signal, a push webhook, the floor's HTTP call). */
async function pushAndTime(
  b: Bench,
  f: Pick<Fleet, 'ids' | 'where' | 'stateDir'>,
  via: 'signal' | 'poll',
  pushes: number,
  pollIntervalMs: number,
  notify: (id: string, sha: string) => Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  const triggeredAt = (sha: string) => triggersIn(f.stateDir).find((t) => t.sha === sha)?.at;
  let n = 0;
  while (n < pushes) {
    const batch = via === 'signal' ? [f.ids[n % f.ids.length]!] : f.ids.slice(0, Math.min(f.ids.length, pushes - n));
    // A round starts right after the reads that saw the last one: without a random pause, every
    // push would land just after a read and wait a whole interval, which real pushes do not.
    if (via === 'poll') await new Promise((r) => setTimeout(r, Math.random() * pollIntervalMs));
    const pushed: { sha: string; at: number }[] = [];
    for (const id of batch) {
      const p = push(b, f as Fleet, id, `push ${n++}`);
      if (via === 'signal') await notify(id, p.sha);
      pushed.push(p);
    }
    await until(
      () => pushed.every((p) => triggeredAt(p.sha) !== undefined),
      120_000,
      () => `pushes were not triggered within 2 minutes`,
    );
    for (const p of pushed) latencies.push(round1(triggeredAt(p.sha)! - p.at));
  }
  return latencies;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const triggersIn = (stateDir: string) => triggers({ stateDir } as Fleet);

export interface FloorResult {
  /** repository: one read per mirror repository (the default's design); follower: one read per follower (the naive loop). */
  design: 'repository' | 'follower';
  followers: number;
  pollIntervalMs: number;
  windowS: number;
  lag: Stats;
  /** % of one core: the loop process (with its git and adapter children) and the git daemon serving its reads. */
  cpuPct: { floor: number; gitDaemon: number };
  /** Floor + git daemon CPU per (follower × poll interval), as the density rows count worker + server + daemon. */
  cpuMsPerFollowerIteration: number;
  rssMiB: number;
  /** Push → trigger when an HTTP call announces the push (the webhook path). */
  signal: Stats;
  signalRaw: number[];
  /** Push → trigger by polling. */
  reaction: Stats;
  reactionRaw: number[];
  /** Mirror reads that failed while the floor ran (it has no retries: a failed read waits for the next interval). */
  failedReads: number;
}

/** The plain-loop floor (bench/floor.ts) with `followers` followers: idle cost over a window, then push reaction on the first `pushed` of them. */
export async function floor(
  b: Bench,
  design: FloorResult['design'],
  followers: number,
  pollInterval: string,
  windowMs: number,
  pushed: number,
  pushes: number,
  signalPushes: number,
): Promise<FloorResult> {
  const repos = Math.ceil(followers / BRANCHES_PER_REPO);
  ensureRepos(b, repos);
  const dir = path.join(b.dir, `floor-${design}-${followers}`);
  const stateDir = path.join(dir, 'state');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const ids: string[] = [];
  const where = new Map<string, { repo: string; branch: string }>();
  const list = Array.from({ length: followers }, (_, i) => {
    const id = `f${i}`;
    const repo = `bench/r${Math.floor(i / BRANCHES_PER_REPO)}`;
    const branch = `b${i % BRANCHES_PER_REPO}`;
    ids.push(id);
    where.set(id, { repo, branch });
    return { id, mirror: b.daemon.url(repo), branch };
  });
  const samples = path.join(dir, 'samples.log');
  writeFileSync(samples, '');
  const config = path.join(dir, 'floor.json');
  writeFileSync(
    config,
    JSON.stringify({
      design,
      followers: list,
      pollIntervalMs: parseDuration(pollInterval),
      adapter: ADAPTER,
      stateDir,
      samples,
    }),
  );
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, path.join(ROOT, 'bench', 'floor.ts'), config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  /** Stops the floor; the reads that failed while it ran. */
  const stopFloor = async (): Promise<number> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    return Number(/floor failures (\d+)/.exec(out)?.[1] ?? NaN);
  };
  try {
    await until(
      () => triggersIn(stateDir).length >= followers && out.includes('floor ready on'),
      10 * 60_000,
      () => 'the floor did not deploy every first head',
    );
    await steady([child.pid!]);
    const daemons = daemonPids(b);
    const daemonMs = () => daemons.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const c0 = cpuMs(child.pid!);
    const d0 = daemonMs();
    const rss = rssPeak(child.pid!);
    const from = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const to = Date.now();
    const cpu = cpuMs(child.pid!) - c0;
    const daemon = daemonMs() - d0;
    const lags = readFileSync(samples, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter(([at]) => Number(at) >= from && Number(at) <= to)
      .map(([, lag]) => Number(lag));
    const idle = {
      cpuPct: { floor: round((100 * cpu) / (to - from)), gitDaemon: round((100 * daemon) / (to - from)) },
      lag: stats(lags),
      rssMiB: Math.round(rss.stop()),
      cpuMsPerFollowerIteration: round((cpu + daemon) / ((followers * (to - from)) / parseDuration(pollInterval))),
    };
    const some = { ids: ids.slice(0, pushed), where, stateDir };
    const port = Number(/floor ready on (\d+)/.exec(out)![1]);
    const notify = (id: string) => fetch(`http://127.0.0.1:${port}/refresh?id=${id}`, { method: 'POST' });
    const signalRaw = await pushAndTime(b, some, 'signal', signalPushes, parseDuration(pollInterval), notify);
    const reactionRaw = await pushAndTime(b, some, 'poll', pushes, parseDuration(pollInterval), notify);
    return {
      design,
      followers,
      pollIntervalMs: parseDuration(pollInterval),
      windowS: Math.round((to - from) / 1000),
      ...idle,
      signal: stats(signalRaw),
      signalRaw,
      reaction: stats(reactionRaw),
      reactionRaw,
      failedReads: await stopFloor(),
    };
  } finally {
    await stopFloor();
  }
}

export interface ObserveCost {
  method: string;
  /** Branch heads one read answers. */
  branchesPerRead: number;
  latency: Stats;
  /** Machine CPU (every process: client, git, daemon) per read and per branch. */
  cpuMsPerRead: number;
  cpuMsPerBranch: number;
}

/** One mirror repository of ten branches, read `n` times each way, one read at a time. */
export async function observeCost(b: Bench, n: number): Promise<ObserveCost[]> {
  ensureRepos(b, 1);
  const git = b.daemon.url('bench/r0');
  const file = pathToFileURL(path.join(b.mirrorRoot, 'bench', 'r0.git')).href;
  const work = b.dir;
  // The reader before this change, exactly: a git ls-remote process per branch against the daemon.
  const lsRemote = () =>
    promisify(execFile)('git', ['ls-remote', '--exit-code', '--', git, 'refs/heads/b3'], {
      cwd: work,
      env: { PATH: process.env.PATH!, HOME: work, GIT_CONFIG_NOSYSTEM: '1' },
    });
  const ways: [string, number, () => Promise<unknown>][] = [
    ['git ls-remote process over git://, one branch (the reader before this change)', 1, lsRemote],
    [
      'git ls-remote process over file://, one branch',
      1,
      () => readBranchHead({ mirror: file, branch: 'b3', timeoutMs: 10_000 }, work, process.env),
    ],
    [
      'git ls-remote process over file://, every head of the repository',
      BRANCHES_PER_REPO,
      () => readBranchHeads({ mirror: file, timeoutMs: 10_000 }, work, process.env),
    ],
    [
      'in process over git://, one branch',
      1,
      () => readBranchHead({ mirror: git, branch: 'b3', timeoutMs: 10_000 }, work, process.env),
    ],
    [
      "in process over git://, every head (a mirror watcher's read)",
      BRANCHES_PER_REPO,
      () => readBranchHeads({ mirror: git, timeoutMs: 10_000 }, work, process.env),
    ],
  ];
  const out: ObserveCost[] = [];
  for (const [method, branchesPerRead, read] of ways) {
    for (let i = 0; i < 10; i++) await read(); // warm
    const latencies: number[] = [];
    const c0 = machineBusyMs();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await read();
      latencies.push(performance.now() - t);
    }
    const cpu = (machineBusyMs() - c0) / n;
    out.push({
      method,
      branchesPerRead,
      latency: stats(latencies),
      cpuMsPerRead: round(cpu),
      cpuMsPerBranch: round(cpu / branchesPerRead),
    });
  }
  return out;
}

export interface HistoryResult {
  pollIdleEventsPerIteration: number;
  pollTriggerCycleEvents: number;
  watcherEventsPerRead: number;
  watchedIdleEventsPerInterval: number;
  watchedTriggerCycleEvents: number;
  continueAsNewAfter: number;
  eventsPerRun: number;
  runLengthAtPollInterval: string;
  /** The first run of a follower that continued as new after `iterations` loop iterations, replayed. */
  replay: { iterations: number; events: number; ms: number };
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Fleet['client']['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

/** A follower's mirror read: an observeBranch activity, or (since the patch) its local-activity marker. */
function isObserve(e: HistoryEvent): boolean {
  if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'observeBranch') return true;
  const payload = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
  return Boolean(
    payload &&
    (JSON.parse(Buffer.from(payload).toString()) as { activity_type?: string }).activity_type === 'observeBranch',
  );
}

/** Events per idle iteration and per trigger, in both modes, from real histories; and the replay time of a whole run. */
export async function historyCosts(b: Bench, replayIterations: number): Promise<HistoryResult> {
  const events = async (f: Fleet, workflowId: string) =>
    (await f.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  // poll mode: one follower, a few idle iterations, then one push.
  const poll = await startFleet(b, {
    name: 'history-poll',
    followers: 1,
    mode: 'poll',
    pollInterval: '300ms',
    scheme: 'git',
  });
  let pollIdle: number;
  let pollCycle: number;
  try {
    await sleep(1500);
    const a = (await events(poll, workflowIdFor('f0'))).length;
    await sleep(3000);
    const e = await events(poll, workflowIdFor('f0'));
    const observes = (list: typeof e) => list.filter(isObserve).length;
    pollIdle = (e.length - a) / Math.max(1, observes(e.slice(a)));
    const before = e.length;
    const { sha } = push(b, poll, 'f0', 'history');
    await until(
      () => triggersIn(poll.stateDir).some((t) => t.sha === sha),
      30_000,
      () => 'not triggered',
    );
    await sleep(2000);
    const after = await events(poll, workflowIdFor('f0'));
    pollCycle = Math.round(after.length - before - pollIdle * Math.max(0, observes(after.slice(before)) - 1));
  } finally {
    await poll.stop();
  }

  // watch mode: ten followers on one repository and their watcher.
  const watch = await startFleet(b, {
    name: 'history-watch',
    followers: 10,
    mode: 'watch',
    pollInterval: '300ms',
    scheme: 'git',
  });
  let perRead: number;
  let watchedIdle: number;
  let watchedCycle: number;
  try {
    const watcherId = watcherIdFor('bench', b.daemon.url('bench/r0'));
    await sleep(1500);
    const w0 = await events(watch, watcherId);
    const f0 = (await events(watch, workflowIdFor('f1'))).length;
    await sleep(3000);
    const w1 = await events(watch, watcherId);
    const markers = w1.slice(w0.length).filter((x) => x.markerRecordedEventAttributes).length;
    perRead = (w1.length - w0.length) / Math.max(1, markers);
    watchedIdle = ((await events(watch, workflowIdFor('f1'))).length - f0) / (3000 / 300);
    const before = (await events(watch, workflowIdFor('f0'))).length;
    const { sha } = push(b, watch, 'f0', 'history');
    await until(
      () => triggersIn(watch.stateDir).some((t) => t.sha === sha),
      30_000,
      () => 'not triggered',
    );
    await sleep(2000);
    watchedCycle = (await events(watch, workflowIdFor('f0'))).length - before;
  } finally {
    await watch.stop();
  }

  // A whole run: continue-as-new after `replayIterations` idle iterations, then replay the first run.
  const run = await startFleet(b, {
    name: 'history-replay',
    followers: 1,
    mode: 'poll',
    pollInterval: '20ms',
    scheme: 'git',
    continueAsNewAfter: replayIterations,
  });
  let replay: HistoryResult['replay'];
  try {
    const handle = run.client.workflow.getHandle(workflowIdFor('f0'));
    const firstRun = (await handle.describe()).runId;
    await until(
      async () => (await handle.describe()).runId !== firstRun,
      20 * 60_000,
      () => 'the follower did not continue as new',
    );
    const history = await run.client.workflow.getHandle(workflowIdFor('f0'), firstRun).fetchHistory();
    const t = performance.now();
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: b.bundlePath }, replayName: 'bench' },
      history,
      workflowIdFor('f0'),
    );
    replay = {
      iterations: replayIterations,
      events: history.events?.length ?? 0,
      ms: Math.round(performance.now() - t),
    };
  } finally {
    await run.stop();
  }
  // As shipped: an idle poll is two loop iterations (read, then wait), a watcher's read one.
  const shipped = loadRegistry(path.join(ROOT, DEFAULT_REGISTRY)).followers[0]!.spec;
  const continueAsNewAfter = shipped.loop.continueAsNewAfter;
  const every = shipped.pollIntervalMs / 1000;
  return {
    pollIdleEventsPerIteration: round(pollIdle),
    pollTriggerCycleEvents: pollCycle,
    watcherEventsPerRead: round(perRead),
    watchedIdleEventsPerInterval: round(watchedIdle),
    watchedTriggerCycleEvents: watchedCycle,
    continueAsNewAfter,
    eventsPerRun: Math.round((continueAsNewAfter / 2) * pollIdle),
    runLengthAtPollInterval: `${Math.round(((continueAsNewAfter / 2) * every) / 60)} min of idle polling at the shipped ${every} s (a watcher: ${Math.round((continueAsNewAfter * every) / 60)} min, ${Math.round(continueAsNewAfter * perRead)} events)`,
    replay,
  };
}

/** `temporal --version`, `git --version`, this checkout's commit: for the report. */
export async function versions(cli: string): Promise<Record<string, string>> {
  const run = async (file: string, args: string[], cwd?: string) =>
    (await promisify(execFile)(file, args, { encoding: 'utf8', cwd }).catch(() => ({ stdout: 'unknown' }))).stdout
      .trim()
      .split('\n')[0]!;
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const sdk = JSON.parse(
    readFileSync(path.join(ROOT, 'node_modules', '@temporalio', 'worker', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    'branch-follower': `${pkg.version} (${await run('git', ['rev-parse', '--short', 'HEAD'], ROOT)})`,
    node: process.version,
    'temporal CLI (dev server)': await run(cli, ['--version']),
    '@temporalio/worker': sdk.version,
    git: await run('git', ['--version']),
  };
}
