// What a mirror read costs when the repository holds a flood of refs nobody follows (issue 21:
// a push of many long ref names). One bare repository on a real `git daemon`: the followed
// branch `main` plus `--refs` refs of `--name-length` characters. Each way of reading runs in
// a fresh Node process (so its peak RSS is its own), reads 2 times to warm up and `--reads`
// times measured; the daemon is reached through a counting TCP proxy, so "bytes" is what the
// worker received per read. `--code <dir>` reads with another checkout's activities/observe.ts
// (the code before a change, e.g. `git archive main | tar -x -C /tmp/before`).
//
//   npx tsx bench/advertisement.ts [--refs 20000] [--name-length 200] [--reads 5] [--code DIR]
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { floodRefs, freePort, pushCommit, repoDir, seedMirror, startGitDaemon } from '../scripts/git-mirror.ts';
import { percentile } from './proc.ts';

const REPO = 'bench/flood';
const METHODS = ['head-git', 'heads-git', 'head-file', 'heads-file'] as const;
type Method = (typeof METHODS)[number];

interface ChildResult {
  ms: number[];
  /** RSS just before the first read and the process's peak (MiB). */
  rssBeforeMiB: number;
  peakRssMiB: number;
  ok: boolean;
  error?: string;
}

/** A TCP proxy that counts the bytes the server sends. */
async function countingProxy(target: number): Promise<{ port: number; bytes: () => number; close: () => void }> {
  let bytes = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    upstream.on('data', (c: Buffer) => (bytes += c.length));
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, bytes: () => bytes, close: () => server.close() };
}

async function child(code: string, method: Method, mirror: string, reads: number): Promise<void> {
  const observe = (await import(
    pathToFileURL(path.join(code, 'activities/observe.ts')).href
  )) as typeof import('../activities/observe.ts');
  const work = os.tmpdir();
  const read = (): Promise<unknown> =>
    method.startsWith('heads')
      ? observe.readBranchHeads({ mirror, timeoutMs: 60_000, branches: ['main'] }, work, process.env)
      : observe.readBranchHead({ mirror, branch: 'main', timeoutMs: 60_000 }, work, process.env);
  const result: ChildResult = { ms: [], rssBeforeMiB: process.memoryUsage().rss / 2 ** 20, peakRssMiB: 0, ok: true };
  try {
    for (let i = 0; i < reads + 2; i++) {
      const t = performance.now();
      await read();
      if (i >= 2) result.ms.push(performance.now() - t);
    }
  } catch (err) {
    result.ok = false;
    result.error = (err as Error).message.slice(0, 200);
  }
  result.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(result));
}

function runChild(code: string, method: Method, mirror: string, reads: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        process.argv[1]!,
        '--child',
        method,
        '--mirror',
        mirror,
        '--code',
        code,
        '--reads',
        `${reads}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (status) => (status === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(out))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      refs: { type: 'string', default: '20000' },
      'name-length': { type: 'string', default: '200' },
      reads: { type: 'string', default: '5' },
      code: { type: 'string', default: path.resolve(import.meta.dirname, '..') },
      child: { type: 'string' },
      mirror: { type: 'string' },
    },
  });
  const reads = Number(values.reads);
  if (values.child) return child(values.code, values.child as Method, values.mirror!, reads);

  const root = execFileSync('mktemp', ['-d', path.join(os.tmpdir(), 'bf-flood-XXXXXX')], { encoding: 'utf8' }).trim();
  seedMirror(root, [{ repo: REPO, branches: [] }]);
  const sha = pushCommit(root, REPO, 'main', 'the followed branch');
  floodRefs(root, REPO, sha, Number(values.refs), Number(values['name-length']));
  const daemonPort = await freePort();
  const daemon = await startGitDaemon(root, '127.0.0.1', daemonPort);
  const proxy = await countingProxy(daemonPort);
  try {
    console.log(
      `${values.refs} refs of ${values['name-length']} characters besides main; code: ${values.code}; ${reads} reads each`,
    );
    console.log('| read | latency p50 | max | bytes per read | RSS before | peak RSS | result |');
    console.log('|---|---|---|---|---|---|---|');
    for (const method of METHODS) {
      const mirror = method.endsWith('git')
        ? `git://127.0.0.1:${proxy.port}/${REPO}.git`
        : pathToFileURL(repoDir(root, REPO)).href;
      const before = proxy.bytes();
      const r = await runChild(values.code, method, mirror, reads);
      const perRead = method.endsWith('git') ? `${Math.round((proxy.bytes() - before) / (reads + 2))}` : 'n/a';
      const fmt = (v: number): string => `${Math.round(v * 10) / 10}`;
      console.log(
        `| ${method} | ${fmt(percentile(r.ms, 50))} ms | ${fmt(Math.max(...r.ms))} ms | ${perRead} | ${fmt(r.rssBeforeMiB)} MiB | ${fmt(r.peakRssMiB)} MiB | ${r.ok ? 'ok' : r.error} |`,
      );
    }
  } finally {
    proxy.close();
    await daemon.stop();
    execFileSync('rm', ['-rf', root]);
  }
}

await main();
