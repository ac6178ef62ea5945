// `explain`: why a sha did or did not deploy, from the follower's own record.
import { requireState } from '../context.ts';
import { emit, Exit } from '../output.ts';
import { tty, ttyLines } from '../../contract/untrusted/terminal.ts';
import { explain } from '../views.ts';
import { defineCommand, shaOption } from './command.ts';

export default defineCommand<{ follower: string; sha: string }>({
  name: 'explain',
  configure: (cmd) =>
    cmd
      .description('why a sha did or did not deploy')
      .requiredOption('--follower <id>', 'the follower')
      .addOption(shaOption('--sha <sha>', 'the sha (a prefix is enough)').makeOptionMandatory()),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      const lines = explain(await requireState(ctx, opts.follower), opts.sha);
      emit(env.io, env.format, { follower: opts.follower, sha: opts.sha, explanation: lines }, () =>
        ttyLines(lines.map((line) => tty`${line}`)),
      );
      return Exit.Ok;
    }, opts.follower),
});
