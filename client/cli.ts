// branch-follower: the operator CLI. One entry point to plan, apply, watch, trigger and explain
// followers. Tables by default; full data with -o json|yaml (or --json). Exit codes: docs/cli.md.
// Each command is a module under client/commands/; this file reads the global options, hands each
// command its environment and turns what is thrown into a message, a hint and an exit code.
import { Command, CommanderError, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { DEFAULT_REGISTRY, type Registry } from '../config/registry.ts';
import { TEMPORAL_NAME } from '../config/schema.ts';
import { RenderError } from '../deploy/render.ts';
import { COMMANDS } from './commands/index.ts';
import type { CliCommand, CliEnv } from './commands/command.ts';
import { connect, findSpec, namespaceMissing, readRegistry } from './context.ts';
import { CliError, dim, Exit, processIo, type Format, type Io } from './output.ts';
import { TerminalText, tty, ttyLines } from '../contract/untrusted/terminal.ts';

interface Globals {
  registry: string;
  output: Format;
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** What a command is run with once commander has parsed it: its options and declared arguments. */
export type Dispatch = (
  command: CliCommand<unknown, unknown[]>,
  program: Command,
  opts: unknown,
  args: unknown[],
) => Promise<void>;

/** The program: the global options and every command, each action handed to `dispatch`. */
export function defineProgram(io: Io, dispatch: Dispatch): Command {
  const program = new Command('branch-follower')
    .description('Follow git branches on a mirror and deploy each new commit once, through Temporal.')
    .option('--registry <file>', 'the registry YAML', process.env.BRANCH_FOLLOWER_REGISTRY ?? DEFAULT_REGISTRY)
    .addOption(
      new Option('-o, --output <format>', 'output format (wide: more columns)')
        .choices(['table', 'wide', 'json', 'yaml'])
        .default('table'),
    )
    .addOption(new Option('--json', 'same as -o json').conflicts('output'))
    .option('--kubeconfig <file>', 'the kubeconfig for cluster commands (default: $KUBECONFIG, then ~/.kube/config)')
    .option(
      '--context <name>',
      'the kubeconfig context for cluster commands (default: controller.kubernetes.context, else the current one)',
    )
    .option('-n, --namespace <namespace>', 'the Temporal namespace (overrides the registry and the environment)')
    .version(packageJson.version)
    .exitOverride()
    .configureOutput({
      // commander's help is ours; its errors quote the arguments given, which are shown escaped.
      writeOut: (s) => io.out(TerminalText.ours(s.trimEnd())),
      writeErr: (s) =>
        io.err(
          ttyLines(
            s
              .trimEnd()
              .split('\n')
              .map((line) => tty`${line}`),
          ),
        ),
    })
    .showSuggestionAfterError()
    .showHelpAfterError('hint: branch-follower --help lists the commands and the global options');

  for (const command of COMMANDS) {
    const cmd = command.configure(program.command(command.name));
    cmd.showHelpAfterError(`hint: branch-follower ${command.name} --help lists its options`);
    cmd.action(async (...args: unknown[]) => {
      // commander passes the declared arguments, then the options, then the command itself.
      await dispatch(command, program, args.at(-2), args.slice(0, -2));
    });
  }
  return program;
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let exit: number = Exit.Ok;
  const program = defineProgram(io, async (command, program, opts, args) => {
    exit = await command.run(envOf(program, io), opts, ...args);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? Exit.Ok : Exit.Usage;
    if (err instanceof CliError || err instanceof RenderError) {
      io.err(errorLines(err.message, err instanceof CliError ? err.details : []));
      io.err(tty`hint: ${err.hint}`);
      return err instanceof CliError ? err.exitCode : Exit.Usage;
    }
    io.err(errorLines(err instanceof Error ? err.message : String(err)));
    return Exit.Failed;
  }
}

/**
 * An error: its message on one line after `error:` (a line break in a value it quotes is shown as
 * `\n`, so it cannot start a line that reads as the CLI's own), then its details a line each (an
 * invalid registry's `file:line:col: path: message`), every line escaped.
 */
const errorLines = (message: string, details: readonly string[] = []): TerminalText =>
  ttyLines([tty`error: ${message}`, ...details.map((line) => tty`${line}`)]);

/** Where the registry's path came from, for the error that says it is not there. */
function registryFrom(program: Command): string {
  if (program.getOptionValueSource('registry') === 'cli') return '--registry';
  return process.env.BRANCH_FOLLOWER_REGISTRY !== undefined
    ? 'BRANCH_FOLLOWER_REGISTRY'
    : `the default, ${DEFAULT_REGISTRY} in the current directory`;
}

/** The global options, read and checked once a command runs. */
function envOf(program: Command, io: Io): CliEnv {
  const globals = program.opts<Globals>();
  const namespace = globals.namespace;
  if (namespace !== undefined && !TEMPORAL_NAME.test(namespace)) {
    throw new CliError(
      `-n ${JSON.stringify(namespace)} is not a Temporal namespace name`,
      'use letters, digits, ".", "_" and "-"',
      Exit.Usage,
    );
  }
  let loaded: Registry | undefined;
  const env: CliEnv = {
    io,
    program,
    format: globals.json ? 'json' : globals.output,
    kube: { kubeconfig: globals.kubeconfig, context: globals.context },
    namespace,
    readRegistry: () => (loaded ??= readRegistry(globals.registry, registryFrom(program))),
    async withCtx(body, follower) {
      const registry = env.readRegistry();
      if (follower !== undefined) findSpec(registry, follower);
      const ctx = await connect(registry, namespace);
      try {
        return await body(ctx);
      } catch (err) {
        throw (await namespaceMissing(err, ctx)) ?? err;
      } finally {
        await ctx.close();
      }
    },
    progress: (line) => io.err(dim(io, line)),
  };
  return env;
}
