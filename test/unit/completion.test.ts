// Shell completion, generated from the CLI's command tree and run by a real bash: what a user
// gets after `source <(branch-follower completion bash)` and a Tab.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Exit } from '../../client/output.ts';
import { runCli } from '../support/cli.ts';

const cli = (...args: string[]) => runCli(args);

/** What bash offers for the words typed so far (the last one being completed). */
function bashCompletes(script: string, words: string[]): string[] {
  const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _branch_follower; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('completion', () => {
  it('bash completes commands, their options and the choices of an option or argument, skipping option values', async () => {
    const { code, out } = await cli('completion', 'bash');
    expect(code).toBe(Exit.Ok);
    expect(bashCompletes(out, ['branch-follower', 'st'])).toEqual(['status']);
    expect(bashCompletes(out, ['branch-follower', 'status', '--fo'])).toEqual(['--follower']);
    expect(bashCompletes(out, ['branch-follower', '--registry', 'st.yaml', 'run-once', '--dr'])).toEqual(['--dry-run']);
    expect(bashCompletes(out, ['branch-follower', 'status', '-o', 'w'])).toEqual(['wide']);
    expect(bashCompletes(out, ['branch-follower', 'completion', 'f'])).toEqual(['fish']);
    expect(bashCompletes(out, ['branch-follower', ''])).toEqual(
      expect.arrayContaining([
        'plan',
        'apply',
        'status',
        'run-once',
        'trigger',
        'pause',
        'resume',
        'wait',
        'completion',
      ]),
    );
  });

  it('zsh loads the same function through bashcompinit; fish gets one line per command and option', async () => {
    const zsh = (await cli('completion', 'zsh')).out;
    expect(zsh).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh).toContain('complete -F _branch_follower branch-follower');
    const fish = (await cli('completion', 'fish')).out;
    expect(fish).toContain(
      "complete -c branch-follower -n __fish_use_subcommand -a status -d 'one row per follower, then the controller and the next drill-down commands'",
    );
    expect(fish).toMatch(/complete -c branch-follower -n '__fish_seen_subcommand_from status' -l follower -r -d /);
    expect(fish).toContain("complete -c branch-follower -s o -l output -r -a 'table wide json yaml'");
  });

  it('an unknown shell is a usage error naming the ones there are', async () => {
    const res = await cli('completion', 'tcsh');
    expect(res.code).toBe(Exit.Usage);
    expect(res.err).toContain('Allowed choices are bash, zsh, fish');
  });
});
