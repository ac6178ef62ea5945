// The trigger key: one per (follower, sha, run). Command adapters get it as `{triggerId}`; the
// built-in Kubernetes adapters name their PipelineRun / Job with it, so a retried trigger finds
// its own object. docs/adapters.md describes the scheme for runtimes that echo it.
import { createHash } from 'node:crypto';

/** `<follower>-<sha:8>-<run>`, at most 63 characters (a Kubernetes name and a Job's pod label). */
export function triggerIdFor(follower: string, sha: string, run: number): string {
  const suffix = `-${sha.slice(0, 8)}-${run}`;
  const room = 63 - suffix.length;
  const base =
    follower.length <= room
      ? follower
      : `${follower.slice(0, room - 7).replace(/-+$/, '')}-${createHash('sha256').update(follower).digest('hex').slice(0, 6)}`;
  return `${base}${suffix}`;
}
