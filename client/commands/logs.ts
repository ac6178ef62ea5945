// `logs`: the in-flight or last job's logs — the adapter's logs command, or the pods of a built-in
// adapter's run. The job's output is relayed line by line with its controls shown escaped (a job
// runs code from the followed branch: its output is untrusted); `--raw` passes it through as
// `kubectl logs` does, colours and all, for a terminal the operator trusts with it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adapterLogs } from '../../activities/adapter.ts';
import type { CommandAdapterSpec, FollowerSpec } from '../../contract/spec.ts';
import { inFlightOf } from '../../contract/state.ts';
import { findSpec, requireState } from '../context.ts';
import { CliError, dim, Exit, type Io } from '../output.ts';
import { countOption, defineCommand, loadCluster } from './command.ts';
import { relayedOutput, TerminalText, tty } from '../../contract/untrusted/terminal.ts';

export default defineCommand<{ follower: string; tail: number; raw?: boolean }>({
  name: 'logs',
  configure: (cmd) =>
    cmd
      .description(
        "the in-flight or last job's logs: the adapter's logs command, or the pods of a built-in adapter's run",
      )
      .requiredOption('--follower <id>', 'the follower')
      .addOption(countOption('--tail <n>', 'lines per container (built-in adapters)', 200))
      .option('--raw', "write the job's output as it is, terminal controls included (default: shown escaped)"),
  run(env, opts) {
    // Checked before connecting: an adapter without a logs command has nothing to show.
    const spec = findSpec(env.readRegistry(), opts.follower);
    const adapter = spec.adapter;
    if (adapter.kind === 'command' && !adapter.logs)
      throw new CliError(
        `adapter ${adapter.id} declares no logs command`,
        `add logs: { argv: [...] } under adapters.${adapter.id}`,
        Exit.Usage,
      );
    return env.withCtx(async (ctx) => {
      const s = await requireState(ctx, opts.follower);
      const last = [...s.shas].reverse().find((r) => r.jobId);
      const inFlight = inFlightOf(s.work);
      const jobId = (inFlight?.stage === 'closingOut' ? inFlight.jobId : undefined) ?? last?.jobId;
      if (!jobId) throw new CliError(`${opts.follower} has no job yet`, 'nothing has been triggered', Exit.NotFound);
      const relay = opts.raw ? TerminalText.ours : relayedOutput;
      if (adapter.kind === 'command')
        return commandLogs(env.io, relay, { ...spec, adapter }, ctx.registry.dir, inFlight?.sha ?? last?.sha, jobId);
      const { operatorKubeAccess, runLogs } = await loadCluster();
      const logs = await runLogs(operatorKubeAccess(ctx.registry, env.kube), adapter, jobId, opts.tail);
      const { io } = env;
      if (!logs.length) io.out(dim(io, tty`# no pods for ${jobId} in ${adapter.namespace} (yet)`));
      for (const l of logs) {
        io.out(dim(io, tty`# ${l.header}`));
        if (l.error) io.err(tty`logs unavailable: ${l.error}`);
        else io.out(relay(l.text.trimEnd()));
      }
      return logs.some((l) => l.error) ? Exit.Failed : Exit.Ok;
    });
  },
});

/** The adapter's own logs command, run here in a scratch directory as the worker would run it. */
async function commandLogs(
  io: Io,
  relay: (output: string) => TerminalText,
  spec: FollowerSpec & { adapter: CommandAdapterSpec },
  registryDir: string,
  sha: string | undefined,
  jobId: string,
): Promise<number> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'branch-follower-logs-'));
  try {
    const { adapter } = spec;
    const res = await adapterLogs(
      {
        follower: spec.id,
        branch: spec.source.branch,
        configRef: spec.target.configRef,
        params: spec.target.params,
        adapter,
      },
      sha,
      jobId,
      { registryDir, workDir, env: process.env },
    );
    io.out(dim(io, tty`# ${adapter.id} logs for job ${jobId}`));
    io.out(relay(res.stdout.trimEnd()));
    if (res.stderr.trim()) io.err(relay(res.stderr.trimEnd()));
    return res.exitCode === 0 ? Exit.Ok : Exit.Failed;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
