// `branch-follower completion bash|zsh|fish`: shell completion generated from the CLI's own
// command tree (commander), so a new command or option completes without touching this file.
// Completes commands, their options, and the values of options and arguments with a fixed set.
import type { Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Spec {
  /** Each command with its options and the fixed choices of its arguments. */
  commands: { name: string; description: string; options: readonly Option[]; values: string[] }[];
  globals: readonly Option[];
}

const specOf = (program: Command): Spec => ({
  commands: program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: c.options,
    values: c.registeredArguments.flatMap((a) => a.argChoices ?? []),
  })),
  globals: program.options,
});

const flags = (options: readonly Option[]): string[] => [
  ...new Set(options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f)))),
];
const takesValue = (o: Option): boolean => o.required || o.optional;
const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

function bash(spec: Spec): string {
  const valued = flags([...spec.globals, ...spec.commands.flatMap((c) => c.options)].filter(takesValue));
  const choices = [
    ...new Map(
      [...spec.globals, ...spec.commands.flatMap((c) => c.options)]
        .filter((o) => o.argChoices?.length)
        .map((o) => [flags([o]).join('|'), o]),
    ).values(),
  ];
  return [
    '# branch-follower completion for bash: source <(branch-follower completion bash)',
    '_branch_follower() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "${COMP_WORDS[i]}" in',
    `      ${valued.join('|')}) ((i++)) ;;`,
    '      -*) ;;',
    '      *) cmd="${COMP_WORDS[i]}"; break ;;',
    '    esac',
    '  done',
    '  case "$prev" in',
    ...choices.map(
      (o) =>
        `    ${flags([o]).join('|')}) COMPREPLY=($(compgen -W ${quote(o.argChoices!.join(' '))} -- "$cur")); return ;;`,
    ),
    '  esac',
    '  case "$cmd" in',
    ...spec.commands.map(
      (c) =>
        `    ${c.name}) COMPREPLY=($(compgen -W ${quote([...c.values, ...flags(c.options), ...flags(spec.globals)].join(' '))} -- "$cur")) ;;`,
    ),
    `    *) COMPREPLY=($(compgen -W ${quote([...spec.commands.map((c) => c.name), ...flags(spec.globals)].join(' '))} -- "$cur")) ;;`,
    '  esac',
    '}',
    'complete -F _branch_follower branch-follower',
    '',
  ].join('\n');
}

function zsh(spec: Spec): string {
  return [
    '# branch-follower completion for zsh: source <(branch-follower completion zsh)',
    'autoload -U +X bashcompinit && bashcompinit',
    bash(spec),
  ].join('\n');
}

function fish(spec: Spec): string {
  const option = (o: Option, condition?: string): string =>
    [
      'complete -c branch-follower',
      ...(condition ? ['-n', quote(condition)] : []),
      ...(o.short ? ['-s', o.short.replace(/^-/, '')] : []),
      ...(o.long ? ['-l', o.long.replace(/^--/, '')] : []),
      ...(takesValue(o) ? ['-r'] : []),
      ...(o.argChoices?.length ? ['-a', quote(o.argChoices.join(' '))] : []),
      '-d',
      quote(o.description),
    ].join(' ');
  return [
    '# branch-follower completion for fish: branch-follower completion fish | source',
    'complete -c branch-follower -f',
    ...spec.commands.map(
      (c) => `complete -c branch-follower -n __fish_use_subcommand -a ${c.name} -d ${quote(c.description)}`,
    ),
    ...spec.commands
      .filter((c) => c.values.length)
      .map(
        (c) =>
          `complete -c branch-follower -n ${quote(`__fish_seen_subcommand_from ${c.name}`)} -a ${quote(c.values.join(' '))}`,
      ),
    ...spec.globals.map((o) => option(o)),
    ...spec.commands.flatMap((c) => c.options.map((o) => option(o, `__fish_seen_subcommand_from ${c.name}`))),
    '',
  ].join('\n');
}

export function completionScript(program: Command, shell: Shell): string {
  const spec = specOf(program);
  return { bash, zsh, fish }[shell](spec);
}
