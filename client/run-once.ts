// run-once: one observe + decide pass per follower. With dryRun it reads the mirror and the
// follower's state and writes nothing anywhere: no signal, no trigger, no workflow start; without
// Temporal it decides from the mirror alone, as a fresh start, and says so. Without dryRun it asks
// the running workflows to observe now and reports what they decided.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isCode, type Code } from '../contract/codes.ts';
import { readBranchHead } from '../activities/observe.ts';
import { decide, initialState } from '../core/decide.ts';
import { eventsQuery, refreshSignal, workflowIdFor } from '../contract/messages.ts';
import type { FollowerSpec } from '../contract/spec.ts';
import { runningState, type Ctx } from './context.ts';

export interface RunOnceRow {
  follower: string;
  branch: string;
  head?: string;
  decision: string;
  code: Code | 'NotRunning' | 'NoObservation';
  message: string;
}

/** `client` reads the running followers' states; without one (Temporal not reached) each is decided as a fresh start. */
export async function runOnceDry(client: Client | undefined, specs: FollowerSpec[]): Promise<RunOnceRow[]> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'branch-follower-dry-'));
  try {
    return await Promise.all(
      specs.map(async (spec): Promise<RunOnceRow> => {
        const row = { follower: spec.id, branch: spec.source.branch };
        let head: string;
        try {
          ({ sha: head } = await readBranchHead(
            {
              mirror: spec.source.mirror,
              branch: spec.source.branch,
              timeoutMs: spec.observeTimeoutMs,
              ...(spec.source.auth ? { auth: spec.source.auth } : {}),
            },
            workDir,
            process.env,
          ));
        } catch (err) {
          const code = err instanceof ApplicationFailure && isCode(err.type) ? err.type : 'MirrorUnreachable';
          return { ...row, decision: 'Blocked', code, message: (err as Error).message };
        }
        const live = client ? await runningState(client, spec.id) : undefined;
        const state = live ? { ...live, events: [], cancels: [] } : initialState(spec.id, Date.now());
        const d = decide(state, head, Date.now(), spec);
        const note = live
          ? ''
          : client
            ? ' (follower not running: decided as a fresh start)'
            : ' (Temporal not reached: decided as a fresh start)';
        return { ...row, head, decision: d.kind, code: d.code, message: d.message + note };
      }),
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Signals `refresh` and waits until each follower has looked at the mirror again. */
export async function runOnceLive(ctx: Ctx, specs: FollowerSpec[], timeoutMs: number): Promise<RunOnceRow[]> {
  return Promise.all(
    specs.map(async (spec): Promise<RunOnceRow> => {
      const row = { follower: spec.id, branch: spec.source.branch };
      const before = await runningState(ctx.client, spec.id);
      if (!before)
        return {
          ...row,
          decision: 'NotRunning',
          code: 'NotRunning',
          message: 'start it with `branch-follower apply --confirm`',
        };
      const handle = ctx.client.workflow.getHandle(workflowIdFor(spec.id));
      const seen = (await handle.query(eventsQuery, {})).length;
      await handle.signal(refreshSignal);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await runningState(ctx.client, spec.id);
        if (s && (s.lastLookAt ?? 0) > (before.lastLookAt ?? 0)) {
          const events = await handle.query(eventsQuery, {});
          const latest = events.length > seen ? events[events.length - 1]! : s;
          return { ...row, head: s.observedSha, decision: s.phase, code: latest.code, message: latest.message };
        }
        if (Date.now() > deadline)
          return {
            ...row,
            head: s?.observedSha,
            decision: 'Unknown',
            code: 'NoObservation',
            message: `no observation within ${timeoutMs}ms; is a worker running?`,
          };
        await new Promise((r) => setTimeout(r, 200));
      }
    }),
  );
}
