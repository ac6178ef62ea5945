// The operator CLI against a real Temporal dev server, real git and the real adapter scripts,
// and the Temporal-native equivalents run through the real `temporal` CLI.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { main as cliMain } from '../../client/cli.ts';
import { Exit } from '../../client/output.ts';
import { loadRegistry } from '../../config/registry.ts';
import { workflowIdFor } from '../../contract/messages.ts';
import { deleteBranch } from '../../scripts/git-mirror.ts';
import { Harness, REPO } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const json = <T = any>(r: { out: string }): T => JSON.parse(r.out) as T;
const ROOT = path.resolve(import.meta.dirname, '../..');
const run = async (file: string, args: string[]): Promise<string> =>
  (await promisify(execFile)(file, args, { encoding: 'utf8' })).stdout;

describe('plan / apply', () => {
  it('plans, refuses without --confirm, applies idempotently, reconfigures and stops', async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 100 }, b: { deployMs: 100 } },
      followers: [
        { name: 'one', lane: 'a' },
        { name: 'two', lane: 'b' },
      ],
    });
    await h.startWorker();

    const plan = await h.cli('plan');
    expect(plan.code).toBe(Exit.Ok);
    expect(plan.out).toMatch(new RegExp(`${h.id('one')}\\s+start\\s+enabled and not running`));

    const refused = await h.cli('apply');
    expect(refused.code).toBe(Exit.PendingChanges);
    expect(refused.out).toContain('not applied: run again with --confirm');
    await expect(h.handle('one').describe()).rejects.toThrow(/not found/i);

    const applied = await h.cli('apply', '--confirm', '--wait');
    expect(applied.code).toBe(Exit.Ok);
    expect(applied.err).toContain(`started ${h.id('one')}`);
    expect(applied.err).toMatch(new RegExp(`${h.id('one')}: (PendingTrigger|Triggering|ClosingOut|Succeeded)`));
    expect(json(await h.cli('plan', '-o', 'json')).plan.map((p: { action: string }) => p.action)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    const again = await h.cli('apply', '--confirm');
    expect(again.out).toContain('applied 0 change(s)');

    // Change one follower's budget and disable the other.
    const doc = YAML.parse(readRegistryText(h));
    doc.followers[0].closeout = { check: 'ready', budget: '45s' };
    doc.followers[1].enabled = false;
    writeRegistryText(h, YAML.stringify(doc));
    const changed = json(await h.cli('plan', '--json')).plan;
    expect(changed).toEqual([
      { follower: h.id('one'), action: 'reconfigure', reason: 'changed: closeout', changes: ['closeout'] },
      { follower: h.id('two'), action: 'stop', reason: 'enabled: false in the registry' },
    ]);
    const reapplied = await h.cli('apply', '--confirm', '--wait');
    expect(reapplied.code).toBe(Exit.Ok);
    expect(reapplied.err).toContain(`${h.id('two')}: stopped (CANCELLED)`);
    await h.waitFor(
      'one',
      'new budget in force',
      (v) => v.budget.totalMs === 45_000 && v.budget.source.path === 'followers[0].closeout.budget',
    );
    expect((await h.events('one')).some((e) => e.message.startsWith('reconfigured'))).toBe(true);
    const two = await h.handle('two').describe();
    expect(two.status.name).toBe('CANCELLED');
    expect(json(await h.cli('plan', '-o', 'json')).plan.map((p: { action: string }) => p.action)).toEqual([
      'unchanged',
      'unchanged',
    ]);
  });
});

