// What a mirror URL may be: a git://, http(s)://, ssh:// or file:// URL that names a host and a
// repository, carries no credentials, reads as what it is (ASCII host, no lookalike letters in its
// path) and has no component git or ssh could take for an option. Credentials reach the worker
// another way: `source.auth` names the environment variables that hold them (docs/registry.md).
import { escapeForDisplay, mixedScriptProblem, nonAsciiHostProblem } from './text-safety.ts';

export const MIRROR_SCHEMES = ['git:', 'http:', 'https:', 'ssh:', 'file:'] as const;
/** An ssh login name (`ssh://git@host/…`): a user, not a secret. Anything else in the user part is refused. */
const SSH_LOGIN = /^[a-z_][a-z0-9_-]{0,31}$/;
const CREDENTIALS_HINT =
  'credentials never go in the registry: name the environment variables that hold them in source.auth (docs/registry.md, "Mirror credentials")';

/** The problems of a mirror URL, each saying what to write instead; empty when it is fine. */
export function mirrorProblems(value: string): string[] {
  if (/[\s\x00-\x1f\x7f]/.test(value))
    return [
      'the mirror URL contains whitespace or control characters: write it on one line, percent-encoding any space',
    ];
  // The host as written (URL parsing would turn a lookalike host into punycode silently).
  const written = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/:?#]*)/i.exec(value)?.[1] ?? '';
  const hostProblem = nonAsciiHostProblem(written);
  if (hostProblem) return [`${hostProblem.message}: ${hostProblem.hint}`];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [
      `${JSON.stringify(value)} is not a URL: write scheme://host/path, such as git://git-mirror.example.svc/org/app.git`,
    ];
  }
  const problems: string[] = [];
  if (!(MIRROR_SCHEMES as readonly string[]).includes(url.protocol))
    problems.push(`mirror scheme ${url.protocol} is not one of ${MIRROR_SCHEMES.join(' ')}`);
  if (url.password) problems.push(`the mirror URL carries a password: ${CREDENTIALS_HINT}`);
  else if (url.username && !(url.protocol === 'ssh:' && SSH_LOGIN.test(decodeURIComponent(url.username)))) {
    problems.push(
      `the mirror URL carries a user part that may be a credential: ${CREDENTIALS_HINT}${url.protocol === 'ssh:' ? ' (an ssh login name such as git@ is fine)' : ''}`,
    );
  }
  if (url.protocol !== 'file:' && !url.hostname)
    problems.push('the mirror URL names no host: write scheme://host/path');
  const components = [url.hostname, decodeURIComponent(url.username), ...decodeURIComponent(url.pathname).split('/')];
  const optionLike = components.find((c) => c.startsWith('-'));
  if (optionLike !== undefined)
    problems.push(
      `the mirror URL has a component that git or ssh could read as an option (${JSON.stringify(optionLike)}): no part of it may start with "-"`,
    );
  const repoPath = decodeURIComponent(url.pathname);
  const mixed = mixedScriptProblem(repoPath);
  if (mixed) problems.push(`the repository path ${escapeForDisplay(repoPath)} ${mixed}: write it in one script`);
  return problems;
}
