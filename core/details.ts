// What the Temporal UI shows as a follower's (and a mirror watcher's) "current details": its state
// at a glance, in short markdown, so an operator who opens the workflow sees it without a query.
// Rendered from the state and the next action; nothing reads it back. Every line is built with
// `mdLine` (contract/untrusted/markdown.ts): messages, reasons and job ids — words an adapter, a
// commit or an operator wrote — render as their characters, never as markup.
import { formatDuration, shortSha as short } from '../contract/format.ts';
import { workflowIdFor } from '../contract/messages.ts';
import type { FollowerSpec, WatcherSpec } from '../contract/spec.ts';
import { inFlightOf, type FollowerState, type WatcherState } from '../contract/state.ts';
import { code, mdLine, MarkdownText } from '../contract/untrusted/markdown.ts';
import type { Action } from './decide.ts';

/** Our own figures (times, durations, counts) go in as they are. */
const time = (ms: number): MarkdownText => MarkdownText.ours(new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const duration = (ms: number): MarkdownText => MarkdownText.ours(formatDuration(ms));
const shaCode = (sha: string): MarkdownText => code(short(sha));
const joinLines = (lines: MarkdownText[]): string => lines.map((l) => l.text).join('\n');
const blank = mdLine``;

/**
 * The end of every workflow's details: where to look further, then the time they were set.
 * A list: consecutive lines of markdown would run together into one paragraph. The time comes
 * last, as the least of it: the Temporal UI (2.42) sizes its details frame one line short.
 */
function footer(commands: string[], now: number, whose: string): MarkdownText[] {
  return [
    blank,
    mdLine`look further:`,
    blank,
    ...commands.map((c) => mdLine`- ${code(c)}`),
    blank,
    mdLine`_as of ${time(now)}, the ${whose}'s clock_`,
  ];
}

/** What the follower is doing, at this step. */
function step(action: Action): MarkdownText {
  switch (action.kind) {
    case 'wait':
      return mdLine`wait until ${time(action.until)}: ${action.why}`;
    case 'observe':
      return mdLine`read the mirror`;
    case 'trigger':
      return mdLine`trigger ${shaCode(action.sha)}`;
    case 'status':
      return mdLine`close-out check of ${shaCode(action.sha)}`;
    case 'cancel':
      return mdLine`cancel the superseded ${shaCode(action.sha)}`;
  }
}

/** `now` is the follower's decision clock: the budget used is measured on it. */
export function followerDetails(spec: FollowerSpec, s: FollowerState, action: Action, now: number): string {
  const lines = [mdLine`**${s.phase}** · ${code(s.code)} since ${time(s.phaseSince)} — ${s.message}`, blank];
  const branch = code(spec.source.branch);
  lines.push(
    s.observedSha && s.observedAt !== undefined
      ? mdLine`- head of ${branch}: ${shaCode(s.observedSha)} (read ${time(s.observedAt)})`
      : mdLine`- head of ${branch}: not read yet`,
  );
  if (s.mirrorBlocked)
    lines.push(mdLine`- mirror unreadable since ${time(s.mirrorBlocked.since)}: ${code(s.mirrorBlocked.code)}`);
  lines.push(
    s.deployed
      ? mdLine`- deployed: ${shaCode(s.deployed.sha)} (${time(s.deployed.at)})`
      : mdLine`- deployed: nothing known yet`,
  );
  const w = inFlightOf(s.work);
  if (w) {
    const job = w.stage === 'closingOut' && w.jobId ? mdLine`, job ${code(w.jobId)}` : mdLine``;
    lines.push(
      mdLine`- in flight: ${shaCode(w.sha)} run ${w.run}, attempt ${w.attempt}${job}; budget ${duration(Math.max(0, now - w.startedAt))} of ${duration(spec.closeout.budgetMs)}`,
    );
  }
  if (s.paused) lines.push(mdLine`- paused since ${time(s.paused.since)}: ${s.paused.reason}`);
  const wid = workflowIdFor(spec.id);
  lines.push(
    mdLine`- now: ${step(action)}`,
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
  return joinLines(lines);
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
    mdLine`**${s.failing ? 'Failing' : 'Watching'}** ${code(spec.mirror)}: ${branches.length} branch(es) for ${spec.followers.length} follower(s), every ${duration(spec.pollIntervalMs)}`,
    blank,
  ];
  lines.push(s.readAt !== undefined ? mdLine`- last read: ${time(s.readAt)}` : mdLine`- not read yet`);
  if (s.failing) lines.push(mdLine`- reads failing since ${time(s.failing.since)}: ${s.failing.message}`);
  const heads = Object.entries(s.heads ?? {});
  if (heads.length) {
    const shown = heads.slice(0, HEADS_SHOWN).map(([branch, sha]) => `${code(branch)} ${shaCode(sha)}`);
    const more = heads.length > HEADS_SHOWN ? mdLine` and ${heads.length - HEADS_SHOWN} more` : mdLine``;
    lines.push(mdLine`- heads: ${MarkdownText.ours(shown.join(', '))}${more}`);
  }
  lines.push(mdLine`- followers woken: ${s.wakeUps}`);
  lines.push(
    mdLine`- now: wait until ${time(at.nextReadAt)}: the next read${s.failing ? mdLine` (the followers are woken when one works again)` : mdLine`, then wake the followers whose branch moved`}`,
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
  return joinLines(lines);
}
