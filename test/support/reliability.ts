// Fault tests report what they injected and what they saw; with BF_RELIABILITY_REPORT set, each
// row is appended (JSON lines) for scripts/reliability-report.ts to render docs/RELIABILITY.md.
import { appendFileSync } from 'node:fs';

export interface ReliabilityRow {
  fault: string;
  injected: string;
  duplicates: number;
  lost: number;
  /** How long recovery took, measured, or what recovery means for this fault. */
  recovery: string;
  reproduce: string;
}

export function report(row: ReliabilityRow): void {
  const file = process.env.BF_RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Trigger-log lines whose key (lane and trigger key: follower, sha, run) appeared before: each is one trigger fired twice. */
export function duplicates(triggers: { lane: string; sha: string; triggerId?: string }[]): number {
  const seen = new Set<string>();
  let dups = 0;
  for (const t of triggers) {
    const key = `${t.lane} ${t.triggerId && t.triggerId !== '-' ? t.triggerId : t.sha}`;
    if (seen.has(key)) dups++;
    seen.add(key);
  }
  return dups;
}

/** Trigger-log lines whose (lane, sha) appeared before: where no sha is needed twice (pushes only move forward), each is a needless fire. */
export function shaRefires(triggers: { lane: string; sha: string }[]): number {
  return duplicates(triggers.map(({ lane, sha }) => ({ lane, sha })));
}
