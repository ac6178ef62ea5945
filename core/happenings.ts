// What changed between two states of a follower, as the outside world hears of it: metrics and
// notifications are drawn from these, never from the code path that made the change, so every
// way a state can move (a read, a result, a signal, time passing) is reported alike.
import type { Code } from '../contract/codes.ts';
import type { FollowerState, RunResult, Transition } from '../contract/state.ts';

export type Happening =
  /** A trigger reached the runtime (not one the runtime already had); `at`: when it started. */
  | { kind: 'fired'; sha: string; at: number; message: string }
  /** A run ended; `firstSeen` is when a read first saw its sha. */
  | { kind: 'ended'; sha: string; firstSeen: number; result: RunResult }
  /** A read of the mirror answered. */
  | { kind: 'read'; at: number }
  /** A read of the mirror failed. */
  | { kind: 'readFailed'; code: Code; at: number }
  /** A read found the sha a push announced, `lagMs` after the announcement. */
  | { kind: 'mirrorCaughtUp'; sha: string; lagMs: number }
  /** A move found by reading that no webhook announced in time. */
  | { kind: 'missedWebhook'; sha?: string; message: string; at: number }
  /** The follower became Blocked. */
  | { kind: 'blocked'; code: Code; message: string; sha?: string; at: number };

export function happenings(before: FollowerState, after: FollowerState): Happening[] {
  const out: Happening[] = [];
  const w = after.work;
  const was = before.work;
  if (w?.stage === 'closingOut' && w.fired && !(was?.stage === 'closingOut' && was.sha === w.sha && was.run === w.run))
    out.push({ kind: 'fired', sha: w.sha, at: w.startedAt, message: after.message });

  // Once per event, over up to loop.shasKept records: one pass each, not one search per record.
  const results = new Map(before.shas.map((r) => [r.sha, r.result]));
  for (const rec of after.shas) {
    if (!rec.result) continue;
    const old = results.get(rec.sha);
    if (old?.at === rec.result.at && old.code === rec.result.code) continue;
    // A failed run waiting to be tried again that the branch left: its end was told when it failed.
    const waiting = was?.sha === rec.sha && (was.stage === 'backoff' || was.stage === 'pending');
    if (waiting && old?.outcome === 'Failed' && rec.result.outcome === 'Superseded') continue;
    out.push({ kind: 'ended', sha: rec.sha, firstSeen: rec.firstSeen, result: rec.result });
  }

  if (after.observedAt !== undefined && after.observedAt !== before.observedAt)
    out.push({ kind: 'read', at: after.observedAt });
  if (after.lastLookAt !== before.lastLookAt && after.mirrorBlocked)
    out.push({ kind: 'readFailed', code: after.mirrorBlocked.code, at: after.lastLookAt ?? after.mirrorBlocked.since });

  const awaited = before.awaitedPush;
  if (awaited && after.awaitedPush?.sha !== awaited.sha && after.observedSha === awaited.sha && after.observedAt)
    out.push({ kind: 'mirrorCaughtUp', sha: awaited.sha, lagMs: after.observedAt - awaited.since });

  for (const t of newTransitions(before.events, after.events)) {
    if (t.code === 'MissedWebhook')
      out.push({ kind: 'missedWebhook', ...(t.sha ? { sha: t.sha } : {}), message: t.message, at: t.at });
    if (t.to === 'Blocked' && t.from !== 'Blocked')
      out.push({ kind: 'blocked', code: t.code, message: t.message, ...(t.sha ? { sha: t.sha } : {}), at: t.at });
  }
  return out;
}

/**
 * The transitions `after` added to `before`. The log keeps only its last entries: when it was cut,
 * the new ones follow the last entry `before` had, wherever it now sits (all, when it fell off).
 */
export function newTransitions(before: Transition[], after: Transition[]): Transition[] {
  const last = before.at(-1);
  if (!last) return after;
  if (after.length >= before.length && sameTransition(after[before.length - 1]!, last))
    return after.slice(before.length);
  for (let i = after.length - 1; i >= 0; i--) if (sameTransition(after[i]!, last)) return after.slice(i + 1);
  return after;
}

const sameTransition = (a: Transition, b: Transition): boolean =>
  a.at === b.at &&
  a.code === b.code &&
  a.from === b.from &&
  a.to === b.to &&
  a.sha === b.sha &&
  a.message === b.message;
