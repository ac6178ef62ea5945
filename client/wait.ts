// wait: block until a sha is deployed, and fail fast: Failed, Superseded, or a sha the mirror
// says is not the head (so it will never deploy on its own) end the wait at once.
import { formatDuration, shortSha } from '../contract/format.ts';
import type { FollowerView } from '../contract/state.ts';
import { requireState, type Ctx } from './context.ts';
import { Exit } from './output.ts';

export interface WaitResult {
  exit: number;
  message: string;
}

export async function waitForSha(
  ctx: Ctx,
  id: string,
  sha: string,
  timeoutMs: number,
  progress: (line: string) => void,
): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const firstLook = (await requireState(ctx, id)).observedAt ?? 0;
  let last = '';
  for (;;) {
    const s = await requireState(ctx, id);
    const verdict = judge(s, sha, firstLook);
    if (verdict) return verdict;
    const line = `${id} ${s.phase} ${s.code}: ${s.message}`;
    // Tenths of a second: a trigger's first steps take less than one.
    if (line !== last) progress(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${line}`);
    last = line;
    if (Date.now() > deadline)
      return {
        exit: Exit.Timeout,
        message: `timed out after ${formatDuration(timeoutMs)}: ${id} is ${s.phase} (${s.code}: ${s.message})`,
      };
    await new Promise((r) => setTimeout(r, 300));
  }
}

function judge(s: FollowerView, sha: string, firstLook: number): WaitResult | undefined {
  const r = s.shas.find((x) => x.sha.startsWith(sha));
  // While the sha is still the follower's work (a retry waits, say), its last outcome is not the end.
  const done = r && s.work?.sha !== r.sha ? r.result : undefined;
  if (r && done?.outcome === 'Succeeded')
    return { exit: Exit.Ok, message: `${s.id} ${shortSha(r.sha)} Succeeded: ${done.message}` };
  if (r && done?.outcome === 'Superseded')
    return { exit: Exit.Superseded, message: `${s.id} ${shortSha(r.sha)} Superseded by ${shortSha(done.by)}` };
  if (r && done?.outcome === 'Failed')
    return { exit: Exit.Failed, message: `${s.id} ${shortSha(r.sha)} Failed: ${done.code}: ${done.message}` };
  // Not on record, and a fresh observation shows another head: the follower will never deploy it.
  if (!r && (s.observedAt ?? 0) > firstLook && s.observedSha && !s.observedSha.startsWith(sha)) {
    return {
      exit: Exit.Superseded,
      message: `${sha} is not the head of ${s.branch} on the mirror (head is ${shortSha(s.observedSha)}); it will not be deployed on its own`,
    };
  }
  return undefined;
}
