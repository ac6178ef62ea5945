// `npm run bench [-- --quick] [--only density,reaction,floor,observe,history,cli]`: measures
// branch-follower on this machine and writes docs/benchmarks.json and docs/BENCHMARKS.md.
// Provisions like `npm test` (the Temporal CLI from PATH or the cache), and needs nothing else.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { Command, Option } from 'commander';
import { ensureTemporalCli } from '../scripts/tools.ts';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker/worker.ts';
import { cliLatency } from './cli.ts';
import { renderReport, type BenchResult } from './report.ts';
import { density, floor, historyCosts, observeCost, reaction, versions, type DensityResult } from './scenarios.ts';
import { ROOT, startBench, type Log } from './world.ts';

const SCENARIOS = ['density', 'reaction', 'floor', 'observe', 'history', 'cli'] as const;
type Scenario = (typeof SCENARIOS)[number];

const program = new Command('bench')
  .description('measure how many followers one worker holds, how fast a push is picked up, and what durability costs')
  .option('--quick', 'small sizes and short windows: a few minutes')
  .addOption(
    new Option('--only <scenarios>', `comma-separated subset of ${SCENARIOS.join(',')}`).argParser(
      (v) => v.split(',') as Scenario[],
    ),
  )
  .option('--out <dir>', 'where benchmarks.json and BENCHMARKS.md go', path.join(ROOT, 'docs'))
  .parse();
const opts = program.opts<{ quick?: boolean; only?: Scenario[]; out: string }>();
const quick = Boolean(opts.quick);
const want = (s: Scenario) => !opts.only || opts.only.includes(s);

const started = Date.now();
const log: Log = (line) =>
  console.log(`[bench ${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`);

/** The sizes: the defaults, or a quick pass. */
const SIZES = quick
  ? {
      interval: '10s',
      window: 15_000,
      watch: [100],
      pollInProcess: [100],
      pollLsRemote: [100],
      reactionFollowers: 20,
      signalPushes: 50,
      pollPushes: 20,
      floorN: 100,
      observeN: 50,
      replay: 60,
      cliRuns: 10,
    }
  : {
      interval: '10s',
      window: 30_000,
      watch: [100, 500, 1000, 2000],
      pollInProcess: [100, 500, 1000, 2000],
      pollLsRemote: [100, 500, 1000, 2000],
      reactionFollowers: 40,
      signalPushes: 200,
      pollPushes: 200,
      floorN: 1000,
      observeN: 200,
      replay: 200,
      cliRuns: 30,
    };

// The replay of section 5 runs a worker in this process: its routine state changes are not news.
Runtime.install({ logger: new DefaultLogger('WARN') });
const cli = await ensureTemporalCli(log);
log('bundling the workflows');
const { code } = await bundleWorkflowCode({
  ...WORKFLOW_BUNDLE_OPTIONS,
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
});
const bench = await startBench(log, cli, '');
const bundlePath = path.join(bench.dir, 'workflows.js');
writeFileSync(bundlePath, code);
bench.bundlePath = bundlePath;

const result: BenchResult = {
  startedAt: new Date(started).toISOString(),
  durationS: 0,
  quick,
  machine: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
  },
  versions: await versions(cli),
  density: [],
  skipped: [],
  reaction: [],
  observe: [],
};

