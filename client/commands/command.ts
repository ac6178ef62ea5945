// What a CLI command is: a name, its options, and a run that returns the exit code. Each command
// lives in its own module under client/commands/; the global options and the Temporal connection
// come from CliEnv, so no command reads the program's state or opens a connection its own way.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../config/duration.ts';
import { SHA_PATTERN } from '../../contract/format.ts';
import type { KubeTarget } from '../cluster.ts';
import type { Ctx } from '../context.ts';
import type { Registry } from '../../config/registry.ts';
import type { Format, Io } from '../output.ts';

/** What every command may use: the global options, already read, and ways to reach Temporal. */
export interface CliEnv {
  io: Io;
  /** The whole program (completion walks it). */
  program: Command;
  format: Format;
  kube: KubeTarget;
  /** -n/--namespace, checked. */
  namespace?: string;
  /** The registry, loaded and checked once per invocation. */
  readRegistry(): Registry;
  /**
   * Runs `body` with a connected context and closes it afterwards. What can be checked locally is
   * checked first: the registry, and the follower a command names.
   */
  withCtx<T>(body: (ctx: Ctx) => Promise<T>, follower?: string): Promise<T>;
  /** A progress line on stderr (dim on a terminal). */
  progress(line: string): void;
}

export interface CliCommand<Opts = Record<string, unknown>, Args extends unknown[] = []> {
  name: string;
  /** Description, arguments and options (a fresh `program.command(name)` is passed in). */
  configure(cmd: Command): Command;
  run(env: CliEnv, opts: Opts, ...args: Args): Promise<number>;
}

/** Typed once where the command is written; the program treats every command alike. */
export const defineCommand = <Opts, Args extends unknown[] = []>(c: CliCommand<Opts, Args>): CliCommand<Opts, Args> =>
  c;

/**
 * The cluster half of the CLI, loaded when a command first reaches for the cluster: the
 * Kubernetes client is most of the CLI's code, and `--version`, `--help` and Temporal-only
 * commands never pay for it.
 */
export const loadCluster = () => import('../cluster.ts');

/** A duration option, parsed as it is read: a bad value is a usage error (exit 2) that says what to write. */
export function durationOption(flags: string, description: string, fallback: string): Option {
  return new Option(flags, description).default(parseDuration(fallback), fallback).argParser((value) => {
    try {
      return parseDuration(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

/** A positive whole number option (`--limit`, `--tail`). */
export function countOption(flags: string, description: string, fallback?: number): Option {
  const option = new Option(flags, description).argParser((value) => {
    if (!/^[1-9][0-9]{0,8}$/.test(value))
      throw new InvalidArgumentError(`expected a positive whole number such as 20, got ${JSON.stringify(value)}`);
    return Number(value);
  });
  return fallback === undefined ? option : option.default(fallback);
}

const SHA_PREFIX = /^[0-9a-f]{4,64}$/;

/**
 * A commit option (`--sha`), checked as it is read and lower-cased as git prints it: `whole` wants
 * the full sha (a manual trigger compares it with the mirror's head), otherwise a prefix of at
 * least four digits (as git abbreviates) is enough.
 */
export function shaOption(flags: string, description: string, { whole = false } = {}): Option {
  return new Option(flags, description).argParser((value) => {
    const sha = value.toLowerCase();
    if (!(whole ? SHA_PATTERN : SHA_PREFIX).test(sha))
      throw new InvalidArgumentError(
        whole
          ? 'expected the whole sha of the head: 40 hex digits (64 for SHA-256), as `git rev-parse <branch>` prints'
          : 'expected a sha or its first digits: at least 4 hex digits, such as 3f2a9c1e5b07',
      );
    return sha;
  });
}
