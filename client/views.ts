// Tables and explanations built from a follower's state. Pure: no I/O, so they are unit-tested
// against hand-made states and shown verbatim in the README. Table cells are values, escaped by
// `table`; the explanation's sentences are escaped line by line where they are printed.
import { formatDuration, shortSha } from '../contract/format.ts';
import type { FollowerSpec } from '../contract/spec.ts';
import { inFlightOf, type FollowerView, type ShaRecord, type Transition } from '../contract/state.ts';
import type { TerminalText } from '../contract/untrusted/terminal.ts';
import { phase, table, when, type Io } from './output.ts';

export interface StatusRow {
  spec: FollowerSpec;
  enabled: boolean;
  state?: FollowerView;
}

/** Ages are computed here, from wall-clock `now`: the workflow's clock stops between its steps. */
/** `wide` adds each follower's code, next mirror read, mirror and message. */
export function statusTable(io: Io, rows: StatusRow[], now: number, wide = false): TerminalText {
  const head = [
    'FOLLOWER',
    'ADAPTER',
    'BRANCH',
    'OBSERVED',
    'TARGET',
    'LAST TRIGGERED',
    'LAST SUCCEEDED',
    'PHASE',
    'IN-FLIGHT',
    'BUDGET',
    'AGE',
  ];
  return table(
    wide ? [...head, 'CODE', 'NEXT READ', 'MIRROR', 'MESSAGE'] : head,
    rows.map(({ spec, enabled, state: s }) => {
      if (!s) {
        const row = [
          spec.id,
          spec.adapter.id,
          spec.source.branch,
          '-',
          '-',
          '-',
          '-',
          enabled ? 'NotRunning' : 'Disabled',
          '-',
          budget(spec),
          '-',
        ];
        return wide ? [...row, '-', '-', spec.source.mirror, '-'] : row;
      }
      const f = inFlightOf(s.work);
      const row = [
        spec.id,
        s.adapter,
        s.branch,
        shortSha(s.observedSha),
        shortSha(s.targetSha),
        shortSha(s.lastTriggeredSha),
        shortSha(s.lastSucceededSha),
        phase(io, s.phase),
        f ? `${shortSha(f.sha)} #${f.attempt}${f.stage === 'closingOut' && f.jobId ? ` ${f.jobId}` : ''}` : '-',
        budget(spec, f ? now - f.startedAt : undefined),
        roundedDuration(now - s.phaseSince),
      ];
      const next = s.nextObserveAt > now ? `in ${roundedDuration(s.nextObserveAt - now)}` : 'due';
      return wide ? [...row, s.code, next, s.mirror, s.message] : row;
    }),
  );
}

const roundedDuration = (ms: number): string => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);

function budget(spec: FollowerSpec, usedMs?: number): string {
  const total = formatDuration(spec.closeout.budgetMs);
  const used = usedMs !== undefined ? roundedDuration(usedMs) : '-';
  return `${used}/${total} ${spec.closeout.budgetSource.path.startsWith('defaults') ? '(defaults)' : '(follower)'}`;
}

export function eventsTable(events: Transition[]): TerminalText {
  return table(
    ['TIME', 'FROM', 'TO', 'SHA', 'CODE', 'MESSAGE'],
    events.map((e) => [when(e.at), e.from, e.to, shortSha(e.sha), e.code, e.message]),
  );
}

const stageName = {
  pending: 'Pending',
  triggering: 'Triggering',
  closingOut: 'ClosingOut',
  backoff: 'RetryPending',
} as const;

export function historyTable(s: FollowerView): TerminalText {
  return table(
    ['SHA', 'FIRST SEEN', 'TRIGGERED', 'OUTCOME', 'RUNS', 'SEEN→SUCCEEDED', 'SUPERSEDED BY'],
    [...s.shas]
      .reverse()
      .map((r) => [
        shortSha(r.sha),
        when(r.firstSeen),
        when(r.triggeredAt),
        s.work?.sha === r.sha
          ? stageName[s.work.stage]
          : (r.result?.outcome ?? (r.sha === s.observedSha ? 'Observed' : '-')),
        String(r.runs),
        r.result?.outcome === 'Succeeded' ? formatDuration(r.result.at - r.firstSeen) : '-',
        shortSha(r.result?.outcome === 'Superseded' ? r.result.by : undefined),
      ]),
  );
}

