// A query that races a worker failover (workflows/task-boundary.ts). The server sends a query
// straight to the run's sticky worker when no task is pending; that worker is dead, so the query
// waits out the sticky queue's timeout (10 s here) and then goes, with the history of that moment,
// to the next worker. A timer that fired meanwhile is in that history, its task not started yet
// (the task itself waits out the same timeout from when it was scheduled). A signal sent after
// the query is answered reaches the run with that task. Unguarded, the worker ran the workflow on
// the timer alone, applied the signal one step later than a replay does, and the run does not
// replay: the negative control. With the product's interceptors, the query fails instead and the
// run replays.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/worker.ts';
import { RAN_PAST_STARTED_TASK } from '../../workflows/task-boundary.ts';
import { pokeSignal, ticksQuery } from '../support/query-race/workflows.ts';

const WORKFLOWS = fileURLToPath(new URL('../support/query-race/workflows.ts', import.meta.url));
const WORKER = fileURLToPath(new URL('../support/query-race/worker.ts', import.meta.url));
const TICK_MS = 6000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WorkerProcess {
  process: ChildProcess;
  output: () => string;
}

function startWorker(address: string, taskQueue: string, mode: 'guarded' | 'bare'): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, address, taskQueue, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { process: child, output: () => output };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms: number,
  w: WorkerProcess,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (w.process.exitCode !== null) throw new Error(`worker exited while waiting for ${what}:\n${w.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms:\n${w.output()}`);
    await sleep(100);
  }
}

async function raceAQuery(mode: 'guarded' | 'bare') {
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  cleanups.push(() => connection.close());
  const client = new Client({ connection });
  const taskQueue = `query-race-${mode}-${Date.now()}`;

  const first = startWorker(address, taskQueue, mode);
  await until('first worker polling', () => first.output().includes('polling'), 60_000, first);
  const handle = await client.workflow.start('ticker', { taskQueue, workflowId: taskQueue, args: [TICK_MS] });
  cleanups.push(() => handle.terminate().catch(() => undefined));
  // After the first tick, once the task that started the second timer has completed.
  const timersStarted = async () =>
    ((await handle.fetchHistory()).events ?? []).filter((e) => e.timerStartedEventAttributes).length;
  await until('the second timer', async () => (await timersStarted()) >= 2, 60_000, first);

  first.process.kill('SIGKILL');
  const query = handle.query(ticksQuery).then(
    (ticks) => ({ answered: ticks }),
    (err: Error) => ({ failed: err.message }),
  );
  const second = startWorker(address, taskQueue, mode);
  const outcome = await query;
  await handle.signal(pokeSignal);
  await until('a tick that saw the signal', () => second.output().includes('poked'), 60_000, second);
  await handle.terminate();

  const history = await handle.fetchHistory();
  const replayed = await Worker.runReplayHistory(
    {
      workflowsPath: WORKFLOWS,
      ...(mode === 'guarded' ? { interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } } : {}),
      replayName: `query-race-${mode}`,
    },
    history,
  ).then(
    () => undefined,
    (err: Error) => err,
  );
  return { outcome, replayed, records: second.output().match(/^record .*$/gm) ?? [] };
}

describe('a query racing a worker failover', () => {
  it('the workflow bundle every worker runs carries the interceptors', () => {
    expect(readFileSync(inject('workflowBundlePath'), 'utf8')).toContain(RAN_PAST_STARTED_TASK);
  });

  it('without the interceptors (negative control), the second worker runs a tick on the fired timer alone and the run does not replay', async () => {
    const { outcome, replayed } = await raceAQuery('bare');
    expect(outcome).toEqual({ answered: ['tick 0: 0 pokes', 'tick 1: 0 pokes'] });
    expect(replayed?.name).toBe('DeterminismViolationError');
  }, 180_000);

  it('with the product interceptors, the query fails, the run is replayed whole with its task, and it replays', async () => {
    const { outcome, replayed, records } = await raceAQuery('guarded');
    expect(outcome).toEqual({ failed: expect.stringContaining(RAN_PAST_STARTED_TASK) });
    expect(replayed).toBeUndefined();
    // The second worker decided tick 1 once, with the signal its task brought.
    expect(records.filter((r) => r.startsWith('record tick 1:'))).toEqual([
      'record tick 1: poked',
      'record tick 1: 1 pokes',
    ]);
  }, 180_000);
});
