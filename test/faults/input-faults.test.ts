// Fault suite, part 1: misbehaving adapters, rewritten history, hostile config, and secrets.
// Real Temporal, real git, real adapter processes; the control plane's trigger log is the witness.
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { Exit } from '../../client/output.ts';
import { deleteBranch, setBranch } from '../../scripts/git-mirror.ts';
import { specQuery } from '../../contract/messages.ts';
import type { FollowerView } from '../../contract/state.ts';
import { demoAdapter, Harness, processOutput, REPO } from '../support/harness.ts';
import { duplicates, report } from '../support/reliability.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = async (file: string, args: string[]): Promise<string> =>
  (await promisify(execFile)(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;

const settled = (v: FollowerView) => v.phase === 'Failed' || v.phase === 'Succeeded';

/** Processes whose command line contains `text`, read from /proc (no pgrep: its absence must not pass a test). */
function processesMatching(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('adapter faults: each ends in a clear Failed or Blocked reason', () => {
  it('hang, non-zero exit, invalid JSON, 100 MB of output, another sha, missing and non-executable binaries', async () => {
    const noexec = path.join(ROOT, 'package.json'); // exists, not executable
    const program = (argv0: string) => ({
      kind: 'command',
      status: { argv: [argv0, 'status', '{lane}'] },
      trigger: { argv: [argv0, 'trigger', '{lane}', '{sha}'] },
      checks: { ready: { kind: 'adapter-status' } },
    });
    h = await Harness.create({
      lanes: {
        hang: { faults: { trigger: 'hang' } },
        exit: { faults: { trigger: 'exit' } },
        badjson: { faults: { status: 'badjson' } },
        flood: { faults: { status: 'flood' } },
        othersha: { deployMs: 0, faults: { status: 'othersha' } },
        ok: { deployMs: 0 },
      },
      followers: [
        { name: 'hang', lane: 'hang' },
        { name: 'exit', lane: 'exit' },
        { name: 'badjson', lane: 'badjson' },
        { name: 'flood', lane: 'flood', yaml: { adapter: 'patient' } },
        { name: 'othersha', lane: 'othersha' },
        { name: 'missing', lane: 'ok', yaml: { adapter: 'missing' } },
        { name: 'noexec', lane: 'ok', yaml: { adapter: 'noexec' } },
      ],
      defaults: {
        adapter: { timeout: '1s' },
        retry: { maxAttempts: 2, initialBackoff: '200ms', maxBackoff: '1s' },
        closeout: { budget: '3s' },
      },
      // 100 MB takes a while to drain on a busy machine: that lane's adapter gets more time.
      adapters: {
        missing: program(path.join(ROOT, 'no/such/lanectl')),
        noexec: program(noexec),
        patient: { ...demoAdapter(), timeout: '60s' },
      },
    });
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    const final = async (name: string) => h!.waitFor(name, 'a final reason', (v) => settled(v) && !v.work, 90_000);
    // An adapter that cannot run stays Blocked with its next attempt pending each poll.
    const blocked = async (name: string) =>
      h!.waitFor(name, 'Blocked', (v) => v.phase === 'Blocked' && v.code === 'AdapterMissing', 90_000);
    const outcome = (v: FollowerView) => ({ phase: v.phase, code: v.code, message: v.message });

    // A hung trigger may have been accepted before it hung: its retry goes out under the same key.
    expect(outcome(await final('hang'))).toEqual({
      phase: 'Failed',
      code: 'AdapterTimeout',
      message:
        'adapter demo trigger did not finish within 1000ms; killed with its process group; 2 attempts used; the last trigger may have reached the runtime',
    });
    expect(outcome(await final('exit'))).toEqual({
      phase: 'Failed',
      code: 'AdapterFailed',
      message: 'adapter demo trigger exited 2: control-plane: injected failure; 2 attempts used',
    });
    expect(outcome(await final('badjson'))).toEqual({
      phase: 'Failed',
      code: 'InvalidStatus',
      message: 'adapter demo status did not print JSON: "this is not json"',
    });
    expect(outcome(await final('flood'))).toEqual({
      phase: 'Failed',
      code: 'InvalidStatus',
      message: 'adapter patient status printed more than its maxOutputBytes; expected one compact JSON object',
    });
    const other = await final('othersha');
    expect(other.code).toBe('BudgetExceeded');
    expect(other.message).toMatch(
      /^close-out took \d+(\.\d)?s, over the 3s budget .*; runtime reports ffffffffffff Succeeded; last status: still on the previous release$/,
    );
    const missing = await blocked('missing');
    expect(missing.message).toContain(
      `adapter missing status: cannot run ${path.join(ROOT, 'no/such/lanectl')}: not found`,
    );
    expect((await blocked('noexec')).message).toContain(`cannot run ${noexec}: not executable`);

    // The hung adapter's own child was killed with it.
    expect(processesMatching('sleep 3601')).toEqual([]);
    // 100 MB of output never reaches memory: flood once more, alone, and measure this worker.
    const rssBefore = process.memoryUsage().rss;
    const failedBefore = (await h.state('flood')).lastError!.at;
    await h.handle('flood').signal('trigger', { reason: 'flood again' });
    await h.waitFor(
      'flood',
      'flooded and refused again',
      (v) => v.phase === 'Failed' && v.lastError!.at > failedBefore,
      90_000,
    );
    const growthMb = (process.memoryUsage().rss - rssBefore) / (1 << 20);
    expect(growthMb).toBeLessThan(50);
    // Only the lying-status lane reached its trigger; nothing fired twice.
    expect(h.triggers().map((t) => [t.lane, t.sha])).toEqual([['othersha', sha]]);

    const rows: [string, string, string][] = [
      [
        'adapter hangs (trigger)',
        'hang with a child process; 1s timeout, 2 attempts',
        'Failed: AdapterTimeout, 2 attempts used (the second re-sent the same key: the first may have been accepted); process group killed',
      ],
      ['adapter exits non-zero', 'exit 2, 2 attempts', 'Failed: AdapterFailed with its stderr, 2 attempts used'],
      ['adapter prints invalid JSON', 'status prints text', 'Failed: InvalidStatus (terminal)'],
      ['adapter floods output', '100 MB on stdout', `Failed: InvalidStatus; worker RSS grew ${growthMb.toFixed(0)} MB`],
      [
        'status reports another sha',
        'runtime claims ffffffff…',
        'Failed: BudgetExceeded, naming the sha the runtime reports',
      ],
      [
        'adapter binary missing',
        'argv[0] does not exist',
        'Blocked: AdapterMissing (not found); retried each poll, no attempt spent',
      ],
      ['adapter binary not executable', 'argv[0] is a plain file', 'Blocked: AdapterMissing (not executable)'],
    ];
    for (const [fault, injected, recovery] of rows) {
      report({
        fault,
        injected,
        duplicates: duplicates(h.triggers()),
        lost: 0,
        recovery,
        reproduce: 'npx vitest run test/faults/input-faults.test.ts -t "adapter faults"',
      });
    }
  });
});

describe('history rewrites', () => {
  it('force-push backwards, delete and recreate: the head is the goal, each return to a sha the runtime left is a new run', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 0 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '300ms' },
    });
    const a = h.push('main', 'a');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'a deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === a);
    const b = h.push('main', 'b');
    await h.waitFor('app', 'b deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === b);

    setBranch(h.mirrorRoot, REPO, 'main', a); // force-push backwards: the runtime is on b, the head is a again
    await h.waitFor(
      'app',
      'a deployed again',
      (v) => v.phase === 'Succeeded' && v.lastSucceededSha === a && v.shas.find((r) => r.sha === a)?.runs === 2,
    );
    expect((await h.events('app')).some((e) => e.code === 'HeadReturned' && e.sha === a)).toBe(true);

    deleteBranch(h.mirrorRoot, REPO, 'main');
    const deleted = await h.waitFor('app', 'deletion seen', (v) => v.phase === 'Blocked');
    expect(deleted.code).toBe('BranchNotFound');
    expect(deleted.message).toMatch(/^branch main does not exist/);

    setBranch(h.mirrorRoot, REPO, 'main', a); // recreated at the deployed sha: nothing to do
    await h.waitFor('app', 'recreated at a', (v) => v.phase === 'Succeeded' && v.observedSha === a);
    const c = h.push('main', 'c'); // and moving on from there
    await h.waitFor('app', 'c deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === c);
    const keys = h.triggers().map((t) => t.triggerId);
    expect(h.triggers().map((t) => t.sha)).toEqual([a, b, a, c]);
    expect(new Set(keys).size).toBe(keys.length);
    report({
      fault: 'history rewrites',
      injected: 'force-push back to a sha deployed before; delete; recreate at the deployed sha; push',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery:
        'rewind: redeployed as a new run (the runtime was on its successor); delete: Blocked BranchNotFound; recreate at the deployed sha: Succeeded, nothing fired; new sha deploys',
      reproduce: 'npx vitest run test/faults/input-faults.test.ts -t "history rewrites"',
    });
  });
});

describe('hostile config', () => {
  it('is refused with file:line:col and path; nothing applied, running followers untouched, nothing executed', async () => {
    // A long poll: once deployed the follower sleeps, so only a write could add history events.
    h = await Harness.create({
      lanes: { a: { deployMs: 0 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '10m' },
    });
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha);
    const spec = await h.handle('app').query(specQuery);
    const good = readFileSync(h.registryFile, 'utf8');
    const mark = path.join(h.dir, 'PWNED');
    const edits: [string, (doc: any) => void, RegExp][] = [
      // Payloads without spaces, so each is refused for what it is; run by a shell, they would create the marker.
      [
        'branch with ;',
        (d) => (d.followers[0].source.branch = `main;touch\${IFS}${mark}`),
        /source\.branch: .*metacharacter ";"/,
      ],
      [
        'branch with $(…)',
        (d) => (d.followers[0].source.branch = `$(touch\${IFS}${mark})`),
        /source\.branch: .*metacharacter "\$"/,
      ],
      [
        'branch as an option',
        (d) => (d.followers[0].source.branch = `--upload-pack=touch\${IFS}${mark}`),
        /source\.branch: .*starts with "-"/,
      ],
      [
        'branch with a newline',
        (d) => (d.followers[0].source.branch = 'main\nx'),
        /source\.branch: .*control character/,
      ],
      [
        'param with $(…)',
        (d) => (d.followers[0].target.params.lane = `$(touch\${IFS}${mark})`),
        /target\.params\.lane: /,
      ],
      ['param as an option', (d) => (d.followers[0].target.params.lane = '--exec=sh'), /target\.params\.lane: /],
      [
        'mirror as an option',
        (d) => (d.followers[0].source.mirror = `--upload-pack=touch\${IFS}${mark}`),
        /source\.mirror: .*not a URL/,
      ],
      [
        'placeholder as the program',
        (d) => (d.adapters.demo.status.argv[0] = '{lane}'),
        /adapters\.demo\.status\.argv\[0\]: /,
      ],
      ['unknown key', (d) => (d.followers[0].enabeld = true), /followers\[0\]\.enabeld: unknown key/],
      ['wrong type', (d) => (d.followers[0].enabled = 'yes'), /followers\[0\]\.enabled: /],
      ['duplicate id', (d) => d.followers.push({ ...d.followers[0] }), /followers\[1\]\.id: duplicate follower id/],
      ['unknown adapter', (d) => (d.followers[0].adapter = 'nope'), /followers\[0\]\.adapter: unknown adapter "nope"/],
    ];
    const historyBefore = (await h.handle('app').describe()).historyLength;
    for (const [, edit, expected] of edits) {
      const doc = YAML.parse(good);
      edit(doc);
      writeFileSync(h.registryFile, YAML.stringify(doc));
      const res = await h.cli('apply', '--confirm');
      expect(res.code).toBe(Exit.Usage);
      expect(res.err).toMatch(/registry\.yaml:\d+:\d+: /);
      expect(res.err).toMatch(expected);
    }
    writeFileSync(h.registryFile, `${good}\nfollowers: [oops`);
    const syntax = await h.cli('plan');
    expect(syntax.code).toBe(Exit.Usage);
    expect(syntax.err).toMatch(/registry\.yaml:\d+:\d+: \(document\): YAML syntax/);
    writeFileSync(h.registryFile, good);

    expect(existsSync(mark)).toBe(false);
    expect(await h.handle('app').query(specQuery)).toEqual(spec);
    expect((await h.handle('app').describe()).historyLength).toBe(historyBefore);
    expect(h.triggers()).toHaveLength(1);
    report({
      fault: 'hostile config',
      injected: `${edits.length + 1} registries: ${edits.map((e) => e[0]).join(', ')}, YAML syntax error`,
      duplicates: 0,
      lost: 0,
      recovery: 'each refused (exit 2, file:line:col and path); no history event, spec unchanged, nothing executed',
      reproduce: 'npx vitest run test/faults/input-faults.test.ts -t "hostile config"',
    });
  });
});

describe('secrets', () => {
  it('a secret in the worker environment never appears in CLI output, worker logs or workflow history', async () => {
    const secret = `tok-${Date.now()}-s3cr3t`;
    h = await Harness.create({ lanes: { a: { deployMs: 200 } }, followers: [{ name: 'app', lane: 'a' }] });
    // An adapter that leaks the token into a failure message, once, then behaves.
    const leaky = path.join(h.dir, 'bin', 'leaky');
    const marker = path.join(h.dir, 'leaked-once');
    mkdirSync(path.dirname(leaky), { recursive: true });
    writeFileSync(
      leaky,
      `#!/bin/sh\necho "debug: token=$DEMO_TOKEN" >&2\nif [ "$3" = trigger-current ] && [ ! -e ${marker} ]; then touch ${marker}; echo "{\\"message\\":\\"auth with $DEMO_TOKEN refused\\"}"; exit 1; fi\nexec ${path.join(ROOT, 'examples/bin/hwlab')} "$@"\n`,
    );
    chmodSync(leaky, 0o755);
    const argv = (verb: string, extra: string[] = []) => ({
      argv: [
        leaky,
        'nodes',
        'control-plane',
        verb,
        '--node',
        '{node}',
        '--lane',
        '{lane}',
        '--config',
        '{configRef}',
        ...extra,
      ],
    });
    h.writeConfig({
      adapter: {
        status: argv('status'),
        trigger: argv('trigger-current', ['--sha', '{sha}']),
        logs: argv('logs', ['--job', '{jobId}']),
      },
    });
    h.registry = (await import('../../config/registry.ts')).loadRegistry(h.registryFile);
    const sha = h.push('main', 'x');
    const fingerprintKey = `fp-${Date.now()}`;
    const worker = h.spawnWorker({ env: { DEMO_TOKEN: secret, BRANCH_FOLLOWER_FINGERPRINT_KEY: fingerprintKey } });
    await h.startFollowers();
    await h.waitFor('app', 'deployed after the leaky failure', (v) => v.lastSucceededSha === sha);
    expect(existsSync(marker)).toBe(true);

    const outputs: string[] = [processOutput(worker)];
    for (const args of [
      ['status'],
      ['status', '-o', 'json'],
      ['status', '-o', 'yaml'],
      ['events', '--follower', h.id('app')],
      ['history', '--follower', h.id('app')],
      ['explain', '--follower', h.id('app'), '--sha', sha],
      ['run-once', '--all', '--dry-run'],
      ['logs', '--follower', h.id('app')],
    ]) {
      const r = await h.cli(...args);
      outputs.push(r.out, r.err);
    }
    const history = await run(inject('temporalCli'), [
      'workflow',
      'show',
      '--address',
      h.address,
      '--workflow-id',
      `branch-follower/${h.id('app')}`,
      '--output',
      'json',
    ]);
    const everything = [...outputs, history].join('\n');
    expect(history).toContain('[redacted:DEMO_TOKEN]'); // the leak happened, and was scrubbed
    const occurrences = everything.split(secret).length - 1;
    expect(occurrences).toBe(0);
    const fingerprint = `hmac-sha256:${createHmac('sha256', fingerprintKey).update(secret).digest('hex').slice(0, 12)}`;
    // A plain hash of the secret (guessable offline from history) appears nowhere either.
    expect(everything).not.toContain(createHash('sha256').update(secret).digest('hex').slice(0, 12));
    expect(outputs.join('\n')).toContain(`DEMO_TOKEN present (${fingerprint})`);
    report({
      fault: 'secret in the worker environment',
      injected: 'adapter echoes the token to stderr and into a trigger failure message',
      duplicates: duplicates(h.triggers()),
      lost: 0,
      recovery: `0 occurrences in ${outputs.length - 1} CLI outputs, worker logs and history JSON (${Math.round(history.length / 1024)} KB); status shows name, presence, fingerprint`,
      reproduce: 'npx vitest run test/faults/input-faults.test.ts -t "secrets"',
    });
  });
});