/** Why `sha` did or did not deploy, in sentences, from the follower's own record. */
export function explain(s: FollowerView, sha: string): string[] {
  const match = s.shas.filter((r) => r.sha.startsWith(sha));
  if (match.length > 1)
    return [`${sha} is ambiguous: it matches ${match.map((r) => shortSha(r.sha)).join(', ')}; give more digits`];
  const r: ShaRecord | undefined = match[0];
  const lines: string[] = [];
  if (!r) {
    lines.push(`${sha} was never the head of ${s.branch} when ${s.id} looked at the mirror (${s.mirror}).`);
    lines.push(
      s.observedSha
        ? `The mirror's head is ${shortSha(s.observedSha)} (observed ${when(s.observedAt)}).`
        : 'The follower has not read the mirror yet.',
    );
    lines.push(
      'A commit that was pushed and overtaken between two observations is never seen, and never deployed on its own.',
    );
    return lines;
  }
  const full = r.sha;
  lines.push(`${shortSha(full)}: first seen as the head of ${s.branch} at ${when(r.firstSeen)}.`);
  const w = s.work?.sha === full ? s.work : undefined;
  switch (w?.stage) {
    case 'triggering':
    case 'closingOut':
      lines.push(
        `In flight: attempt ${w.attempt}, run ${w.run}${w.stage === 'closingOut' && w.jobId ? `, job ${w.jobId}` : ''}, triggered ${when(w.startedAt)}; ${s.phase} ${s.code}: ${s.message}`,
      );
      lines.push(
        `Close-out budget: ${formatDuration(s.budget.usedMs ?? 0)} of ${formatDuration(s.budget.totalMs)} used (${s.budget.source.path}).`,
      );
      return lines;
    case 'backoff':
      lines.push(
        `Failed on attempt ${w.attempt - 1} (${w.failure.code}: ${w.failure.message}); attempt ${w.attempt} is due at ${when(w.notBefore)}${s.paused ? ', held while paused' : ''}.`,
      );
      return lines;
    case 'pending':
      lines.push(`About to be triggered (${s.phase} ${s.code}: ${s.message}).`);
      return lines;
  }
  const done = r.result;
  switch (done?.outcome) {
    case 'Succeeded':
      lines.push(`Deployed: Succeeded at ${when(done.at)}, run ${r.runs} (${done.message}).`);
      if (done.code === 'ClosedOutOverBudget')
        lines.push(`The close-out missed its budget by ${formatDuration(done.overrunMs)}.`);
      if (s.deployed?.sha !== full)
        lines.push(
          `The runtime is not known to be on it any more: ${s.deployed ? `${shortSha(s.deployed.sha)} was deployed since` : 'something was triggered since'}.`,
        );
      break;
    case 'Superseded':
      lines.push(
        `Not deployed: superseded by ${shortSha(done.by)} at ${when(done.at)} — the branch moved on before it closed out.`,
      );
      lines.push('Should it become the head again, it is triggered again as a new run.');
      break;
    case 'Failed':
      lines.push(`Not deployed: Failed at ${when(done.at)}, run ${r.runs} (${done.code}: ${done.message}).`);
      lines.push('It stays Failed for this sha; a new sha, or `branch-follower trigger`, tries again.');
      break;
    default:
      if (r.runs > 0) lines.push(`Triggered in ${r.runs} run(s); no outcome recorded for the last one.`);
      else if (s.paused)
        lines.push(`Not triggered: the follower is paused since ${when(s.paused.since)} (${s.paused.reason}).`);
      else lines.push(`Not triggered yet (${s.phase} ${s.code}: ${s.message}).`);
  }
  return lines;
}
