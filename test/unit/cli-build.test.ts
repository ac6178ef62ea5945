// The `branch-follower` bin runs the compiled CLI and compiles it again, once, when a file it was
// built from changed (a pull, an edit). Run against a copy of the sources (node_modules linked), so
// the edits below touch nothing of this checkout; what the bin prints is the witness.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
const SOURCES = ['activities', 'client', 'config', 'contract', 'core', 'deploy', 'scripts', 'worker', 'workflows'];
const COMPILING = 'sources changed since the last build; compiling the CLI (once)';

/** The bin's stdout, and whether it said on stderr that it compiled. */
function bin(copy: string, ...args: string[]): { out: string; compiled: boolean } {
  const r = spawnSync(process.execPath, [path.join(copy, 'client/branch-follower.mjs'), ...args], {
    cwd: copy,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`branch-follower ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { out: r.stdout, compiled: r.stderr.includes(COMPILING) };
}

/** Replaces `from` (which must be there) with `to` in a file. */
function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('the branch-follower bin', () => {
  it('compiles the CLI when there is no build, reuses it, and compiles again once a source or package.json changed', () => {
    const copy = tempDir('bf-cli-build-');
    for (const f of FILES) cpSync(path.join(ROOT, f), path.join(copy, f));
    for (const d of SOURCES) cpSync(path.join(ROOT, d), path.join(copy, d), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');

    const { version } = JSON.parse(readFileSync(path.join(copy, 'package.json'), 'utf8')) as { version: string };
    expect(bin(copy, '--version')).toEqual({ out: `${version}\n`, compiled: true });
    expect(bin(copy, '--version')).toEqual({ out: `${version}\n`, compiled: false });

    edit(path.join(copy, 'package.json'), `"version": "${version}"`, '"version": "9.9.9"');
    expect(bin(copy, '--version')).toEqual({ out: '9.9.9\n', compiled: true });

    edit(path.join(copy, 'client/cli.ts'), "'Follow git branches", "'Edited: follow git branches");
    const help = bin(copy, '--help');
    expect(help.compiled).toBe(true);
    expect(help.out).toContain('Edited: follow git branches');
    expect(bin(copy, '--help')).toEqual({ out: help.out, compiled: false });
  });
});
