// Every human message the decision core writes, rendered from structured facts. Decisions are
// made on codes (contract/codes.ts); these words only explain them, so they live apart from the
// logic and nothing reads them back.
import { formatDuration, shortSha as short } from '../contract/format.ts';
import type { FollowerSpec, ValueSource } from '../contract/spec.ts';
import type { RuntimePhase } from '../contract/adapter.ts';
import type { InFlight, Work } from '../contract/state.ts';

const where = (src: ValueSource): string => `${src.path} (${src.file}:${src.line})`;
const job = (jobId: string | undefined): string => (jobId ? ` job ${jobId}` : '');
const of = (spec: FollowerSpec, attempt: number): string => `${attempt}/${spec.retry.maxAttempts}`;

export const text = {
  starting: (): string => 'follower started; first observation pending',
  awaitingRead: (head: string): string => `head ${short(head)} is decided at the next mirror read`,

  paused(reason: string, work: Work | undefined, spec: FollowerSpec): string {
    const held =
      work?.stage === 'triggering' || work?.stage === 'closingOut'
        ? `; the close-out of ${short(work.sha)} continues`
        : work?.stage === 'backoff'
          ? `; retry ${of(spec, work.attempt)} of ${short(work.sha)} is held until resume`
          : work?.stage === 'pending'
            ? `; the trigger of ${short(work.sha)} is held until resume`
            : '';
    return `paused: ${reason}${held}`;
  },

  pending(w: Extract<Work, { stage: 'pending' }>, spec: FollowerSpec): string {
    switch (w.cause) {
      case 'NewHead':
        return `new head ${short(w.sha)}`;
      case 'HeadReturned':
        return `${short(w.sha)} is the head again and the runtime is not known to be on it: a new run`;
      case 'RetryDue':
        return `retry ${of(spec, w.attempt)} of ${short(w.sha)} after backoff, once the mirror confirms the head`;
      case 'ManualTrigger':
        return `manual trigger${w.reason ? `: ${w.reason}` : ''}`;
      case 'TriggerOutcomeUnknown':
        return `the last trigger of ${short(w.sha)} may have reached the runtime: sending it again under the same key (attempt ${of(spec, w.attempt)})`;
    }
  },
  quiet: (sha: string, until: number, spec: FollowerSpec): string =>
    `new head ${short(sha)}: triggered once the branch has stayed on it for ${formatDuration(spec.quietPeriodMs ?? 0)} (at ${new Date(until).toISOString().slice(11, 19)} UTC); a push restarts the wait`,
  mirrorBehindPush: (announced: string, shown: string, forMs: number): string =>
    `a push announced ${short(announced)}, but the mirror still shows ${short(shown)} after reading again for ${formatDuration(forMs)}: back to the usual cadence`,
  missedWebhook: (sha: string, windowMs: number): string =>
    `${short(sha)} was found by reading the mirror; no push webhook announced it within ${formatDuration(windowMs)}`,
  adapterBlocked: (message: string, spec: FollowerSpec): string =>
    `${message}; trying again in ${formatDuration(spec.pollIntervalMs)}`,
  retryWaitsForMirror: (mirror: string, w: Work): string =>
    `${mirror}; ${short(w.sha)} waits for the mirror to confirm the head`,

  triggering: (w: InFlight, spec: FollowerSpec): string =>
    `attempt ${of(spec, w.attempt)}${w.manual ? ' (manual)' : ''} of ${short(w.sha)}, run ${w.run}`,
  accepted: (jobId: string | undefined, spec: FollowerSpec): string =>
    `trigger accepted${job(jobId)}; budget ${formatDuration(spec.closeout.budgetMs)}`,
  adopted: (sha: string, jobId: string | undefined): string =>
    `the runtime already has ${short(sha)}${job(jobId)}: not fired again; the close-out check decides`,

  closedOut(tookMs: number, overrunMs: number | undefined, spec: FollowerSpec): string {
    const budget = formatDuration(spec.closeout.budgetMs);
    return overrunMs === undefined
      ? `closed out in ${formatDuration(tookMs)} (budget ${budget})`
      : `closed out in ${formatDuration(tookMs)}: ${formatDuration(overrunMs)} over the ${budget} budget from ${where(spec.closeout.budgetSource)} (budget missed)`;
  },
  runtimeFailed: (message: string | undefined): string => message ?? 'the runtime reported Failed',
  budgetExceeded(
    tookMs: number,
    spec: FollowerSpec,
    runtime: { phase: RuntimePhase; sha?: string; message?: string } | undefined,
    unread?: string,
  ): string {
    const base = `close-out took ${formatDuration(tookMs)}, over the ${formatDuration(spec.closeout.budgetMs)} budget from ${where(spec.closeout.budgetSource)}`;
    if (unread !== undefined) return `${base}; the status read after the deadline failed: ${unread}`;
    const on = runtime?.sha
      ? `; runtime reports ${short(runtime.sha)} ${runtime.phase}`
      : runtime
        ? `; runtime reports ${runtime.phase}`
        : '';
    return `${base}${on}${runtime?.message ? `; last status: ${runtime.message}` : ''}`;
  },
  retrying: (message: string, attempt: number, backoffMs: number, spec: FollowerSpec): string =>
    `${message}; retry ${of(spec, attempt)} in ${formatDuration(backoffMs)}`,
  attemptsUsed: (message: string, spec: FollowerSpec, mayHaveReached: boolean): string =>
    `${message}; ${spec.retry.maxAttempts} attempts used${mayHaveReached ? '; the last trigger may have reached the runtime' : ''}`,

  superseded: (sha: string, by: string): string => `${short(sha)} superseded by ${short(by)}`,
  supersededBeforeRetry: (sha: string, by: string): string =>
    `${short(sha)} superseded by ${short(by)} before its retry`,
  headMovedWhilePaused: (head: string, inFlight: string): string =>
    `branch moved to ${short(head)} while paused: the close-out of ${short(inFlight)} continues, ${short(head)} waits for resume`,
  cancel: (sha: string, ok: boolean, message: string): string =>
    `cancel of ${short(sha)} ${ok ? 'sent' : `failed: ${message}`}`,

  manualNotHead: (sha: string, head: string, branch: string): string =>
    `manual trigger refused: ${short(sha)} is not the head of ${branch} on the mirror (head is ${short(head)})`,
  manualWhilePaused: (reason: string): string =>
    `manual trigger refused: the follower is paused (${reason}); resume it first`,
  manualInFlight: (sha: string): string => `manual trigger ignored: ${short(sha)} is already in flight`,
  resumed: (reason: string | undefined): string => `resumed${reason ? `: ${reason}` : ''}`,
  reconfigured: (summary: string): string => `reconfigured: ${summary}`,
  mirrorRecovered: (outageMs: number): string => `mirror readable again after ${formatDuration(outageMs)}`,
  projectionFailed: (message: string): string => `state projection not written: ${message}`,
  notificationFailed: (sink: string, notice: string, message: string): string =>
    `${notice} not delivered to ${sink}: ${message}`,
  projectionRecovered: (): string => 'state projection written again',
};
