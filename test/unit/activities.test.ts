// The activity implementations against real processes: the shell-free runner, the demo
// control-plane adapter, and mirror reads against a real `git daemon`.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adapterStatus,
  adapterTrigger,
  parseStatus,
  renderArgv,
  secretPresence,
  type AdapterCall,
  type AdapterContext,
} from '../../activities/adapter.ts';
import { readRefs } from '../../activities/git-protocol.ts';
import { MAX_ADVERTISEMENT, readBranchHead, readBranchHeads } from '../../activities/observe.ts';
import { runCommand } from '../../activities/run-command.ts';
import { triggerIdFor } from '../../activities/trigger-key.ts';
import {
  floodRefs,
  freePort,
  pushCommit,
  seedMirror,
  startGitDaemon,
  type GitDaemon,
} from '../../scripts/git-mirror.ts';
import { makeSpec } from '../support/spec.ts';
import type { CommandAdapterSpec } from '../../contract/spec.ts';
import { tempDir } from '../support/temp-dir.ts';

const tmp = (): string => tempDir('bf-act-');
const HWLAB = path.resolve('examples/bin/hwlab');

async function failureOf(p: Promise<unknown>): Promise<{ type: string; message: string; retryable: boolean }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    return { type: f.type ?? '', message: f.message, retryable: (f.details?.[0] as { retryable: boolean }).retryable };
  }
  throw new Error('expected a failure');
}

