// `wait`: block until a sha's outcome is known; the exit code says which.
import { waitForSha } from '../wait.ts';
import { defineCommand, durationOption, shaOption } from './command.ts';
import { tty } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ follower: string; sha: string; timeout: number }>({
  name: 'wait',
  configure: (cmd) =>
    cmd
      .description('exit 0 when the sha succeeded; non-zero at once on Failed, Superseded or timeout')
      .requiredOption('--follower <id>', 'the follower')
      .addOption(shaOption('--sha <sha>', 'the sha (a prefix is enough)').makeOptionMandatory())
      .addOption(durationOption('--timeout <duration>', 'give up after this long', '5m')),
  run: (env, opts) =>
    env.withCtx(async (ctx) => {
      const result = await waitForSha(ctx, opts.follower, opts.sha, opts.timeout, env.progress);
      env.io.out(tty`${result.message}`);
      return result.exit;
    }, opts.follower),
});
