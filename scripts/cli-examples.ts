// `npm run docs:cli`: regenerates the examples in docs/cli.md from a live run against the embedded
// default (start it first with `npm start`; this pushes demo commits to its mirror). An example
// is a `<!-- example:NAME -->` line before a fenced block; the block becomes the commands below,
// run in-process as the bin runs them, each with what it printed (stdout and stderr, in order).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../client/cli.ts';
import { DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { shortSha } from '../contract/format.ts';
import { pushCommit } from './git-mirror.ts';

export const CLI_DOC = fileURLToPath(new URL('../docs/cli.md', import.meta.url));
/** `<!-- example:NAME -->`, then a fenced text block: the example's commands and output. */
export const EXAMPLE = /<!-- example:([a-z-]+) -->\n```text\n([\s\S]*?)\n```/g;

interface Run {
  args: string[];
  code: number;
  printed: string[];
  /** Show the exit code after the output (`; echo $?`). */
  echoCode?: boolean;
}

async function run(args: string[], echoCode = false): Promise<Run> {
  const printed: string[] = [];
  const code = await main(args, { out: (t) => printed.push(t.text), err: (t) => printed.push(t.text), color: false });
  return { args, code, printed, echoCode };
}

/** An argument as a POSIX shell reads it back: bare when it can be, else in single quotes. */
const quote = (arg: string): string => (/^[\w./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** The words of a command line as `quote` writes them (single quotes, and backslash outside them). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\') word = (word ?? '') + line[++i];
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  return word === undefined ? words : [...words, word];
}

const shown = (r: Run): string[] => [
  `$ branch-follower ${r.args.map(quote).join(' ')}${r.echoCode ? '; echo $?' : ''}`,
  ...r.printed.flatMap((p) => p.split('\n')),
  ...(r.echoCode ? [String(r.code)] : []),
];

/** Fails loudly when a command did not end as the example needs it to. */
function expectCode(r: Run, code: number): Run {
  if (r.code !== code)
    throw new Error(`branch-follower ${r.args.join(' ')} exited ${r.code}, not ${code}:\n${r.printed.join('\n')}`);
  return r;
}

async function examples(): Promise<Map<string, Run[]>> {
  const registry = loadRegistry(DEFAULT_REGISTRY);
  const embedded = registry.controller.embedded;
  if (!embedded)
    throw new Error(`${DEFAULT_REGISTRY} has no controller.embedded: the examples need the embedded default`);
  const mirrorRoot = path.resolve(registry.dir, embedded.mirror.root);
  const [hwlab, agentrun] = ['hwlab-jd01-v03', 'agentrun-jd01-v02'];
  const out = new Map<string, Run[]>();
  const add = (name: string, ...runs: Run[]) => out.set(name, [...(out.get(name) ?? []), ...runs]);
  const repoOf = (id: string) => {
    const spec = registry.followers.find((f) => f.spec.id === id)!.spec;
    return {
      repo: new URL(spec.source.mirror).pathname.replace(/^\//, '').replace(/\.git$/, ''),
      branch: spec.source.branch,
    };
  };

  const status = await run(['status']);
  if (status.code !== 0) {
    throw new Error(
      `the embedded default does not answer (start it with \`npm start\`):\n${status.printed.join('\n')}`,
    );
  }
  add('status', status, expectCode(await run(['status', '--follower', hwlab, '-o', 'wide']), 0));
  add('plan', expectCode(await run(['plan']), 0));

  // A push the followers have not read yet: the dry run decides it, writes nothing.
  const a = repoOf(agentrun);
  const first = pushCommit(mirrorRoot, a.repo, a.branch, 'docs example: first change');
  add('run-once-dry', await run(['run-once', '--all', '--dry-run']));
  add('run-once', await run(['run-once', '--follower', agentrun]));
  // The branch moves again while the first change closes out: it is superseded.
  const second = pushCommit(mirrorRoot, a.repo, a.branch, 'docs example: second change');
  await run(['run-once', '--follower', agentrun]);
  add(
    'wait',
    expectCode(await run(['wait', '--follower', agentrun, '--sha', shortSha(first), '--timeout', '1m'], true), 6),
  );
  expectCode(await run(['wait', '--follower', agentrun, '--sha', shortSha(second), '--timeout', '2m']), 0);
  add('events', expectCode(await run(['events', '--follower', agentrun, '--limit', '8']), 0));
  add('history', expectCode(await run(['history', '--follower', agentrun]), 0));
  add('explain', expectCode(await run(['explain', '--follower', agentrun, '--sha', shortSha(first)]), 0));
  add('logs', expectCode(await run(['logs', '--follower', agentrun]), 0));

  add(
    'trigger',
    expectCode(await run(['trigger', '--follower', hwlab, '--reason', 'redeploy after node repair', '--wait']), 0),
  );
  add('trigger', expectCode(await run(['pause', '--follower', hwlab, '--reason', 'change freeze']), 0));
  add('trigger', expectCode(await run(['trigger', '--follower', hwlab, '--reason', 'hotfix'], true), 1));
  add('trigger', expectCode(await run(['resume', '--follower', hwlab]), 0));
  return out;
}

/** The document with each example's block replaced; every marker must have a run, and every run a marker. */
export function withExamples(doc: string, runs: Map<string, Run[]>): string {
  const seen = new Set<string>();
  const next = doc.replace(EXAMPLE, (_block, name: string) => {
    const r = runs.get(name);
    if (!r) throw new Error(`docs/cli.md has an example:${name} marker this script does not produce`);
    seen.add(name);
    return `<!-- example:${name} -->\n\`\`\`text\n${r.flatMap((x, i) => [...(i ? [''] : []), ...shown(x)]).join('\n')}\n\`\`\``;
  });
  const missing = [...runs.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw new Error(`docs/cli.md lacks the example markers: ${missing.join(', ')}`);
  return next;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runs = await examples();
  writeFileSync(CLI_DOC, withExamples(readFileSync(CLI_DOC, 'utf8'), runs));
  console.log(`wrote ${runs.size} examples into ${CLI_DOC}`);
}