describe('status, events, history, explain, logs', () => {
  it('shows the table, the controller line and drill-downs; full data with -o json|yaml', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'deployed', (v) => v.lastSucceededSha === first);
    const second = h.push('main', 'second');
    await h.waitFor('app', 'deployed', (v) => v.lastSucceededSha === second && v.phase === 'Succeeded');

    const status = await h.cli('status');
    expect(status.code).toBe(Exit.Ok);
    const [header, row] = status.out.split('\n');
    expect(header!.split(/\s{3,}/)).toEqual([
      'FOLLOWER',
      'ADAPTER',
      'BRANCH',
      'OBSERVED',
      'TARGET',
      'LAST TRIGGERED',
      'LAST SUCCEEDED',
      'PHASE',
      'IN-FLIGHT',
      'BUDGET',
      'AGE',
    ]);
    expect(row!.split(/\s{3,}/).slice(0, 9)).toEqual([
      h.id('app'),
      'demo',
      'main',
      second.slice(0, 12),
      second.slice(0, 12),
      second.slice(0, 12),
      second.slice(0, 12),
      'Succeeded',
      '-',
    ]);
    expect(status.out).toMatch(/controller: temporal .* task queue t\w+-queue: 1 worker\(s\) polling/);
    expect(status.out).toContain(
      `temporal workflow query --address ${h.address} --namespace default --workflow-id ${workflowIdFor(h.id('app'))} --name state`,
    );
    expect(status.out).not.toContain('{');
    // -o wide: the same rows with the code, the next mirror read, the mirror and the message.
    const [wideHeader, wideRow] = (await h.cli('status', '-o', 'wide')).out.split('\n');
    expect(wideHeader!.split(/\s{3,}/).slice(-4)).toEqual(['CODE', 'NEXT READ', 'MIRROR', 'MESSAGE']);
    const wideCells = wideRow!.split(/\s{3,}/);
    expect(wideCells.slice(0, 9)).toEqual(row!.split(/\s{3,}/).slice(0, 9));
    expect(wideCells.slice(-4, -2)).toEqual(['ClosedOut', expect.stringMatching(/^(in \d+(ms|s|m)|due)$/)]);
    expect(wideCells.at(-2)).toBe(h.daemon.url(REPO));
    expect(wideCells.at(-1)).toMatch(/^closed out in /);

    const full = json(await h.cli('status', '-o', 'json'));
    expect(full.controller.workers).toHaveLength(1);
    expect(full.followers[0]).toMatchObject({ id: h.id('app'), running: true, state: { lastSucceededSha: second } });
    const asYaml = YAML.parse((await h.cli('status', '-o', 'yaml')).out);
    expect(asYaml.followers[0].state.lastSucceededSha).toBe(second);

    const events = await h.cli('events', '--follower', h.id('app'), '--limit', '3');
    expect(events.out.split('\n')).toHaveLength(4);
    expect(events.out).toMatch(/ClosingOut\s+Succeeded\s+[0-9a-f]{12}\s+ClosedOut\s+closed out in/);

    const history = (await h.cli('history', '--follower', h.id('app'))).out.split('\n');
    expect(history[0]!.split(/\s{3,}/)).toEqual([
      'SHA',
      'FIRST SEEN',
      'TRIGGERED',
      'OUTCOME',
      'RUNS',
      'SEEN→SUCCEEDED',
      'SUPERSEDED BY',
    ]);
    expect(history[1]).toMatch(new RegExp(`^${second.slice(0, 12)}\\s.*Succeeded\\s+1\\s+\\d`));
    expect(history[2]).toMatch(new RegExp(`^${first.slice(0, 12)}\\s.*Succeeded`));

    const explained = (await h.cli('explain', '--follower', h.id('app'), '--sha', first.slice(0, 10))).out;
    expect(explained).toMatch(/Deployed: Succeeded at .*, run 1 \(closed out in .*\)\./);
    expect(explained).toContain(
      `The runtime is not known to be on it any more: ${second.slice(0, 12)} was deployed since.`,
    );
    const never = await h.cli('explain', '--follower', h.id('app'), '--sha', 'abcdef12');
    expect(never.out).toContain(`abcdef12 was never the head of main`);

    const logs = await h.cli('logs', '--follower', h.id('app'));
    expect(logs.code).toBe(Exit.Ok);
    expect(logs.out).toContain(`deploying ${second}`);
  });

  it('explains a superseded sha and refuses an unknown follower with a hint', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 3000 } }, followers: [{ name: 'app', lane: 'a' }] });
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'closing out', (v) => v.phase === 'ClosingOut');
    const second = h.push('main', 'second');
    expect((await h.cli('run-once', '--follower', h.id('app'))).out).toMatch(
      /PendingTrigger|Triggering|ClosingOut|Superseded/,
    );
    await h.waitFor('app', 'superseded', (v) => v.shas.some((r) => r.result?.outcome === 'Superseded'));
    const explained = await h.cli('explain', '--follower', h.id('app'), '--sha', first);
    expect(explained.out).toContain(`Not deployed: superseded by ${second.slice(0, 12)}`);

    const missing = await h.cli('events', '--follower', 'nope');
    expect(missing.code).toBe(Exit.NotFound);
    expect(missing.err).toBe(`error: no follower "nope" in ${h.registryFile}\nhint: followers: ${h.id('app')}`);
  });
});

