// `render`: the Kubernetes objects apply would install, as YAML or as a kustomize base.
import { objectYaml, writeKustomizeBase } from '../../deploy/kustomize.ts';
import { renderObjects } from '../../deploy/render.ts';
import { Exit } from '../output.ts';
import { defineCommand } from './command.ts';
import { TerminalText, tty } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ out?: string }>({
  name: 'render',
  configure: (cmd) =>
    cmd
      .description('print the Kubernetes objects apply would install (YAML), or write them as a kustomize base')
      .option('--out <dir>', 'write one file per kind and a kustomization.yaml into this directory'),
  async run(env, opts) {
    const registry = env.readRegistry();
    const objects = renderObjects(registry);
    // The objects are rendered from the registry, the author's own text, as YAML (its escapes keep values exact).
    if (!opts.out) env.io.out(TerminalText.ours(objects.map((o) => objectYaml(o).trimEnd()).join('\n---\n')));
    else env.io.out(tty`wrote ${writeKustomizeBase(registry, objects, opts.out).join(', ')} to ${opts.out}`);
    return Exit.Ok;
  },
});
