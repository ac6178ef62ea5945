// The floor: the same job done by a plain Node loop with no durability — per follower a timer,
// a read of the branch head (the same reader the worker uses), and on a new head the adapter's
// status then trigger; and, like a webhook's refresh, an HTTP call that makes it look at once. No
// Temporal, no history, nothing survives a restart. The benchmark runs it as its own process,
// with the same followers, interval and adapter, to price durability.
//   node --import tsx bench/floor.ts <config.json>
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readBranchHead } from '../activities/observe.ts';
import { runCommand } from '../activities/run-command.ts';

interface FloorConfig {
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

const adapter = (args: string[]) => runCommand({ argv: [config.adapter, ...args], cwd: workDir, env: { PATH: process.env.PATH! }, timeoutMs: 30_000, maxOutputBytes: 4096 });

const last = new Map<string, string>();

/** One look at a follower's branch: read the head; on a new one, the adapter's status, then trigger. */
async function check(f: FloorConfig['followers'][number]): Promise<void> {
  try {
    const { sha } = await readBranchHead({ mirror: f.mirror, branch: f.branch, timeoutMs: 10_000 }, workDir);
    if (sha !== last.get(f.id)) {
      const status = JSON.parse((await adapter(['status', config.stateDir, f.id])).stdout) as { sha?: string };
      if (status.sha !== sha) await adapter(['trigger', config.stateDir, f.id, sha]);
      last.set(f.id, sha);
    }
  } catch {
    failures++;
  }
}

async function follow(f: FloorConfig['followers'][number], offset: number): Promise<void> {
  let due = Date.now() + offset;
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    const started = Date.now();
    pending.push(`${started} ${started - due} floor`);
    await check(f);
    due += config.pollIntervalMs;
  }
}

// Spread the followers over the interval, as independently started followers would be.
config.followers.forEach((f, i) => void follow(f, Math.floor((i / config.followers.length) * config.pollIntervalMs)));
// The webhook path: POST /refresh?id=<follower> looks at that follower now.
const byId = new Map(config.followers.map((f) => [f.id, f]));
const server = http.createServer((req, res) => {
  const f = byId.get(new URL(req.url ?? '/', 'http://floor').searchParams.get('id') ?? '');
  res.writeHead(f ? 202 : 404).end();
  if (f) void check(f);
});
server.listen(0, '127.0.0.1', () => console.log(`floor ready on ${(server.address() as AddressInfo).port}`));
