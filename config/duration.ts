// Durations in the registry are strings such as 500ms, 15s, 2m or 1h: one number, one unit.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h)$/;

export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration like 500ms, 15s, 2m or 1h`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
