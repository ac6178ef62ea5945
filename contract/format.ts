// How durations and shas read in messages, the CLI and the Temporal UI.

/** `850ms`, `4.6s`, `2m`, `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest ? `${m}m${rest}s` : `${m}m`;
}

/** A whole commit sha as git prints it: 40 lowercase hex digits (64 in a SHA-256 repository). */
export const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A sha as messages and history summaries show it: 12 hex digits. */
export const shortSha = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : '-');
