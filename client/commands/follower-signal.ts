// pause and resume: a signal to one follower, with the operator's reason recorded in its events.
import { workflowIdFor, type pauseSignal, type resumeSignal } from '../../contract/messages.ts';
import { requireState } from '../context.ts';
import { Exit } from '../output.ts';
import { tty } from '../../contract/untrusted/terminal.ts';
import { defineCommand } from './command.ts';

export const followerSignalCommand = (
  name: 'pause' | 'resume',
  signal: typeof pauseSignal | typeof resumeSignal,
  description: string,
) =>
  defineCommand<{ follower: string; reason: string }>({
    name,
    configure: (cmd) =>
      cmd
        .description(description)
        .requiredOption('--follower <id>', 'the follower')
        .option('--reason <text>', 'why (recorded in the follower events)', `${name}d by operator`),
    run: (env, opts) =>
      env.withCtx(async (ctx) => {
        await requireState(ctx, opts.follower);
        await ctx.client.workflow
          .getHandle(workflowIdFor(opts.follower))
          .signal(signal as typeof pauseSignal, { reason: opts.reason });
        env.io.out(tty`${name} sent to ${opts.follower}: ${opts.reason}`);
        return Exit.Ok;
      }, opts.follower),
  });
