// The operator CLI's own latency: the `branch-follower` bin as a user runs it (the compiled CLI,
// a fresh process each time), against a real server with three followers for `status`.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stats, type Stats } from './scenarios.ts';
import { ROOT, startFleet, type Bench } from './world.ts';

/** Its own date and machine: `--only cli` reruns it alone, after the other sections were measured. */
export interface CliSection {
  measuredAt: string;
  cpu: string;
  node: string;
  commands: CliLatency[];
}

export interface CliLatency {
  command: string;
  /** What the issue asks of it, in ms. */
  goalMs: number;
  wall: Stats;
}

const BIN = path.join(ROOT, 'client', 'branch-follower.mjs');

/** Wall-clock ms of `runs` runs of the bin; a failed run fails the benchmark. */
function timeBin(args: string[], runs: number): Stats {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    samples.push(performance.now() - started);
    if (res.status !== 0) throw new Error(`branch-follower ${args.join(' ')} exited ${res.status}: ${res.stderr}`);
  }
  return stats(samples);
}

export async function cliLatency(b: Bench, runs: number): Promise<CliSection> {
  const measuredAt = new Date().toISOString();
  // Once untimed: it compiles the CLI if a source changed since the last build, as a user's first run would.
  timeBin(['--version'], 1);
  const out: CliLatency[] = [{ command: 'branch-follower --version', goalMs: 300, wall: timeBin(['--version'], runs) }];
  const fleet = await startFleet(b, { name: 'cli', followers: 3, mode: 'watch', scheme: 'git', pollInterval: '10s' });
  try {
    out.push({
      command: 'branch-follower status (3 followers)',
      goalMs: 1000,
      wall: timeBin(['--registry', fleet.registry.file, 'status'], runs),
    });
  } finally {
    await fleet.stop();
  }
  return { measuredAt, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, commands: out };
}
