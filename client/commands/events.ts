// `events`: the follower's transitions, newest last.
import { eventsQuery, workflowIdFor } from '../../contract/messages.ts';
import { requireState } from '../context.ts';
import { emit, Exit } from '../output.ts';
import { eventsTable } from '../views.ts';
import { countOption, defineCommand } from './command.ts';

export default defineCommand<{ follower: string; limit?: number }>({
  name: 'events',
  configure: (cmd) =>
    cmd
      .description('the follower transitions: time, phase change, sha and reason')
      .requiredOption('--follower <id>', 'the follower')
      .addOption(countOption('--limit <n>', 'only the last n')),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      await requireState(ctx, opts.follower);
      const events = await ctx.client.workflow
        .getHandle(workflowIdFor(opts.follower))
        .query(eventsQuery, opts.limit ? { limit: opts.limit } : {});
      emit(env.io, env.format, { follower: opts.follower, events }, () => eventsTable(events));
      return Exit.Ok;
    }, opts.follower),
});
