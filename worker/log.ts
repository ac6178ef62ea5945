// The worker's log: one JSON object per line (time, level, msg, and — when a line is about one —
// the follower, its workflow id, the sha and the code), for log shippers; readable text on a
// terminal. The SDK's own lines (activity failures, task failures) go through the same function.
// Messages quote what others wrote (an adapter's failure, a webhook's ref): on a terminal every
// control and invisible character is shown escaped and a line break cannot start a line; in JSON
// they are \u-escaped, so `kubectl logs` on a terminal shows them inert and a parser gets them exact.
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { followerIdOf } from '../contract/messages.ts';
import { visibleLine } from '../contract/untrusted/characters.ts';
import { readableJson } from '../contract/untrusted/json.ts';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;
export type WorkerLog = (level: LogLevel, msg: string, fields?: LogFields) => void;

/** A log writing to `out`: JSON lines, or text when `out` is a terminal. */
export function workerLog(out: { write(s: string): unknown; isTTY?: boolean } = process.stdout): WorkerLog {
  return (level, msg, fields = {}) => {
    const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (out.isTTY) {
      const pairs = defined.map(
        ([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? readableJson(v) : visibleLine(String(v))}`,
      );
      const time = new Date().toISOString().slice(11, 19);
      out.write(`${time} ${level.toUpperCase().padEnd(5)} ${[visibleLine(msg), ...pairs].join(' ')}\n`);
    } else {
      out.write(`${readableJson({ time: new Date().toISOString(), level, msg, ...Object.fromEntries(defined) })}\n`);
    }
  };
}

/** The SDK's logger, writing through `log`: the fields an operator filters on, not the task token or a stack. */
export function sdkLogger(log: WorkerLog): DefaultLogger {
  return new DefaultLogger('WARN', (entry: LogEntry) => {
    const meta = (entry.meta ?? {}) as Record<string, unknown>;
    const error = meta.error as (Error & { type?: unknown }) | undefined;
    const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
    log(entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'info', entry.message, {
      follower: workflowId ? followerIdOf(workflowId) : undefined,
      workflowId,
      activity: typeof meta.activityType === 'string' ? meta.activityType : undefined,
      attempt: typeof meta.attempt === 'number' ? meta.attempt : undefined,
      code: typeof error?.type === 'string' ? error.type : undefined,
      error: error instanceof Error ? error.message : typeof meta.failure === 'string' ? meta.failure : undefined,
    });
  });
}