try {
  if (want('observe')) {
    log('observe cost: four ways to read a repository of ten branches');
    result.observe = await observeCost(bench, SIZES.observeN);
  }
  if (want('density')) {
    const designs: { label: string; mode: 'poll' | 'watch'; scheme: 'git' | 'file'; sizes: number[] }[] = [
      {
        label: 'before: each follower polls (git ls-remote over file://)',
        mode: 'poll',
        scheme: 'file',
        sizes: SIZES.pollLsRemote,
      },
      { label: 'each follower polls (in-process read)', mode: 'poll', scheme: 'git', sizes: SIZES.pollInProcess },
      { label: 'after: mirror watchers', mode: 'watch', scheme: 'git', sizes: SIZES.watch },
    ];
    for (const d of designs) {
      for (const n of d.sizes) {
        log(`density: ${d.label}, ${n} followers`);
        const r: DensityResult = await density(
          bench,
          { followers: n, mode: d.mode, scheme: d.scheme, pollInterval: SIZES.interval },
          SIZES.window,
          d.label,
        );
        log(
          `  lag p50 ${r.lag.p50} ms, p99 ${r.lag.p99} ms; worker ${r.cpuPct.worker} %, server ${r.cpuPct.server} %, machine ${r.cpuPct.machine} %`,
        );
        result.density.push(r);
        // Past its capacity (read lag p99 over a second) a design only gets worse with more followers.
        if (r.lag.p99 > 1000) {
          const rest = d.sizes.filter((x) => x > n);
          if (rest.length)
            result.skipped.push(
              `${d.label} at ${rest.join(', ')} followers: over capacity at ${n} (read lag p99 ${Math.round(r.lag.p99)} ms)`,
            );
          break;
        }
      }
    }
  }
  if (want('reaction')) {
    const runs = [
      ['signal', SIZES.signalPushes, 'with a refresh signal'],
      ['webhook', SIZES.signalPushes, "announced by a signed push webhook to the worker's receiver"],
      ['poll', SIZES.pollPushes, `found by polling (${SIZES.interval})`],
    ] as const;
    const fleet = {
      followers: SIZES.reactionFollowers,
      mode: 'watch',
      scheme: 'git',
      pollInterval: SIZES.interval,
    } as const;
    for (const [via, pushes, how] of runs) {
      log(`reaction: ${pushes} pushes ${how}`);
      result.reaction.push(await reaction(bench, fleet, via, pushes, 'mirror watchers'));
    }
  }
  if (want('floor')) {
    log(`floor: a plain Node loop with ${SIZES.floorN} followers, one read per repository`);
    result.floor = await floor(
      bench,
      'repository',
      SIZES.floorN,
      SIZES.interval,
      SIZES.window,
      SIZES.reactionFollowers,
      SIZES.pollPushes,
      SIZES.signalPushes,
    );
    log(`floor: the naive plain loop, one read per follower (idle cost only)`);
    result.naiveFloor = await floor(bench, 'follower', SIZES.floorN, SIZES.interval, SIZES.window, 0, 0, 0);
    if (!result.density.some((d) => d.followers === SIZES.floorN && d.mode === 'watch') && want('density'))
      log('  (no density row at the same N to compare with)');
  }
  if (want('history')) {
    log('history: events per iteration and per trigger, and the replay of a whole run');
    result.history = await historyCosts(bench, SIZES.replay);
  }
  if (want('cli')) {
    log(`cli: ${SIZES.cliRuns} runs each of the bin's --version and status`);
    result.cli = await cliLatency(bench, SIZES.cliRuns);
  }
} finally {
  await bench.daemon.stop();
  rmSync(bench.dir, { recursive: true, force: true });
}

result.durationS = Math.round((Date.now() - started) / 1000);
mkdirSync(opts.out, { recursive: true });
const jsonFile = path.join(opts.out, 'benchmarks.json');
// A partial run (--only) keeps the other sections of the last full result.
const previous: Partial<BenchResult> =
  opts.only && existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Partial<BenchResult>) : {};
// Its header (date, machine, versions) too: it describes the sections measured in that run.
const header = ['startedAt', 'durationS', 'quick', 'machine', 'versions'] as const;
const merged: BenchResult = {
  ...result,
  ...(opts.only
    ? Object.fromEntries(header.filter((k) => previous[k] !== undefined).map((k) => [k, previous[k]]))
    : {}),
  ...(!want('density') && previous.density ? { density: previous.density, skipped: previous.skipped ?? [] } : {}),
  ...(!want('reaction') && previous.reaction ? { reaction: previous.reaction } : {}),
  ...(!want('floor') && previous.floor ? { floor: previous.floor, naiveFloor: previous.naiveFloor } : {}),
  ...(!want('observe') && previous.observe ? { observe: previous.observe } : {}),
  ...(!want('history') && previous.history ? { history: previous.history } : {}),
  ...(!want('cli') && previous.cli ? { cli: previous.cli } : {}),
};
writeFileSync(jsonFile, `${JSON.stringify(merged, null, 2)}\n`);
writeFileSync(path.join(opts.out, 'BENCHMARKS.md'), renderReport(merged));
log(`done in ${Math.round(result.durationS / 60)} min: ${path.relative(process.cwd(), jsonFile)} and BENCHMARKS.md`);