describe('run-once', () => {
  it('--dry-run decides Noop / PendingTrigger / Blocked and writes nothing anywhere', async () => {
    h = await Harness.create({
      // A long poll: once settled, every workflow sleeps, so any write shows up as new history.
      defaults: { pollInterval: '10m' },
      lanes: { a: { deployMs: 100 }, b: { deployMs: 100 }, c: {} },
      followers: [
        { name: 'steady', lane: 'a' },
        { name: 'moving', lane: 'b', branch: 'dev' },
        { name: 'gone', lane: 'c', branch: 'old' },
      ],
    });
    deleteBranch(h.mirrorRoot, REPO, 'old');
    const steady = h.push('main', 'x');
    const dev = h.push('dev', 'y');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('steady', 'deployed', (v) => v.lastSucceededSha === steady);
    await h.waitFor('moving', 'deployed', (v) => v.lastSucceededSha === dev);
    await h.waitFor('gone', 'blocked', (v) => v.phase === 'Blocked');
    const next = h.push('dev', 'z');
    const lengths = async () =>
      Promise.all(['steady', 'moving', 'gone'].map(async (n) => (await h!.handle(n).describe()).historyLength));
    const before = await lengths();
    const triggersBefore = h.triggers().length;

    const dry = await h.cli('run-once', '--all', '--dry-run', '-o', 'json');
    const decisions = json(dry).decisions as {
      follower: string;
      decision: string;
      code: string;
      message: string;
      head?: string;
    }[];
    expect(decisions).toEqual([
      expect.objectContaining({ follower: h.id('steady'), decision: 'Noop', code: 'ClosedOut', head: steady }),
      expect.objectContaining({ follower: h.id('moving'), decision: 'PendingTrigger', code: 'NewHead', head: next }),
      expect.objectContaining({
        follower: h.id('gone'),
        decision: 'Blocked',
        code: 'BranchNotFound',
        message: expect.stringMatching(/^branch old does not exist/),
      }),
    ]);
    expect(dry.code).toBe(Exit.Failed); // something is Blocked

    expect(await lengths()).toEqual(before);
    expect(h.triggers()).toHaveLength(triggersBefore);

    // Without --dry-run it asks the followers to observe now and reports their decisions.
    const live = await h.cli('run-once', '--follower', h.id('moving'), '-o', 'json');
    expect(live.err).toBe('');
    expect(json(live).decisions[0]).toMatchObject({ follower: h.id('moving'), head: next });
    expect(json(live).decisions[0].decision).toMatch(/PendingTrigger|Triggering|ClosingOut|Succeeded/);
  });
});

