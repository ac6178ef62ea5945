// Types of scripts/build.mjs (plain JavaScript: it runs before anything is compiled).
export const CLI_ENTRY: string;
export const WORKER_ENTRY: string;
export function freshCli(): Promise<string>;
export function build(options?: { workflowBundle?: boolean }): Promise<void>;
