// Builds the Temporal worker that runs follower workflows and their activities.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type FollowerActivities } from '../activities/index.ts';
import { timeoutProgram } from '../activities/run-command.ts';
import type { KubeAccess } from '../activities/kube/access.ts';
import { parseDuration } from '../config/duration.ts';
import type { Registry } from '../config/registry.ts';
import type { TemporalTarget } from '../config/target.ts';
import { notificationQueue } from '../contract/messages.ts';

// Relative to this module, which runs from worker/ (tsx) or bundled into dist/worker.mjs: both one
// level below the repository root, so the same path holds.
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Interceptors every workflow run gets (workflows/task-boundary.ts says why). */
export const WORKFLOW_INTERCEPTOR_MODULES = [fileURLToPath(new URL('../workflows/task-boundary.ts', import.meta.url))];
/** What bundleWorkflowCode needs to build the bundle a worker runs. */
export const WORKFLOW_BUNDLE_OPTIONS = {
  workflowsPath: WORKFLOWS_PATH,
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
};

/** How many notifications a worker sends at once (each try waits at most 10 s for its sink). */
const NOTIFICATION_SLOTS = 10;

export interface FollowerWorkerOptions {
  registry: Registry;
  connection: NativeConnection;
  target: TemporalTarget;
  /** A prebuilt workflow bundle (tests build it once); otherwise workflows/ is bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Kubernetes access for built-in adapters, object checks and the state projection. */
  kube?: KubeAccess;
  /** Wraps the activities (the benchmarks measure with it). */
  instrument?: (activities: FollowerActivities) => FollowerActivities;
}

export async function createFollowerWorker(o: FollowerWorkerOptions): Promise<Worker> {
  const w = o.registry.controller.worker;
  // Every adapter command runs under coreutils `timeout`: refuse to start without it, with the reason.
  timeoutProgram();
  // Adapters and git run here: an empty directory of our own, never a source checkout.
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'branch-follower-work-'));
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true });
  // `notify` runs only on the notification queue (below); the rest on the followers' queue.
  const { notify, ...activities } = (o.instrument ?? ((a) => a))(
    createActivities({ registryDir: o.registry.dir, workDir, env: process.env, kube: o.kube }),
  );
  const worker = await Worker.create({
    connection: o.connection,
    namespace: o.target.namespace,
    taskQueue: o.target.taskQueue,
    ...(o.workflowBundle
      ? { workflowBundle: o.workflowBundle }
      : { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }),
    activities,
    maxConcurrentActivityTaskExecutions: w.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: w.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: w.maxCachedWorkflows,
    shutdownGraceTime: parseDuration(w.shutdownGraceTime),
    stickyQueueScheduleToStartTimeout: parseDuration(w.stickyQueueScheduleToStartTimeout),
  }).catch((err: unknown) => {
    removeWorkDir();
    throw err;
  });
  // Notifications have slots of their own: a sink that hangs cannot hold one a deploy needs.
  const notifier = await Worker.create({
    connection: o.connection,
    namespace: o.target.namespace,
    taskQueue: notificationQueue(o.target.taskQueue),
    activities: { notify },
    maxConcurrentActivityTaskExecutions: NOTIFICATION_SLOTS,
    shutdownGraceTime: parseDuration(w.shutdownGraceTime),
  }).catch((err: unknown) => {
    removeWorkDir();
    throw err;
  });
  // One worker to its callers: both run and stop together, and the work directory goes with them.
  const [run, shutdown] = [worker.run.bind(worker), worker.shutdown.bind(worker)];
  const stop = (one: Worker): void => {
    if (one.getState() === 'RUNNING') one.shutdown();
  };
  return Object.assign(worker, {
    run: async () => {
      const both = [run(), notifier.run()];
      // Whichever stops first (a signal, a fatal error) takes the other with it.
      for (const p of both) p.catch(() => undefined).finally(() => [worker, notifier].forEach(stop));
      try {
        await Promise.all(both);
      } finally {
        await Promise.allSettled(both);
        removeWorkDir();
      }
    },
    shutdown: () => {
      stop(notifier);
      shutdown();
    },
  });
}
