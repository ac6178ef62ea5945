// Every command of the operator CLI, in the order `--help` lists them.
import apply from './apply.ts';
import completion from './completion.ts';
import events from './events.ts';
import explain from './explain.ts';
import history from './history.ts';
import logs from './logs.ts';
import pause from './pause.ts';
import plan from './plan.ts';
import render from './render.ts';
import resume from './resume.ts';
import runOnce from './run-once.ts';
import status from './status.ts';
import trigger from './trigger.ts';
import wait from './wait.ts';
import type { CliCommand } from './command.ts';

export const COMMANDS = [
  plan,
  apply,
  render,
  status,
  runOnce,
  trigger,
  pause,
  resume,
  events,
  logs,
  history,
  explain,
  wait,
  completion,
] as unknown as CliCommand<unknown, unknown[]>[];