/** Alive and not a zombie (a killed orphan may wait for a reaper that this sandbox lacks). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('runCommand', () => {
  const base = { cwd: os.tmpdir(), env: { PATH: process.env.PATH! }, timeoutMs: 5000, maxOutputBytes: 1024 };

  it('runs argv without a shell: metacharacters are plain arguments', async () => {
    const res = await runCommand({ ...base, argv: ['printf', '%s|', 'a;b', '$(id)', '`x`'] });
    expect(res.stdout).toBe('a;b|$(id)|`x`|');
  });

  it('passes only the environment it is given', async () => {
    const res = await runCommand({ ...base, env: { PATH: process.env.PATH!, ONLY: 'this' }, argv: ['env'] });
    expect(res.stdout.trim().split('\n').sort()).toEqual(['ONLY=this', `PATH=${process.env.PATH}`]);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'grandchild.pid');
    const res = await runCommand({
      ...base,
      timeoutMs: 500,
      argv: ['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`],
    });
    expect(res.timedOut).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Killed with the group; gone once init has reaped it.
    for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isRunning(pid)).toBe(false);
  });

  it('caps captured output and keeps draining so the child is not blocked', async () => {
    const res = await runCommand({
      ...base,
      argv: ['sh', '-c', 'head -c 5000000 /dev/zero | tr "\\0" x; echo done >&2'],
    });
    expect(res.truncated).toBe(true);
    expect(res.stdout.length).toBe(1024);
    expect(res.exitCode).toBe(0);
  });

  it('scrubs secret values from captured output', async () => {
    const res = await runCommand({
      ...base,
      argv: ['echo', 'token=s3cr3t-value'],
      redact: [{ name: 'TOKEN', value: 's3cr3t-value' }],
    });
    expect(res.stdout.trim()).toBe('token=[redacted:TOKEN]');
  });

  it('scrubs a secret value the output cap cuts in two', async () => {
    // 1020 bytes of padding, then the secret: the 1024-byte cap keeps its first four characters.
    const res = await runCommand({
      ...base,
      argv: ['sh', '-c', 'head -c 1020 /dev/zero | tr "\\0" x; printf s3cr3t-value'],
      redact: [{ name: 'TOKEN', value: 's3cr3t-value' }],
    });
    expect(res.truncated).toBe(true);
    expect(res.stdout).toBe(`${'x'.repeat(1020)}[redacted:TOKEN, cut]`);
    expect(res.stdout).not.toContain('s3cr');
  });

  it('kills the child when the activity is cancelled', async () => {
    const ac = new AbortController();
    const running = runCommand({ ...base, signal: ac.signal, argv: ['sleep', '300'] });
    setTimeout(() => ac.abort(), 100);
    const res = await running;
    expect(res.aborted).toBe(true);
    expect(res.signal).toBe('SIGKILL');
  });

  it('a command outlives neither its timeout nor a SIGKILLed worker: its group dies on its own timeout', async () => {
    // A stand-in worker: starts a command through runCommand (5s timeout), then is SIGKILLed.
    const dir = tmp();
    const pidFile = path.join(dir, 'grandchild.pid');
    const script = path.join(dir, 'worker.ts');
    writeFileSync(
      script,
      `import { runCommand } from ${JSON.stringify(path.resolve('activities/run-command.ts'))};\n` +
        `void runCommand({ argv: ['sh', '-c', 'sleep 3600 & echo $! > ${pidFile}; wait'], cwd: ${JSON.stringify(dir)}, env: { PATH: process.env.PATH ?? '' }, timeoutMs: 5000, maxOutputBytes: 1024 });\n` +
        'setInterval(() => undefined, 1000);\n',
    );
    const worker = spawn(
      process.execPath,
      ['--import', pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href, script],
      { stdio: 'ignore' },
    );
    // The shell creates the file before it writes the pid: wait for the number itself.
    const written = () => (existsSync(pidFile) ? /^\d+\n$/.test(readFileSync(pidFile, 'utf8')) : false);
    for (let i = 0; i < 400 && !written(); i++) await new Promise((r) => setTimeout(r, 25));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    expect(isRunning(pid)).toBe(true); // orphaned, and still running: nothing in the worker can stop it now
    for (let i = 0; i < 200 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isRunning(pid)).toBe(false); // `timeout`, its group's leader, killed it (it would sleep for an hour)
  });

  it('rejects with a clear reason when the program is missing or not executable', async () => {
    await expect(runCommand({ ...base, argv: ['/nonexistent/adapter'] })).rejects.toThrow(/not found/);
    const file = path.join(tmp(), 'plain.txt');
    writeFileSync(file, 'x');
    await expect(runCommand({ ...base, argv: [file] })).rejects.toThrow(/not executable/);
  });
});

describe('adapter contract (demo control plane)', () => {
  const dir = tmp();
  const lanes = path.join(dir, 'lanes.yaml');
  writeFileSync(
    lanes,
    `controlPlane: { stateDir: ${path.join(dir, 'state')} }\nlanes:\n  JD01/v03: { deployMs: 0 }\n  JD01/bad: { triggerFails: quota exceeded }\n`,
  );
  const spec = makeSpec();
  const call = (lane: string, over: Partial<CommandAdapterSpec> = {}): AdapterCall<CommandAdapterSpec> => ({
    follower: 'demo',
    branch: 'main',
    configRef: 'lanes.yaml',
    params: { node: 'JD01', lane },
    adapter: {
      ...spec.adapter,
      env: ['DEMO_TOKEN'],
      status: {
        argv: [
          HWLAB,
          'nodes',
          'control-plane',
          'status',
          '--node',
          '{node}',
          '--lane',
          '{lane}',
          '--config',
          '{configRef}',
        ],
      },
      trigger: {
        argv: [
          HWLAB,
          'nodes',
          'control-plane',
          'trigger-current',
          '--node',
          '{node}',
          '--lane',
          '{lane}',
          '--config',
          '{configRef}',
          '--sha',
          '{sha}',
          '--trigger-id',
          '{triggerId}',
        ],
      },
      timeoutMs: 10_000,
      ...over,
    },
  });
  const ctx: AdapterContext = {
    registryDir: dir,
    workDir: tmp(),
    env: { PATH: process.env.PATH, DEMO_TOKEN: 'tok-123', BRANCH_FOLLOWER_FINGERPRINT_KEY: 'k' },
  };
  const sha = 'a'.repeat(40);

  it('renders placeholders as whole values and resolves configRef and relative programs', () => {
    const argv = renderArgv({ argv: ['./bin/x', '--lane={lane}', '{configRef}', '{sha}'] }, call('v03'), dir, { sha });
    expect(argv).toEqual([path.join(dir, 'bin/x'), '--lane=v03', lanes, sha]);
  });

  it('triggers at most once per key: the key reaches the runtime, and a second trigger for the sha sees it and fires nothing', async () => {
    expect(await adapterStatus(call('v03'), undefined, ctx)).toEqual({ phase: 'Idle', message: 'no deploy yet' });
    const ask = { sha, run: 1, manual: false, maybeFired: false };
    const key = triggerIdFor('demo', sha, 1);
    const first = await adapterTrigger(call('v03'), ask, ctx);
    const secrets = [
      {
        name: 'DEMO_TOKEN',
        present: true,
        fingerprint: `hmac-sha256:${createHmac('sha256', 'k').update('tok-123').digest('hex').slice(0, 12)}`,
      },
    ];
    expect(first).toEqual({ fired: true, alreadyRunning: false, triggerId: key, jobId: 'JD01-v03-1', secrets });
    const witness = () =>
      readFileSync(path.join(dir, 'state', 'triggers.log'), 'utf8')
        .trim()
        .split('\n');
    expect(witness()[0]!.split(' ').at(-1)).toBe(key);
    // The runtime echoes the key: the same key (a retried activity) and the same sha (a new run) both find it.
    expect(await adapterTrigger(call('v03'), { ...ask, maybeFired: true }, ctx)).toEqual({
      fired: false,
      alreadyRunning: true,
      triggerId: key,
      jobId: 'JD01-v03-1',
      secrets,
    });
    expect(await adapterTrigger(call('v03'), { ...ask, run: 2 }, ctx)).toMatchObject({ fired: false, triggerId: key });
    expect(witness()).toHaveLength(1);
    expect(await adapterStatus(call('v03'), sha, ctx)).toMatchObject({
      phase: 'Succeeded',
      sha,
      jobId: 'JD01-v03-1',
      triggerId: key,
    });
    // A manual redeploy fires again once the sha is done (but not while it is in progress).
    expect(await adapterTrigger(call('v03'), { ...ask, run: 2, manual: true }, ctx)).toMatchObject({
      fired: true,
      triggerId: triggerIdFor('demo', sha, 2),
      jobId: 'JD01-v03-2',
    });
    expect(witness()).toHaveLength(2);
  });

  it("reports secrets by name, presence and a fingerprint keyed with the workers' key only", () => {
    expect(secretPresence(['A', 'B', 'C'], { A: 'value', C: '', BRANCH_FOLLOWER_FINGERPRINT_KEY: 'k' })).toEqual([
      {
        name: 'A',
        present: true,
        fingerprint: `hmac-sha256:${createHmac('sha256', 'k').update('value').digest('hex').slice(0, 12)}`,
      },
      { name: 'B', present: false },
      { name: 'C', present: false },
    ]);
    // Without the key, no fingerprint at all: a plain hash in history could be guessed offline.
    expect(secretPresence(['A'], { A: 'value' })).toEqual([{ name: 'A', present: true }]);
  });

  it('a refused trigger is a failure with the runtime’s reason and retryability', async () => {
    const f = await failureOf(adapterTrigger(call('bad'), { sha, run: 1, manual: false, maybeFired: false }, ctx));
    expect(f).toMatchObject({ type: 'AdapterFailed', retryable: false });
    expect(f.message).toContain('quota exceeded');
  });

  it('a missing adapter binary is AdapterMissing', async () => {
    const f = await failureOf(adapterStatus(call('v03', { status: { argv: ['/nonexistent/lanectl'] } }), sha, ctx));
    expect(f.type).toBe('AdapterMissing');
  });

  it('a hanging adapter is killed at its timeout: AdapterTimeout', async () => {
    const f = await failureOf(
      adapterStatus(call('v03', { timeoutMs: 300, status: { argv: ['sleep', '30'] } }), sha, ctx),
    );
    expect(f).toMatchObject({ type: 'AdapterTimeout', retryable: true });
  });

  it('never returns a secret value, even when the adapter prints it', async () => {
    const script = path.join(tmp(), 'leaky');
    writeFileSync(script, '#!/bin/sh\necho "{\\"phase\\":\\"Running\\",\\"message\\":\\"using $DEMO_TOKEN\\"}"\n');
    chmodSync(script, 0o755);
    const status = await adapterStatus(call('v03', { status: { argv: [script] } }), sha, ctx);
    expect(status.message).toBe('using [redacted:DEMO_TOKEN]');
  });

  it.each([
    ['not json', /did not print JSON/],
    ['{"phase":"Deploying"}', /phase/],
    ['{"phase":"Running","sha":"zzz"}', /sha/],
    ['[1,2]', /value|expected object/],
  ])('refuses a status %j that breaks the contract', (stdout, why) => {
    const res = {
      exitCode: 0,
      signal: null,
      stdout,
      stderr: '',
      timedOut: false,
      aborted: false,
      truncated: false,
      durationMs: 1,
    };
    let thrown: unknown;
    try {
      parseStatus('x', res);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApplicationFailure);
    expect((thrown as Error).message).toMatch(why);
  });
});

describe('observe: branch heads from a real git daemon (git:// in process, other URLs with git ls-remote)', () => {
  let daemon: GitDaemon;
  let root: string;
  let port: number;
  beforeAll(async () => {
    root = tmp();
    seedMirror(root, [
      {
        repo: 'org/app',
        branches: [
          { name: 'main', commits: 2 },
          { name: 'release/v1', commits: 1 },
          { name: 'feature/café', commits: 1 },
        ],
      },
    ]);
    port = await freePort();
    daemon = await startGitDaemon(root, '127.0.0.1', port);
  });
  afterAll(() => daemon.stop());

  it('reads a branch whose name is UTF-8 beyond ASCII (its pkt-line length counts bytes)', async () => {
    const sha = pushCommit(root, 'org/app', 'feature/café', 'next');
    expect(
      await readBranchHead(
        { mirror: daemon.url('org/app'), branch: 'feature/café', timeoutMs: 5000 },
        tmp(),
        process.env,
      ),
    ).toEqual({ sha });
  });

  it('reads the head sha of the exact branch', async () => {
    const sha = pushCommit(root, 'org/app', 'main', 'next');
    const work = tmp();
    expect(
      await readBranchHead({ mirror: daemon.url('org/app'), branch: 'main', timeoutMs: 5000 }, work, process.env),
    ).toEqual({ sha });
  });

  it('a missing branch is BranchNotFound (not retryable); a suffix match does not count', async () => {
    // ls-remote's pattern refs/heads/v1 matches this ref by its tail; only the exact ref may count.
    pushCommit(root, 'org/app', 'x/refs/heads/v1', 'x');
    const f = await failureOf(
      readBranchHead({ mirror: daemon.url('org/app'), branch: 'v1', timeoutMs: 5000 }, tmp(), process.env),
    );
    expect(f).toMatchObject({ type: 'BranchNotFound', retryable: false });
  });

  it('an unreachable mirror is MirrorUnreachable (retryable)', async () => {
    const closed = await freePort();
    const f = await failureOf(
      readBranchHead(
        { mirror: `git://127.0.0.1:${closed}/org/app.git`, branch: 'main', timeoutMs: 5000 },
        tmp(),
        process.env,
      ),
    );
    expect(f).toMatchObject({ type: 'MirrorUnreachable', retryable: true });
  });

  it("a repository the daemon does not serve is MirrorUnreachable with the daemon's own words", async () => {
    const f = await failureOf(
      readBranchHead({ mirror: daemon.url('org/nope'), branch: 'main', timeoutMs: 5000 }, tmp(), process.env),
    );
    expect(f).toMatchObject({ type: 'MirrorUnreachable', retryable: true });
    expect(f.message).toContain('remote error: no such repository: /org/nope.git');
  });

  it('a server that never answers is MirrorUnreachable at the timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port: p } = silent.address() as net.AddressInfo;
    try {
      const f = await failureOf(
        readBranchHead(
          { mirror: `git://127.0.0.1:${p}/org/app.git`, branch: 'main', timeoutMs: 300 },
          tmp(),
          process.env,
        ),
      );
      expect(f.message).toContain('no ref advertisement from 127.0.0.1');
    } finally {
      silent.close();
    }
  });

  it('reads every head of a repository at once, and a file:// mirror through git ls-remote the same way', async () => {
    const main = pushCommit(root, 'org/app', 'main', 'heads');
    const heads = await readBranchHeads({ mirror: daemon.url('org/app'), timeoutMs: 5000 }, tmp(), process.env);
    expect(heads).toMatchObject({ main, 'release/v1': expect.stringMatching(/^[0-9a-f]{40}$/) });
    const file = `file://${path.join(root, 'org/app.git')}`;
    expect(await readBranchHeads({ mirror: file, timeoutMs: 5000 }, tmp(), process.env)).toEqual(heads);
    expect(await readBranchHead({ mirror: file, branch: 'release/v1', timeoutMs: 5000 }, tmp(), process.env)).toEqual({
      sha: heads['release/v1'],
    });
    expect(
      await failureOf(readBranchHead({ mirror: file, branch: 'v1', timeoutMs: 5000 }, tmp(), process.env)),
    ).toMatchObject({ type: 'BranchNotFound' });
    // A watcher asks only for its followers' branches.
    expect(
      await readBranchHeads(
        { mirror: daemon.url('org/app'), timeoutMs: 5000, branches: ['main', 'gone'] },
        tmp(),
        process.env,
      ),
    ).toEqual({ main });
  });

  it('ignores the checkout it runs next to and any git config that would rewrite the URL', async () => {
    // A checkout of the followed repo, dirty and behind, with an insteadOf rewrite in its config.
    const checkout = tmp();
    execFileSync('git', ['clone', '--quiet', daemon.url('org/app'), checkout]);
    writeFileSync(path.join(checkout, 'dirty.txt'), 'uncommitted');
    execFileSync('git', ['-C', checkout, 'config', 'url.git://127.0.0.1:1/.insteadOf', `git://127.0.0.1:${port}/`]);
    const head = pushCommit(root, 'org/app', 'main', 'moved on');
    const local = execFileSync('git', ['-C', checkout, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(local).not.toBe(head);
    // The observation's work dir is inside the checkout: still, only the mirror answers.
    const inside = mkdtempSync(path.join(checkout, 'work-'));
    expect(
      await readBranchHead({ mirror: daemon.url('org/app'), branch: 'main', timeoutMs: 5000 }, inside, process.env),
    ).toEqual({ sha: head });
  });
});

describe('observe: a repository flooded with long refs nobody follows (issue 21)', () => {
  let daemon: GitDaemon;
  let root: string;
  let main: string;
  const FLOOD = 5000;
  const NAME = 200;
  /** What the v0 advertisement of the flood alone weighs (pkt length, sha, space, name, newline). */
  const V0_BYTES = FLOOD * (4 + 40 + 1 + NAME + 1);
  beforeAll(async () => {
    root = tmp();
    seedMirror(root, [{ repo: 'org/flood', branches: [{ name: 'release', commits: 1 }] }]);
    main = pushCommit(root, 'org/flood', 'main', 'the followed branch');
    floodRefs(root, 'org/flood', main, FLOOD, NAME);
    // Refs that start with the followed one: ref-prefix matches them, only the exact ref counts.
    for (const sibling of ['main-old', 'mainline']) pushCommit(root, 'org/flood', sibling, sibling);
    daemon = await startGitDaemon(root, '127.0.0.1', await freePort());
  });
  afterAll(() => daemon.stop());

  it('a follower and a watcher read only their branches: the right heads, in protocol v2', async () => {
    const mirror = daemon.url('org/flood');
    expect(await readBranchHead({ mirror, branch: 'main', timeoutMs: 5000 }, tmp(), process.env)).toEqual({
      sha: main,
    });
    expect(
      await readBranchHeads({ mirror, timeoutMs: 5000, branches: ['main', 'release', 'gone'] }, tmp(), process.env),
    ).toEqual({ main, release: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it('the answer for one branch fits in a cap the whole advertisement passes many times over', async () => {
    const url = new URL(daemon.url('org/flood'));
    const want = { prefixes: ['refs/heads/main'], keep: (r: string) => r === 'refs/heads/main', timeoutMs: 5000 };
    const cap = 4096;
    expect(V0_BYTES).toBeGreaterThan(100 * cap);
    const v2 = await readRefs(url, { ...want, maxBytes: cap });
    expect(v2).toMatchObject({ protocol: 2, refs: new Map([['refs/heads/main', main]]) });
    expect(v2.bytes).toBeLessThan(cap);
    // The same server asked in v0 sends every ref: the same cap ends that read.
    await expect(readRefs(url, { ...want, maxBytes: cap, protocol: 0 })).rejects.toMatchObject({ kind: 'tooLarge' });
    // Without the cap, v0 finds the same head, past the whole flood.
    const v0 = await readRefs(url, { ...want, maxBytes: MAX_ADVERTISEMENT, protocol: 0 });
    expect(v0).toMatchObject({ protocol: 0, refs: new Map([['refs/heads/main', main]]) });
    expect(v0.bytes).toBeGreaterThan(V0_BYTES);
  });

  it('a v0-only server is parsed as a stream: under the cap it answers, past it MirrorAdvertisementTooLarge, memory flat', async () => {
    // A real socket speaking only protocol v0 (it ignores version=2), as an old or odd server does.
    const small = await v0Server(main, 20_000);
    const huge = await v0Server(main, Math.ceil((MAX_ADVERTISEMENT * 1.25) / (4 + 40 + 1 + NAME + 1)));
    try {
      // The followed ref comes last, after the whole flood.
      expect(
        await readBranchHead({ mirror: small.url, branch: 'main', timeoutMs: 20_000 }, tmp(), process.env),
      ).toEqual({ sha: main });
      const memory = sampleMemory();
      const f = await failureOf(
        readBranchHead({ mirror: huge.url, branch: 'main', timeoutMs: 60_000 }, tmp(), process.env),
      );
      const grew = memory.stop();
      // 64 MiB went by; the reader held one packet at a time (the heap and buffers barely moved).
      expect(huge.sent()).toBeGreaterThan(MAX_ADVERTISEMENT);
      expect(grew, `the read grew the heap and buffers by ${Math.round(grew / 2 ** 20)} MiB`).toBeLessThan(
        48 * 2 ** 20,
      );
      expect(f).toMatchObject({ type: 'MirrorAdvertisementTooLarge', retryable: true });
      expect(f.message).toContain(`passed ${MAX_ADVERTISEMENT} bytes`);
    } finally {
      small.close();
      huge.close();
    }
  }, 120_000);
});

/** A git:// server that speaks only v0 and advertises `flood` long refs, then `refs/heads/main` at `sha`. */
async function v0Server(sha: string, flood: number): Promise<{ url: string; sent: () => number; close: () => void }> {
  let sent = 0;
  const line = (payload: string): string => (payload.length + 4).toString(16).padStart(4, '0') + payload;
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', async () => {
      const caps = 'multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag';
      let batch = line(`${sha} HEAD\0${caps}\n`);
      for (let i = 0; i < flood && !socket.destroyed; i++) {
        const stem = `refs/heads/flood/${String(i).padStart(8, '0')}-`;
        batch += line(`${sha} ${stem}${'y'.repeat(200 - stem.length)}\n`);
        if (batch.length < 64 * 1024) continue;
        sent += batch.length;
        if (!socket.write(batch)) await drained(socket);
        batch = '';
      }
      batch += line(`${sha} refs/heads/main\n`) + '0000';
      sent += batch.length;
      if (!socket.destroyed) socket.write(batch);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `git://127.0.0.1:${port}/org/v0.git`, sent: () => sent, close: () => server.close() };
}

/** Resolves when the socket can take more, or is gone. */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.on('drain', done).on('close', done);
  });
}

/** Samples heap and buffer memory every few milliseconds; stop() returns the largest growth seen. */
function sampleMemory(): { stop: () => number } {
  const used = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = used();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 2);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, used()) - base;
    },
  };
}
