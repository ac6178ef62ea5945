// `history`: one row per sha the follower has seen.
import { requireState } from '../context.ts';
import { emit, Exit } from '../output.ts';
import { historyTable } from '../views.ts';
import { defineCommand } from './command.ts';

export default defineCommand<{ follower: string }>({
  name: 'history',
  configure: (cmd) =>
    cmd
      .description('one row per sha: first seen, triggered, outcome, attempts, time to succeed, superseded by')
      .requiredOption('--follower <id>', 'the follower'),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      const s = await requireState(ctx, opts.follower);
      emit(env.io, env.format, { follower: opts.follower, shas: s.shas }, () => historyTable(s));
      return Exit.Ok;
    }, opts.follower),
});
