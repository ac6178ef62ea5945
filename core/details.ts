// What the Temporal UI shows as a follower's (and a mirror watcher's) "current details": its state
// at a glance, in short markdown, so an operator who opens the workflow sees it without a query.
// Rendered from the state and the next action; nothing reads it back.
import { formatDuration, shortSha as short } from '../contract/format.ts';
import { workflowIdFor } from '../contract/messages.ts';
import type { FollowerSpec, WatcherSpec } from '../contract/spec.ts';
import { inFlightOf, type FollowerState, type WatcherState } from '../contract/state.ts';
import type { Action } from './decide.ts';

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The end of every workflow's details: where to look further, then the time they were set.
 * A list: consecutive lines of markdown would run together into one paragraph. The time comes
 * last, as the least of it: the Temporal UI (2.42) sizes its details frame one line short.
 */
function footer(commands: string[], now: number, whose: string): string[] {
  return [
    '',
    'look further:',
    '',
    ...commands.map((c) => `- \`${c}\``),
    '',
    `_as of ${time(now)}, the ${whose}'s clock_`,
  ];
}

/** What the follower is doing, at this step. */
function step(action: Action): string {
  switch (action.kind) {
    case 'wait':
      return `wait until ${time(action.until)}: ${action.why}`;
    case 'observe':
      return 'read the mirror';
    case 'trigger':
      return `trigger \`${short(action.sha)}\``;
    case 'status':
      return `close-out check of \`${short(action.sha)}\``;
    case 'cancel':
      return `cancel the superseded \`${short(action.sha)}\``;
  }
}

/** `now` is the follower's decision clock: the budget used is measured on it. */
export function followerDetails(spec: FollowerSpec, s: FollowerState, action: Action, now: number): string {
  const lines = [`**${s.phase}** · \`${s.code}\` since ${time(s.phaseSince)} — ${s.message}`, ''];
  lines.push(
    s.observedSha && s.observedAt !== undefined
      ? `- head of \`${spec.source.branch}\`: \`${short(s.observedSha)}\` (read ${time(s.observedAt)})`
      : `- head of \`${spec.source.branch}\`: not read yet`,
  );
  if (s.mirrorBlocked)
    lines.push(`- mirror unreadable since ${time(s.mirrorBlocked.since)}: \`${s.mirrorBlocked.code}\``);
  lines.push(
    s.deployed ? `- deployed: \`${short(s.deployed.sha)}\` (${time(s.deployed.at)})` : '- deployed: nothing known yet',
  );
  const w = inFlightOf(s.work);
  if (w) {
    const job = w.stage === 'closingOut' && w.jobId ? `, job \`${w.jobId}\`` : '';
    lines.push(
      `- in flight: \`${short(w.sha)}\` run ${w.run}, attempt ${w.attempt}${job}; budget ${formatDuration(Math.max(0, now - w.startedAt))} of ${formatDuration(spec.closeout.budgetMs)}`,
    );
  }
  if (s.paused) lines.push(`- paused since ${time(s.paused.since)}: ${s.paused.reason}`);
  const wid = workflowIdFor(spec.id);
  lines.push(
    `- now: ${step(action)}`,
    ...footer(
      [
        `temporal workflow query --workflow-id ${wid} --name events`,
        `temporal workflow show --workflow-id ${wid}`,
        `branch-follower status --follower ${spec.id}`,
      ],
      now,
      'follower',
    ),
  );
  return lines.join('\n');
}

/** How many branch heads the details list before saying how many more there are. */
const HEADS_SHOWN = 10;

/** `workflowId` is the watcher's own; `nextReadAt` when its timer fires (the watcher's clock). */
export function watcherDetails(
  spec: WatcherSpec,
  s: WatcherState,
  at: { workflowId: string; nextReadAt: number; now: number },
): string {
  const branches = [...new Set(spec.followers.map((f) => f.branch))];
  const lines = [
    `**${s.failing ? 'Failing' : 'Watching'}** \`${spec.mirror}\`: ${branches.length} branch(es) for ${spec.followers.length} follower(s), every ${formatDuration(spec.pollIntervalMs)}`,
    '',
  ];
  lines.push(s.readAt !== undefined ? `- last read: ${time(s.readAt)}` : '- not read yet');
  if (s.failing) lines.push(`- reads failing since ${time(s.failing.since)}: ${s.failing.message}`);
  const heads = Object.entries(s.heads ?? {});
  if (heads.length) {
    const shown = heads.slice(0, HEADS_SHOWN).map(([branch, sha]) => `\`${branch}\` \`${short(sha)}\``);
    lines.push(
      `- heads: ${shown.join(', ')}${heads.length > HEADS_SHOWN ? ` and ${heads.length - HEADS_SHOWN} more` : ''}`,
    );
  }
  lines.push(`- followers woken: ${s.wakeUps}`);
  lines.push(
    `- now: wait until ${time(at.nextReadAt)}: the next read${s.failing ? ' (the followers are woken when one works again)' : ', then wake the followers whose branch moved'}`,
  );
  // Quoted: a watcher's id holds the mirror's URL.
  const wid = `'${at.workflowId}'`;
  lines.push(
    ...footer(
      [
        `temporal workflow query --workflow-id ${wid} --name state`,
        `temporal workflow show --workflow-id ${wid}`,
        'branch-follower status',
      ],
      at.now,
      'watcher',
    ),
  );
  return lines.join('\n');
}
