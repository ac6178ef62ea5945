// `completion`: the shell completion script, generated from the program's own commands.
import { Argument } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import { Exit } from '../output.ts';
import { TerminalText } from '../../contract/untrusted/terminal.ts';
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
    // Generated from our own commands: written as it is (it holds the shell's own escapes).
    env.io.out(TerminalText.ours(completionScript(env.program, shell).trimEnd()));
    return Exit.Ok;
  },
});
