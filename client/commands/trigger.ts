// `trigger`: deploy the head again now, as a new run; --wait follows it to its outcome.
import { shortSha } from '../../contract/format.ts';
import { eventsQuery, triggerSignal, workflowIdFor } from '../../contract/messages.ts';
import type { FollowerView } from '../../contract/state.ts';
import { requireState, type Ctx } from '../context.ts';
import { CliError, Exit } from '../output.ts';
import { waitForSha } from '../wait.ts';
import { defineCommand, durationOption, shaOption } from './command.ts';
import { tty } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ follower: string; reason: string; sha?: string; wait?: boolean; timeout: number }>({
  name: 'trigger',
  configure: (cmd) =>
    cmd
      .description('deploy the head again now, as a new run (a manual trigger; refused while paused)')
      .requiredOption('--follower <id>', 'the follower')
      .requiredOption('--reason <text>', 'why (recorded in the follower events)')
      .addOption(shaOption('--sha <sha>', 'refuse unless this (whole sha) is the head on the mirror', { whole: true }))
      .option('--wait', 'wait until the triggered sha succeeds, fails or is superseded')
      .addOption(durationOption('--timeout <duration>', 'how long --wait waits', '5m')),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      const before = await requireState(ctx, opts.follower);
      if (before.paused) {
        throw new CliError(
          `${opts.follower} is paused (${before.paused.reason}): a manual trigger is refused while paused`,
          `branch-follower resume --follower ${opts.follower}, then trigger`,
          Exit.Failed,
        );
      }
      const handle = ctx.client.workflow.getHandle(workflowIdFor(opts.follower));
      const seen = (await handle.query(eventsQuery, {})).length;
      await handle.signal(triggerSignal, { reason: opts.reason, ...(opts.sha ? { sha: opts.sha } : {}) });
      env.io.out(tty`trigger sent to ${opts.follower}${opts.sha ? ` for ${shortSha(opts.sha)}` : ''}: ${opts.reason}`);
      if (!opts.wait) return Exit.Ok;
      const sha = await acceptedSha(ctx, opts.follower, before, seen, opts.timeout);
      const result = await waitForSha(ctx, opts.follower, sha, opts.timeout, env.progress);
      env.io.out(tty`${result.message}`);
      return result.exit;
    }, opts.follower),
});

/** After a manual trigger: the sha the follower took it for (a new run, or the one already in flight), or why it refused. */
async function acceptedSha(
  ctx: Ctx,
  id: string,
  before: FollowerView,
  seenEvents: number,
  timeoutMs: number,
): Promise<string> {
  const handle = ctx.client.workflow.getHandle(workflowIdFor(id));
  const runs = new Map(before.shas.map((r) => [r.sha, r.runs]));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const events = (await handle.query(eventsQuery, {})).slice(seenEvents);
    const refused = events.find((e) => e.code === 'ManualNotHead' || e.code === 'ManualWhilePaused');
    if (refused) throw new CliError(refused.message, 'see `branch-follower events`', Exit.Failed);
    const inFlight = events.find((e) => e.code === 'ManualInFlight');
    if (inFlight?.sha) return inFlight.sha;
    const s = await requireState(ctx, id);
    const fired = s.shas.find((r) => r.runs > (runs.get(r.sha) ?? 0));
    if (fired) return fired.sha;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new CliError(
    `${id} did not act on the trigger within the timeout`,
    'is a worker running? see `branch-follower status`',
    Exit.Timeout,
  );
}