describe('trigger, pause, resume, wait', () => {
  it('pause/resume and trigger --wait through signals', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 200 } }, followers: [{ name: 'app', lane: 'a' }] });
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'deployed', (v) => v.lastSucceededSha === sha);

    expect((await h.cli('pause', '--follower', h.id('app'), '--reason', 'freeze')).out).toBe(
      `pause sent to ${h.id('app')}: freeze`,
    );
    await h.waitFor('app', 'paused', (v) => v.phase === 'Blocked' && v.code === 'Paused');
    const refused = await h.cli('trigger', '--follower', h.id('app'), '--reason', 'during the freeze');
    expect(refused.code).toBe(Exit.Failed);
    expect(refused.err).toContain('is paused (freeze): a manual trigger is refused while paused');
    expect((await h.cli('resume', '--follower', h.id('app'))).code).toBe(Exit.Ok);
    await h.waitFor('app', 'resumed', (v) => v.phase === 'Succeeded');

    const redeploy = await h.cli(
      'trigger',
      '--follower',
      h.id('app'),
      '--reason',
      'node repaired',
      '--wait',
      '--timeout',
      '60s',
    );
    expect(redeploy.code).toBe(Exit.Ok);
    expect(redeploy.out).toContain(`${h.id('app')} ${sha.slice(0, 12)} Succeeded`);
    expect(h.triggers().map((t) => t.sha)).toEqual([sha, sha]);

    const wrong = await h.cli(
      'trigger',
      '--follower',
      h.id('app'),
      '--reason',
      'r',
      '--sha',
      'f'.repeat(40),
      '--wait',
      '--timeout',
      '60s',
    );
    expect(wrong.code).toBe(Exit.Failed);
    expect(wrong.err).toContain(
      `manual trigger refused: ffffffffffff is not the head of main on the mirror (head is ${sha.slice(0, 12)})`,
    );
  });

  it('wait exits 0 on success and fails fast on Failed, Superseded, a sha that is not the head, and timeout', async () => {
    h = await Harness.create({
      lanes: { ok: { deployMs: 300 }, bad: { outcomes: ['fail-terminal'] }, slow: { deployMs: 60_000 } },
      followers: [
        { name: 'ok', lane: 'ok' },
        { name: 'bad', lane: 'bad', branch: 'bad' },
        { name: 'slow', lane: 'slow', branch: 'slow' },
      ],
    });
    const ok = h.push('main', 'ok');
    const bad = h.push('bad', 'bad');
    const slow1 = h.push('slow', 'slow-1');
    await h.startWorker();
    await h.startFollowers();

    expect(await h.cli('wait', '--follower', h.id('ok'), '--sha', ok, '--timeout', '60s')).toMatchObject({
      code: Exit.Ok,
    });

    const failed = await h.cli('wait', '--follower', h.id('bad'), '--sha', bad.slice(0, 10), '--timeout', '60s');
    expect(failed.code).toBe(Exit.Failed);
    expect(failed.out).toContain('Failed: RuntimeFailed: rollout failed: invalid manifest');

    await h.waitFor('slow', 'closing out', (v) => v.phase === 'ClosingOut');
    const timedOut = await h.cli('wait', '--follower', h.id('slow'), '--sha', slow1, '--timeout', '1s');
    expect(timedOut.code).toBe(Exit.Timeout);
    expect(timedOut.out).toMatch(/^timed out after 1s: .* is ClosingOut/);

    // The branch moves while `wait` is waiting (after its first progress line, so the order is sure).
    const out: string[] = [];
    const err: string[] = [];
    let progressed!: () => void;
    const firstProgress = new Promise<void>((r) => (progressed = r));
    const waiting = cliMain(
      ['--registry', h.registryFile, 'wait', '--follower', h.id('slow'), '--sha', slow1, '--timeout', '60s'],
      {
        out: (t) => out.push(t.text),
        err: (t) => (err.push(t.text), progressed()),
        color: false,
      },
    );
    await firstProgress;
    const slow2 = h.push('slow', 'slow-2');
    expect(await waiting).toBe(Exit.Superseded);
    expect(out.join('\n')).toContain(`Superseded by ${slow2.slice(0, 12)}`);
    expect(err.join('\n')).toContain('ClosingOut');

    const notHead = await h.cli('wait', '--follower', h.id('ok'), '--sha', '0123456789abcdef', '--timeout', '60s');
    expect(notHead.code).toBe(Exit.Superseded);
    expect(notHead.out).toContain('is not the head of main on the mirror');
  });
});

