// `completion`: the shell completion script, generated from the program's own commands.
import { Argument } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import { Exit } from '../output.ts';
import { defineCommand } from './command.ts';

export default defineCommand<Record<string, never>, [Shell]>({
  name: 'completion',
  configure: (cmd) =>
    cmd
      .description(
        'print shell completion: source <(branch-follower completion bash), or zsh; fish: … completion fish | source',
      )
      .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS)),
  async run(env, _opts, shell) {
    env.io.out(completionScript(env.program, shell).trimEnd());
    return Exit.Ok;
  },
});
