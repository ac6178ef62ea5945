// `run-once`: one observe + decide pass per follower. A dry run needs only the mirror and the
// decision core; Temporal adds the followers' states when it answers.
import { Option } from 'commander';
import { shortSha } from '../../contract/format.ts';
import { findSpec } from '../context.ts';
import { CliError, dim, emit, Exit, table } from '../output.ts';
import { runOnceDry, runOnceLive, type RunOnceRow } from '../run-once.ts';
import { defineCommand, durationOption } from './command.ts';
import { tty, ttyLines, type TerminalText } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ all?: boolean; follower?: string; dryRun?: boolean; timeout: number }>({
  name: 'run-once',
  configure: (cmd) =>
    cmd
      .description('one observe + decide pass per follower: Noop, PendingTrigger or Blocked, with the reason')
      .addOption(new Option('--all', 'every enabled follower').conflicts('follower'))
      .option('--follower <id>', 'one follower')
      .option('--dry-run', 'read the mirror and the follower state; write nothing anywhere')
      .addOption(
        durationOption(
          '--timeout <duration>',
          'how long to wait for the followers to observe (without --dry-run)',
          '30s',
        ),
      ),
  async run(env, opts) {
    if (!opts.all && !opts.follower)
      throw new CliError(
        'run-once needs --all or --follower <id>',
        'e.g. branch-follower run-once --all --dry-run',
        Exit.Usage,
      );
    const registry = env.readRegistry();
    const specs = opts.follower
      ? [findSpec(registry, opts.follower)]
      : registry.followers.filter((f) => f.enabled).map((f) => f.spec);
    const report = (rows: RunOnceRow[], offline?: string): number => {
      const footer = opts.dryRun
        ? [
            tty``,
            dim(
              env.io,
              tty`dry run: nothing was written${offline ? tty`; ${offline}, so each follower was decided from the mirror alone` : ''}`,
            ),
          ]
        : [];
      emit(env.io, env.format, { dryRun: Boolean(opts.dryRun), ...(offline ? { offline } : {}), decisions: rows }, () =>
        ttyLines([runOnceTable(rows), ...footer]),
      );
      return rows.some((r) => r.decision === 'Blocked' || r.decision === 'Failed') ? Exit.Failed : Exit.Ok;
    };
    if (!opts.dryRun) return env.withCtx(async (ctx) => report(await runOnceLive(ctx, specs, opts.timeout)));
    return env
      .withCtx(async (ctx) => report(await runOnceDry(ctx.client, specs)))
      .catch(async (err: unknown) => {
        if (!(err instanceof CliError && err.exitCode === Exit.Unreachable)) throw err;
        return report(await runOnceDry(undefined, specs), err.message);
      });
  },
});

function runOnceTable(rows: RunOnceRow[]): TerminalText {
  return table(
    ['FOLLOWER', 'BRANCH', 'HEAD', 'DECISION', 'CODE', 'MESSAGE'],
    rows.map((r) => [r.follower, r.branch, shortSha(r.head), r.decision, r.code, r.message]),
  );
}
