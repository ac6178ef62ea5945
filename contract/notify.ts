// Notifications out: what a follower tells the sinks of the registry's `notify:` block, and how
// each sink is reached. The workflow decides what to send (from its state); an activity delivers
// it (activities/notify.ts) with its own retry policy, so a slow or failing sink never holds up a
// deploy. Sinks carry environment variable names, never a secret value.
import type { Code } from './codes.ts';

/** What a follower notifies, in the order of a deploy's life. */
export const NOTICE_TYPES = [
  'triggered',
  'succeeded',
  'failed',
  'superseded',
  'budgetExceeded',
  'blocked',
  'missedWebhook',
] as const;
export type NoticeType = (typeof NOTICE_TYPES)[number];

/** One thing that happened to a follower, as every sink is told it. */
export interface Notice {
  type: NoticeType;
  follower: string;
  /** The mirror's repository path (owner/name) and branch the follower follows. */
  repository: string;
  branch: string;
  /** The sha it is about; absent for `blocked` on an unreadable mirror. */
  sha?: string;
  code: Code;
  message: string;
  /** `superseded`: the sha that replaced it. */
  by?: string;
  /** When it happened (workflow time, ms since the epoch). */
  at: number;
  /** The follower's page in the Temporal UI, when the registry names `controller.temporal.uiUrl`. */
  url?: string;
}

/** A sink, as the registry declares it (resolved: env names only, no values). */
export type Sink =
  /** CloudEvents 1.0, HTTP binary mode; type `dev.branch-follower.<notice type>`. */
  | { id: string; kind: 'cloudevents'; url: Endpoint; bearerTokenEnv?: string }
  /** A JSON POST with a `text` field (Slack, Mattermost, Google Chat, Discord's `content` too). */
  | { id: string; kind: 'chat'; url: Endpoint }
  /** A commit status on the sha: pending on trigger, success/failure on close-out. */
  | {
      id: string;
      kind: 'github-status' | 'gitea-status';
      /** The host's API base: https://api.github.com, https://gitea.example/api/v1. */
      apiUrl: string;
      tokenEnv: string;
      /** owner/name on the host; absent: the follower's mirror repository path. */
      repository?: string;
      /** The status context; absent: `branch-follower/<follower>`. */
      context?: string;
    };
export type SinkKind = Sink['kind'];

/** A URL in the registry, or the name of the variable that holds it (chat webhook URLs are secrets). */
export type Endpoint = { url: string } | { env: string };

/** One notice on its way to one sink. */
export interface Outgoing {
  sink: Sink;
  notice: Notice;
}

/** The last delivery to one sink, kept in the follower's state and shown by `status`. */
export interface Delivery {
  sink: string;
  ok: boolean;
  at: number;
  notice: NoticeType;
  sha?: string;
  /** The sink's answer (HTTP status) or why it could not be reached. Never a secret. */
  message: string;
}

/**
 * Commit status states. GitHub REST "Create a commit status" (docs.github.com/en/rest/commits/statuses):
 * POST /repos/{owner}/{repo}/statuses/{sha}, body { state, target_url, description, context }. Gitea's
 * repoCreateStatus (its /api/swagger) is the same path and body (CreateStatusOption), with these states
 * among its own. Undefined: not a commit status.
 */
export const COMMIT_STATES: Record<NoticeType, 'pending' | 'success' | 'failure' | 'error' | undefined> = {
  triggered: 'pending',
  succeeded: 'success',
  failed: 'failure',
  budgetExceeded: 'failure',
  superseded: 'error',
  blocked: undefined,
  missedWebhook: undefined,
};

/** Whether the sink has anything to say about the notice: a commit status needs a sha and a state. */
export const sinkTakes = (sink: Sink, notice: Notice): boolean =>
  (sink.kind !== 'github-status' && sink.kind !== 'gitea-status') ||
  (notice.sha !== undefined && COMMIT_STATES[notice.type] !== undefined);
