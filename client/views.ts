// Tables and explanations built from a follower's state. Pure: no I/O, so they are unit-tested
// against hand-made states and shown verbatim in the README.
import { formatDuration } from '../workflows/decide.ts';
import type { FollowerSpec, FollowerView, ShaRecord, Transition } from '../workflows/api.ts';
import { phase, shortSha, table, when, type Io } from './output.ts';

export interface StatusRow {
  spec: FollowerSpec;
  enabled: boolean;
  state?: FollowerView;
}

/** Ages are computed here, from wall-clock `now`: the workflow's clock stops between its steps. */
export function statusTable(io: Io, rows: StatusRow[], now: number): string {
  return table(
    ['FOLLOWER', 'ADAPTER', 'BRANCH', 'OBSERVED', 'TARGET', 'LAST TRIGGERED', 'LAST SUCCEEDED', 'PHASE', 'IN-FLIGHT', 'BUDGET', 'AGE'],
    rows.map(({ spec, enabled, state: s }) => {
      if (!s) {
        return [spec.id, spec.adapter.id, spec.source.branch, '-', '-', '-', '-', enabled ? 'NotRunning' : 'Disabled', '-', budget(spec), '-'];
      }
      const f = s.inFlight;
      return [
        spec.id,
        s.adapter,
        s.branch,
        shortSha(s.observedSha),
        shortSha(s.targetSha),
        shortSha(s.lastTriggeredSha),
        shortSha(s.lastSucceededSha),
        phase(io, s.phase),
        f ? `${shortSha(f.sha)} #${f.attempt}${f.jobId ? ` ${f.jobId}` : ''}` : '-',
        budget(spec, f ? now - f.startedAt : undefined),
        roundedDuration(now - s.phaseSince),
      ];
    }),
  );
}

const roundedDuration = (ms: number): string => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);

function budget(spec: FollowerSpec, usedMs?: number): string {
  const total = formatDuration(spec.closeout.budgetMs);
  const used = usedMs !== undefined ? roundedDuration(usedMs) : '-';
  return `${used}/${total} ${spec.closeout.budgetSource.path.startsWith('defaults') ? '(defaults)' : '(follower)'}`;
}

export function eventsTable(events: Transition[]): string {
  return table(
    ['TIME', 'FROM', 'TO', 'SHA', 'REASON'],
    events.map((e) => [when(e.at), e.from, e.to, shortSha(e.sha), e.reason]),
  );
}

export function historyTable(s: FollowerView): string {
  return table(
    ['SHA', 'FIRST SEEN', 'TRIGGERED', 'OUTCOME', 'ATTEMPTS', 'SEEN→SUCCEEDED', 'SUPERSEDED BY'],
    [...s.shas].reverse().map((r) => [
      shortSha(r.sha),
      when(r.firstSeen),
      when(r.triggeredAt),
      r.outcome ?? (s.inFlight?.sha === r.sha ? 'InFlight' : r.attempts > 0 ? 'Pending' : r.sha === s.observedSha ? 'Observed' : '-'),
      String(r.attempts),
      r.outcome === 'Succeeded' && r.finishedAt ? formatDuration(r.finishedAt - r.firstSeen) : '-',
      shortSha(r.supersededBy),
    ]),
  );
}

/** Why `sha` did or did not deploy, in sentences, from the follower's own record. */
export function explain(s: FollowerView, sha: string): string[] {
  const match = s.shas.filter((r) => r.sha.startsWith(sha));
  if (match.length > 1) return [`${sha} is ambiguous: it matches ${match.map((r) => shortSha(r.sha)).join(', ')}; give more digits`];
  const r: ShaRecord | undefined = match[0];
  const lines: string[] = [];
  if (!r) {
    lines.push(`${sha} was never the head of ${s.branch} when ${s.id} looked at the mirror (${s.mirror}).`);
    lines.push(s.observedSha ? `The mirror's head is ${shortSha(s.observedSha)} (observed ${when(s.observedAt)}).` : 'The follower has not read the mirror yet.');
    lines.push('A commit that was pushed and overtaken between two observations is never seen, and never deployed on its own.');
    return lines;
  }
  const full = r.sha;
  lines.push(`${shortSha(full)}: first seen as the head of ${s.branch} at ${when(r.firstSeen)}.`);
  if (s.inFlight?.sha === full) {
    const f = s.inFlight;
    lines.push(`In flight: attempt ${f.attempt}${f.jobId ? `, job ${f.jobId}` : ''}, triggered ${when(f.startedAt)}; ${s.phase}: ${s.reason}`);
    lines.push(`Close-out budget: ${formatDuration(s.budget.usedMs ?? 0)} of ${formatDuration(s.budget.totalMs)} used (${s.budget.source.path}).`);
    return lines;
  }
  switch (r.outcome) {
    case 'Succeeded':
      lines.push(`Deployed: Succeeded at ${when(r.finishedAt)} after ${r.attempts} attempt(s) (${r.reason}).`);
      break;
    case 'Superseded':
      lines.push(`Not deployed: superseded by ${shortSha(r.supersededBy)} at ${when(r.finishedAt)} — the branch moved on before it closed out.`);
      break;
    case 'Failed':
      lines.push(`Not deployed: Failed after ${r.attempts} attempt(s) at ${when(r.finishedAt)}. Last reason: ${r.reason}.`);
      lines.push('It will not be retried on its own; a new sha, or `branch-follower trigger`, tries again.');
      break;
    default:
      if (s.retry?.sha === full) {
        lines.push(`Failed ${r.attempts} time(s) so far (last: ${s.lastError?.message ?? r.reason ?? 'unknown'}); attempt ${s.retry.attempt} is due at ${when(s.retry.notBefore)}.`);
      } else if (r.attempts === 0 && s.paused) {
        lines.push(`Not triggered: the follower is paused since ${when(s.paused.since)} (${s.paused.reason}).`);
      } else if (r.attempts === 0 && s.phase === 'Blocked') {
        lines.push(`Not triggered yet: ${s.reason}`);
      } else if (r.attempts === 0) {
        lines.push(`Not triggered yet (phase ${s.phase}: ${s.reason}).`);
      } else {
        lines.push(`Triggered ${r.attempts} time(s); no outcome recorded yet.`);
      }
  }
  return lines;
}
