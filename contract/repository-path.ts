// Where a mirror keeps a repository, as a git host names it in its push webhooks (owner/name):
// the receiver routes pushes by it and `status` groups the missed-webhook ledger by it.

/** The mirror URL's path without a leading / or .git, lower-cased. */
export const repositoryPath = (mirror: string): string =>
  new URL(mirror).pathname
    .replace(/^\/+/, '')
    .replace(/\.git$/, '')
    .toLowerCase();
