// Durations in the registry, as Flux and Argo CD users write them: Go's time.ParseDuration
// syntax from milliseconds up — `500ms`, `15s`, `1m30s`, `1.5h`. Each kind of duration has a
// documented range (config/limits.ts); nothing accepts 0 unless its range says so.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const TERM = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;

export class DurationError extends Error {}

/** Milliseconds, or a DurationError that says what to write instead. */
export function parseDuration(text: string): number {
  let ms = 0;
  let at = 0;
  TERM.lastIndex = 0;
  while (at < text.length) {
    TERM.lastIndex = at;
    const m = TERM.exec(text);
    if (!m) break;
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) throw new DurationError(`"${text}" uses ${m[2]}: the smallest unit here is ms`);
    ms += Number(m[1]) * unit;
    at = TERM.lastIndex;
  }
  if (at === 0 || at !== text.length)
    throw new DurationError(
      `"${text}" is not a duration: write a number and a unit (ms, s, m, h), such as 500ms, 15s, 2m or 1m30s`,
    );
  if (!Number.isInteger(ms)) throw new DurationError(`"${text}" is finer than a millisecond`);
  return ms;
}

/** `1m30s`, `500ms`, `2h`: the shortest exact spelling (for messages and docs). */
export function formatLimit(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