describe('errors and the real binary', () => {
  it('an invalid registry is exit 2 with file:line:col; an unreachable Temporal is exit 3', async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'app', lane: 'a' }] });
    const text = readRegistryText(h);
    writeFileSync(h.registryFile, text.replace('enabled: true', 'enabled: sometimes'));
    const invalid = await h.cli('status');
    expect(invalid.code).toBe(Exit.Usage);
    expect(invalid.err).toMatch(/registry\.yaml:\d+:\d+: followers\[0\]\.enabled: /);
    writeRegistryText(h, text);

    process.env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS = '127.0.0.1:1';
    try {
      const down = await h.cli('status');
      expect(down.code).toBe(Exit.Unreachable);
      expect(down.err).toContain(
        'error: cannot reach Temporal at 127.0.0.1:1 (from BRANCH_FOLLOWER_TEMPORAL_ADDRESS): ',
      );
      expect(down.err).toContain('hint: is the server up at that address?');
    } finally {
      delete process.env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS;
    }
    // -n reaches the server: the one it names is asked, and says it has no such namespace.
    const elsewhere = await h.cli('-n', 'no-such-namespace', 'status', '-o', 'json');
    expect(elsewhere.code).toBe(Exit.Usage);
    expect(elsewhere.err).toContain(`has no namespace "no-such-namespace" (from -n)`);
    expect(elsewhere.err).toContain('hint: name another with -n, or create it: temporal operator namespace create');
    expect((await h.cli('-n', 'default', 'status', '-o', 'json')).code).toBe(Exit.Ok);
    expect((await h.cli('run-once')).code).toBe(Exit.Usage);
    expect((await h.cli('frobnicate')).code).toBe(Exit.Usage);
  });

  it('apply into a namespace without the search attributes says which and how to register them', async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'app', lane: 'a' }] });
    const namespace = `bare-${h.id('app')}`;
    await run(inject('temporalCli'), [
      'operator',
      'namespace',
      'create',
      '--address',
      inject('temporalAddress'),
      '--namespace',
      namespace,
    ]);
    process.env.BRANCH_FOLLOWER_TEMPORAL_NAMESPACE = namespace;
    try {
      let applied = await h.cli('apply', '--confirm');
      // A new namespace reaches every frontend service within the server's namespace cache refresh.
      for (let i = 0; i < 60 && /namespace .*not found|has no namespace/i.test(applied.err); i++) {
        await new Promise((r) => setTimeout(r, 500));
        applied = await h.cli('apply', '--confirm');
      }
      expect(applied.code).toBe(Exit.Failed);
      expect(applied.err).toContain(`error: cannot start follower ${h.id('app')}: `);
      expect(applied.err).toMatch(/search attribute FollowerId/);
      expect(applied.err).toContain(
        `hint: register the search attributes once: for sa in FollowerId FollowerPhase ObservedSha LastSucceededSha; do temporal operator search-attribute create --namespace ${namespace} --name $sa --type Keyword; done`,
      );
    } finally {
      delete process.env.BRANCH_FOLLOWER_TEMPORAL_NAMESPACE;
    }
  });

  it('the branch-follower bin and the temporal CLI work against a running follower', async () => {
    h = await Harness.create({ lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'deployed', (v) => v.lastSucceededSha === sha);

    // Async: the worker answering these queries runs in this very process.
    const bin = await run(process.execPath, [
      path.join(ROOT, 'client/branch-follower.mjs'),
      '--registry',
      h.registryFile,
      'status',
      '--json',
    ]);
    expect(JSON.parse(bin).followers[0].state.lastSucceededSha).toBe(sha);

    const temporal = (...args: string[]) =>
      run(inject('temporalCli'), [...args, '--address', h!.address, '--namespace', 'default']);
    const wid = workflowIdFor(h.id('app'));
    const query = JSON.parse(
      await temporal('workflow', 'query', '--workflow-id', wid, '--name', 'state', '--output', 'json'),
    );
    expect(JSON.stringify(query)).toContain(`"lastSucceededSha":"${sha}"`);

    await temporal(
      'workflow',
      'signal',
      '--workflow-id',
      wid,
      '--name',
      'trigger',
      '--input',
      '{"reason":"from the temporal CLI"}',
    );
    await h.waitFor('app', 'redeployed', (v) => v.phase === 'Succeeded' && v.shas[0]?.runs === 2);
    expect((await h.events('app')).some((e) => e.message === 'manual trigger: from the temporal CLI')).toBe(true);

    let listed = '';
    for (let i = 0; i < 100 && !listed.includes(wid); i++) {
      listed = await temporal(
        'workflow',
        'list',
        '--query',
        `FollowerId='${h.id('app')}' AND FollowerPhase='Succeeded'`,
      );
      if (!listed.includes(wid)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed).toContain(wid);
  });
});

function readRegistryText(harness: Harness): string {
  return readFileSync(harness.registryFile, 'utf8');
}

function writeRegistryText(harness: Harness, text: string): void {
  writeFileSync(harness.registryFile, text);
  harness.registry = loadRegistry(harness.registryFile);
}
