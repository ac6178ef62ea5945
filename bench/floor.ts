// The floor: the same job done by a plain Node loop with no durability. Design `repository` is
// the default's (observe.mode: watch): per mirror repository a timer and one read of its
// followers' branch heads (the same reader the worker uses), and for each follower whose branch
// moved the adapter's status then trigger. Design `follower` is the naive loop: per follower a
// timer and a read of its branch. Both take, like a webhook's refresh, an HTTP call that makes
// them look at one follower's branch at once. No Temporal, no history, nothing survives a
// restart. The benchmark runs it as its own process, with the same followers, interval and
// adapter, to price durability.
//   node --import tsx bench/floor.ts <config.json>
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readBranchHead, readBranchHeads } from '../activities/observe.ts';
import { runCommand } from '../activities/run-command.ts';

interface FloorConfig {
  design: 'repository' | 'follower';
  followers: { id: string; mirror: string; branch: string }[];
  pollIntervalMs: number;
  adapter: string;
  stateDir: string;
  samples: string;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FloorConfig;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'bf-floor-'));
let pending: string[] = [];
let failures = 0;
setInterval(() => {
  if (pending.length) appendFileSync(config.samples, `${pending.join('\n')}\n`);
  pending = [];
}, 1000);
// The driver reads the failure count when it stops the floor.
process.on('SIGTERM', () => {
  console.log(`floor failures ${failures}`);
  process.exit(0);
});

const adapter = (args: string[]) =>
  runCommand({
    argv: [config.adapter, ...args],
    cwd: workDir,
    env: { PATH: process.env.PATH! },
    timeoutMs: 30_000,
    maxOutputBytes: 4096,
  });

type Follower = FloorConfig['followers'][number];
const last = new Map<string, string>();

/** A new head for a follower: the adapter's status, then trigger unless it already runs that sha. */
async function deploy(f: Follower, sha: string): Promise<void> {
  if (sha === last.get(f.id)) return;
  const status = JSON.parse((await adapter(['status', config.stateDir, f.id])).stdout) as { sha?: string };
  if (status.sha !== sha) await adapter(['trigger', config.stateDir, f.id, sha]);
  last.set(f.id, sha);
}

/** One look at one follower's branch (the webhook path). */
async function check(f: Follower): Promise<void> {
  try {
    await deploy(
      f,
      (await readBranchHead({ mirror: f.mirror, branch: f.branch, timeoutMs: 10_000 }, workDir, process.env)).sha,
    );
  } catch {
    failures++;
  }
}

/** Every interval, one read of the repository's heads; each follower whose branch moved deploys. */
async function readRepository(mirror: string, followers: Follower[]): Promise<void> {
  const heads = await readBranchHeads(
    { mirror, timeoutMs: 10_000, branches: [...new Set(followers.map((f) => f.branch))] },
    workDir,
    process.env,
  );
  await Promise.all(followers.filter((f) => heads[f.branch] !== undefined).map((f) => deploy(f, heads[f.branch]!)));
}

/** Runs `look` every interval from `offset`, logging how late each look started. */
async function every(offset: number, look: () => Promise<void>): Promise<void> {
  let due = Date.now() + offset;
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    const started = Date.now();
    pending.push(`${started} ${started - due} floor`);
    try {
      await look();
    } catch {
      failures++;
    }
    due += config.pollIntervalMs;
  }
}

// Spread the loops over the interval, as independently started watchers or followers would be.
const byMirror = new Map<string, Follower[]>();
for (const f of config.followers) byMirror.set(f.mirror, [...(byMirror.get(f.mirror) ?? []), f]);
const loops: (() => Promise<void>)[] =
  config.design === 'repository'
    ? [...byMirror].map(
        ([mirror, followers]) =>
          () =>
            readRepository(mirror, followers),
      )
    : config.followers.map((f) => () => check(f));
loops.forEach((look, i) => void every(Math.floor((i / loops.length) * config.pollIntervalMs), look));
// The webhook path: POST /refresh?id=<follower> looks at that follower now.
const byId = new Map(config.followers.map((f) => [f.id, f]));
const server = http.createServer((req, res) => {
  const f = byId.get(new URL(req.url ?? '/', 'http://floor').searchParams.get('id') ?? '');
  res.writeHead(f ? 202 : 404).end();
  if (f) void check(f);
});
server.listen(0, '127.0.0.1', () => console.log(`floor ready on ${(server.address() as AddressInfo).port}`));
