// The workflow bundle's entry point: every workflow type the worker registers.
export { followerWorkflow } from './follower.ts';
export { mirrorWatcherWorkflow } from './watcher.ts';
