// A stand-in control plane for the embedded default and the tests. It behaves like the real
// lane CLIs the adapters wrap: `trigger` records a deploy job for a sha, `status` prints one
// compact JSON object (Running, then Succeeded or Failed), `cancel` and `logs` act on a job.
// Its lane behaviour comes from the owning config passed as --config (the follower's configRef),
// including faults to inject (`faults: { status: …, trigger: … }`: hang, exit, badjson, flood,
// othersha) and `killWorkerOnTriggers: [n, …]` (the n-th accepted trigger SIGKILLs the worker that
// runs this command, before it can report: the runtime has the job, the follower does not know;
// each kill is appended to <stateDir>/kills.log — time, job, and the pid, or `none` when the
// command outlived its worker and there was nobody left to kill).
// Every trigger is appended to <stateDir>/triggers.log — time, lane, sha, job, $BF_WORKER_NAME
// when the adapter passes it, and the trigger key (--trigger-id) — the witness the tests count.
// `status` echoes the key of the job it describes, as the adapter contract asks of runtimes that can.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';

export function run(command, argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' },
      lane: { type: 'string' },
      sentinel: { type: 'string' },
      config: { type: 'string' },
      sha: { type: 'string' },
      job: { type: 'string' },
      'trigger-id': { type: 'string' },
    },
    strict: true,
  });
  if (!values.config) fail('--config <owning config> is required');
  const laneKey = [values.node, values.lane, values.sentinel].filter(Boolean).join('/');
  const owning = YAML.parse(readFileSync(values.config, 'utf8'));
  const lane = owning.lanes?.[laneKey];
  if (!lane) fail(`lane ${laneKey} is not declared in ${values.config}`);
  const stateDir = path.resolve(path.dirname(values.config), owning.controlPlane.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const stateFile = path.join(stateDir, `${laneKey.replaceAll('/', '_')}.json`);
  const state = readState(stateFile);
  injectFault(lane.faults?.[command]);

  switch (command) {
    case 'status':
      return print(status(lane, state));
    case 'trigger': {
      if (!/^[0-9a-f]{40}$/.test(values.sha ?? '')) fail('--sha <40-hex sha> is required');
      if (lane.triggerFails) return print({ message: `trigger refused: ${lane.triggerFails}`, retryable: false }, 3);
      const n = state.jobs.length;
      const outcomes = lane.outcomes ?? ['succeed'];
      const job = {
        jobId: `${laneKey.replaceAll('/', '-')}-${n + 1}`,
        sha: values.sha,
        ...(values['trigger-id'] ? { triggerId: values['trigger-id'] } : {}),
        startedAt: Date.now(),
        outcome: outcomes[Math.min(n, outcomes.length - 1)],
      };
      state.jobs.push(job);
      writeState(stateFile, state);
      appendFileSync(
        path.join(stateDir, 'triggers.log'),
        `${new Date().toISOString()} ${laneKey} ${job.sha} ${job.jobId} ${process.env.BF_WORKER_NAME ?? '-'} ${job.triggerId ?? '-'}\n`,
      );
      if ((lane.killWorkerOnTriggers ?? []).includes(state.jobs.length))
        killWorker(path.join(stateDir, 'kills.log'), job.jobId);
      return print({ jobId: job.jobId, message: `deploying ${job.sha.slice(0, 12)}` });
    }
    case 'cancel': {
      const job = state.jobs.find((j) => j.jobId === values.job);
      if (!job) fail(`no job ${values.job}`);
      job.cancelled = Date.now();
      writeState(stateFile, state);
      return print({ jobId: job.jobId, message: 'cancelled' });
    }
    case 'logs': {
      const job = state.jobs.find((j) => j.jobId === values.job) ?? state.jobs.at(-1);
      if (!job) return console.log(`no jobs on ${laneKey} yet`);
      console.log(`${new Date(job.startedAt).toISOString()} job ${job.jobId}: deploying ${job.sha}`);
      const s = status(lane, { jobs: [job] });
      console.log(`job ${job.jobId}: ${s.phase}${s.message ? ` (${s.message})` : ''}`);
      return;
    }
    default:
      fail(`unknown command ${command}`);
  }
}

function injectFault(fault) {
  switch (fault) {
    case undefined:
      return;
    case 'hang': // with a child of its own, so only a process-group kill ends both
      spawnSync('sleep', ['3601']);
      return;
    case 'exit':
      fail('injected failure');
      return;
    case 'badjson':
      process.stdout.write('this is not json\n');
      process.exit(0);
      return;
    case 'flood': {
      const chunk = Buffer.alloc(1 << 20, 'x');
      for (let i = 0; i < 100; i++) writeSync(1, chunk); // 100 MB
      process.exit(0);
      return;
    }
    case 'othersha':
      print({ phase: 'Succeeded', sha: 'f'.repeat(40), message: 'still on the previous release' });
      return;
    default:
      fail(`unknown fault ${fault}`);
  }
}

/** The worker's entry: compiled (dist/worker.mjs, as the image and the tests run it) or its source. */
const WORKER_ENTRIES = ['dist/worker.mjs', 'worker/main.ts'];

/** SIGKILLs the worker this command runs under (the nearest ancestor running a worker entry). */
function killWorker(log, jobId) {
  for (let pid = process.ppid; pid > 1;) {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.some((arg) => WORKER_ENTRIES.some((entry) => arg.endsWith(entry)))) {
      appendFileSync(log, `${new Date().toISOString()} ${jobId} ${pid}\n`);
      process.kill(pid, 'SIGKILL');
      return;
    }
    pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  }
  appendFileSync(log, `${new Date().toISOString()} ${jobId} none\n`);
  fail('killWorkerOnTriggers: no worker process among my ancestors (its worker died first)');
}

function status(lane, state) {
  const job = state.jobs.at(-1);
  if (!job) return { phase: 'Idle', sha: '', message: 'no deploy yet' };
  const base = { sha: job.sha, jobId: job.jobId, ...(job.triggerId ? { triggerId: job.triggerId } : {}) };
  if (job.cancelled) return { ...base, phase: 'Failed', message: 'cancelled', retryable: false };
  const elapsed = Date.now() - job.startedAt;
  if (elapsed < (lane.deployMs ?? 0) || job.outcome === 'never') {
    return { ...base, phase: 'Running', message: `rolling out (${Math.round(elapsed / 1000)}s)` };
  }
  switch (job.outcome) {
    case 'fail-retryable':
      return { ...base, phase: 'Failed', message: 'rollout failed: image pull backoff', retryable: true };
    case 'fail-terminal':
      return {
        ...base,
        phase: 'Failed',
        message: lane.failMessage ?? 'rollout failed: invalid manifest',
        retryable: false,
      };
    default:
      return { ...base, phase: 'Succeeded', message: 'rolled out' };
  }
}

function readState(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { jobs: [] };
  }
}

function writeState(file, state) {
  writeFileSync(`${file}.tmp`, JSON.stringify(state));
  renameSync(`${file}.tmp`, file);
}

function print(obj, code = 0) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exit(code);
}

function fail(message) {
  process.stderr.write(`control-plane: ${message}\n`);
  process.exit(2);
}
