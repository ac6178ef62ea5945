// Two teams, one namespace and task queue: each registry's `apply` starts, reconfigures and stops
// only what it started (its registryId, in each workflow's memo), and its plan says what it leaves
// alone and why. Visibility queries quote values, so a value can never act as query syntax.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FollowerIdKey, specQuery, workflowIdFor } from '../../contract/messages.ts';
import { allEqual } from '../../client/visibility.ts';
import { loadRegistry } from '../../config/registry.ts';
import { Harness, REPO } from '../support/harness.ts';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

const json = (r: { out: string }) =>
  JSON.parse(r.out) as {
    plan: { follower: string; action: string; reason: string }[];
    watchers: { mirror: string; action: string; reason: string }[];
  };
const status = async (h: Harness, workflowId: string) =>
  (await h.client.workflow.getHandle(workflowId).describe()).status.name;
const running = async (h: Harness, followerId: string) => status(h, workflowIdFor(followerId));
const WATCH = { pollInterval: '300ms', observe: { mode: 'watch', fallbackInterval: '1m' } };

describe('registries sharing a task queue', () => {
  it('neither apply disturbs the other: plans leave the other team alone and say so; each stops only its own', async () => {
    const shared = `shared-${randomBytes(4).toString('hex')}`;
    const a = await Harness.create({
      registryId: 'team-a',
      temporal: { taskQueue: shared },
      lanes: { a: {} },
      followers: [
        { name: 'a1', lane: 'a' },
        { name: 'a2', lane: 'a' },
      ],
      defaults: WATCH,
    });
    open.push(a);
    // Team B follows the same mirror repository in watch mode: it gets a watcher of its own.
    const b = await Harness.create({
      registryId: 'team-b',
      temporal: { taskQueue: shared },
      lanes: { b: {} },
      followers: [{ name: 'b1', lane: 'b', yaml: { source: { mirror: a.daemon.url(REPO), branch: 'main' } } }],
      defaults: WATCH,
    });
    open.push(b);
    await a.startWorker();
    expect((await a.cli('apply', '--confirm')).code).toBe(0);

    const planB = json(await b.cli('plan', '-o', 'json'));
    expect(planB.plan).toEqual(
      expect.arrayContaining([
        { follower: b.id('b1'), action: 'start', reason: 'enabled and not running' },
        { follower: a.id('a1'), action: 'leave', reason: 'owned by registry team-a' },
        { follower: a.id('a2'), action: 'leave', reason: 'owned by registry team-a' },
      ]),
    );
    expect(planB.watchers).toContainEqual({
      mirror: a.daemon.url(REPO),
      action: 'start',
      reason: '1 follower(s) watch it',
    });
    expect(planB.watchers).toContainEqual(
      expect.objectContaining({ action: 'leave', reason: 'owned by registry team-a' }),
    );
    const textPlan = await b.cli('plan');
    expect(textPlan.out).toMatch(new RegExp(`${a.id('a1')}\\s+leave\\s+owned by registry team-a`));
    expect((await b.cli('apply', '--confirm')).code).toBe(0);
    for (const id of [a.id('a1'), a.id('a2'), b.id('b1')]) expect(await running(a, id)).toBe('RUNNING');
    expect(await status(a, a.watcherId(a.daemon.url(REPO)))).toBe('RUNNING');
    expect(await status(b, b.watcherId(a.daemon.url(REPO)))).toBe('RUNNING');

    // Team A drops a2: its apply stops a2, and nothing of team B's.
    a.writeConfig({ followers: [{ name: 'a1', lane: 'a' }] });
    a.registry = loadRegistry(a.registryFile);
    const planA = json(await a.cli('plan', '-o', 'json'));
    expect(planA.plan).toEqual(
      expect.arrayContaining([
        { follower: a.id('a2'), action: 'stop', reason: 'no longer in the registry' },
        { follower: b.id('b1'), action: 'leave', reason: 'owned by registry team-b' },
      ]),
    );
    expect((await a.cli('apply', '--confirm')).code).toBe(0);
    await expect.poll(() => running(a, a.id('a2')), { timeout: 30_000 }).not.toBe('RUNNING');
    expect(await running(a, b.id('b1'))).toBe('RUNNING');
    expect(await status(b, b.watcherId(a.daemon.url(REPO)))).toBe('RUNNING');

    // Team B declares a follower id team A already runs: left alone, never reconfigured.
    const before = await a.handle('a1').query(specQuery);
    b.writeConfig({
      followers: [
        { name: 'b1', lane: 'b' },
        { name: 'clash', lane: 'b', yaml: { id: a.id('a1') } },
      ],
    });
    b.registry = loadRegistry(b.registryFile);
    const clash = json(await b.cli('plan', '-o', 'json')).plan.find((f) => f.follower === a.id('a1'));
    expect(clash).toEqual({
      follower: a.id('a1'),
      action: 'leave',
      reason: 'owned by registry team-a: rename this follower, or remove it from one registry',
    });
    expect((await b.cli('apply', '--confirm')).code).toBe(0);
    expect(await a.handle('a1').query(specQuery)).toEqual(before);
  });

  it('a value cannot act as query syntax: quotes are matched literally by the real server, a backslash is refused', async () => {
    const h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'app', lane: 'a' }] });
    open.push(h);
    expect(() => allEqual({ FollowerId: 'y\\' })).toThrow(/cannot be quoted into a visibility query/);
    const hostile = `x' OR FollowerId != 'y`;
    const workflowId = `probe-${randomBytes(4).toString('hex')}`;
    // No worker serves this queue: the probe stays Running, searchable by its hostile value.
    await h.client.workflow.start('probeWorkflow', {
      workflowId,
      taskQueue: `${h.taskQueue}-idle`,
      typedSearchAttributes: [{ key: FollowerIdKey, value: hostile }],
    });
    try {
      const ids = async (query: string) => {
        const found: string[] = [];
        for await (const wf of h.client.workflow.list({ query })) found.push(wf.workflowId);
        return found;
      };
      await expect.poll(() => ids(allEqual({ FollowerId: hostile })), { timeout: 20_000 }).toEqual([workflowId]);
      expect(
        await ids(allEqual({ FollowerId: 'x', ExecutionStatus: 'Running', TaskQueue: `${h.taskQueue}-idle` })),
      ).toEqual([]);
    } finally {
      await h.client.workflow.getHandle(workflowId).terminate('probe done');
    }
  });
});
