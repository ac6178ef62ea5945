// What a follower tells the outside world when its state moves: metrics through the SDK's workflow
// metric meter (which drops them while a run replays) and the notices its sinks are sent.
import { metricMeter, workflowInfo } from '@temporalio/workflow';
import { METRICS, type MetricName } from '../contract/metrics.ts';
import { followerPageUrl } from '../contract/messages.ts';
import type { Notice } from '../contract/notify.ts';
import { repositoryPath } from '../contract/repository-path.ts';
import type { Code } from '../contract/codes.ts';
import type { FollowerSpec } from '../contract/spec.ts';
import type { FollowerState, Phase } from '../contract/state.ts';
import type { Happening } from '../core/happenings.ts';

const counter = (name: MetricName) => metricMeter.createCounter(name, undefined, METRICS[name].help);
const histogram = (name: MetricName) => metricMeter.createHistogram(name, 'float', 's', METRICS[name].help);
const gauge = (name: MetricName) => metricMeter.createGauge(name, 'float', 's', METRICS[name].help);

export function recordMetrics(spec: FollowerSpec, happened: Happening[]): void {
  const follower = spec.id;
  for (const h of happened)
    switch (h.kind) {
      case 'fired':
        counter('branch_follower_triggers_total').add(1, { follower });
        break;
      case 'ended': {
        const { outcome, code, at } = h.result;
        counter('branch_follower_deploys_total').add(1, { follower, outcome, code });
        if (outcome === 'Succeeded')
          histogram('branch_follower_seen_to_succeeded_seconds').record((at - h.firstSeen) / 1000, { follower });
        if (code === 'ClosedOutOverBudget' || code === 'BudgetExceeded')
          counter('branch_follower_budget_overruns_total').add(1, { follower, code });
        if (outcome === 'Superseded') counter('branch_follower_supersedes_total').add(1, { follower });
        break;
      }
      case 'read':
        gauge('branch_follower_mirror_read_timestamp_seconds').set(h.at / 1000, { follower });
        break;
      case 'readFailed':
        counter('branch_follower_mirror_read_failures_total').add(1, { follower, code: h.code });
        break;
      case 'mirrorCaughtUp':
        histogram('branch_follower_mirror_lag_seconds').record(h.lagMs / 1000, { follower });
        break;
      case 'missedWebhook':
        counter('branch_follower_missed_webhooks_total').add(1, {
          follower,
          repository: repositoryPath(spec.source.mirror),
        });
        break;
      case 'blocked':
        break;
    }
}

/**
 * The phase gauge, set again by each worker that runs the follower live: a worker that replayed
 * the run has not reported it, and one that reported another phase or code of it zeroes that one.
 */
export function phaseReporter(follower: string): (state: FollowerState) => void {
  let reported: { phase: Phase; code: Code; since: number } | undefined;
  return (state) => {
    if (workflowInfo().unsafe.isReplaying) return;
    const { phase, code } = state;
    const since = state.codeSince ?? state.phaseSince;
    if (reported?.phase === phase && reported.code === code && reported.since === since) return;
    const phaseSince = gauge('branch_follower_phase_since_timestamp_seconds');
    if (reported && (reported.phase !== phase || reported.code !== code))
      phaseSince.set(0, { follower, phase: reported.phase, code: reported.code });
    phaseSince.set(since / 1000, { follower, phase, code });
    reported = { phase, code, since };
  };
}

/** What the follower's sinks are told of these happenings (`namespace`: the run's, for its UI link). */
export function noticesOf(spec: FollowerSpec, happened: Happening[], namespace: string): Notice[] {
  if (!spec.notify) return [];
  const { temporalUiUrl } = spec.notify;
  const base = {
    follower: spec.id,
    repository: repositoryPath(spec.source.mirror),
    branch: spec.source.branch,
    ...(temporalUiUrl ? { url: followerPageUrl(temporalUiUrl, namespace, spec.id) } : {}),
  };
  const notices: Notice[] = [];
  for (const h of happened)
    switch (h.kind) {
      case 'fired':
        notices.push({
          ...base,
          type: 'triggered',
          sha: h.sha,
          code: 'TriggerAccepted',
          message: h.message,
          at: h.at,
        });
        break;
      case 'ended': {
        const r = h.result;
        const type =
          r.outcome === 'Succeeded'
            ? 'succeeded'
            : r.outcome === 'Superseded'
              ? 'superseded'
              : r.code === 'BudgetExceeded'
                ? 'budgetExceeded'
                : 'failed';
        notices.push({
          ...base,
          type,
          sha: h.sha,
          code: r.code,
          message: r.message,
          at: r.at,
          ...(r.outcome === 'Superseded' ? { by: r.by } : {}),
        });
        break;
      }
      case 'blocked':
        notices.push({
          ...base,
          type: 'blocked',
          ...(h.sha ? { sha: h.sha } : {}),
          code: h.code,
          message: h.message,
          at: h.at,
        });
        break;
      case 'missedWebhook':
        notices.push({
          ...base,
          type: 'missedWebhook',
          ...(h.sha ? { sha: h.sha } : {}),
          code: 'MissedWebhook',
          message: h.message,
          at: h.at,
        });
        break;
      case 'read':
      case 'readFailed':
      case 'mirrorCaughtUp':
        break;
    }
  return notices;
}
