// git's ref-name rules (git-check-ref-format) plus a ban on shell metacharacters, for branch
// names taken from YAML: a branch that passes cannot read as an option or carry shell syntax.

/** Returns why `name` is not a valid branch name, or undefined when it is. */
export function branchNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.startsWith('-')) return 'starts with "-" (it would read as an option)';
  if (name === '@') return 'is "@"';
  if (/[\x00-\x20\x7f]/.test(name)) return 'contains a space or control character';
  const bad = name.match(/[~^:?*[\\]/);
  if (bad) return `contains "${bad[0]}"`;
  // Stricter than git: adapters may hand {branch} to a shell of their own.
  const meta = name.match(/[;&|$`'"<>()!]/);
  if (meta) return `contains the shell metacharacter "${meta[0]}"`;
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.includes('//')) return 'contains "//"';
  if (name.startsWith('/') || name.endsWith('/')) return 'starts or ends with "/"';
  if (name.endsWith('.')) return 'ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `has a component "${part}" starting with "."`;
    if (part.endsWith('.lock')) return `has a component "${part}" ending with ".lock"`;
  }
  return undefined;
}
