// Types of scripts/build.mjs (plain JavaScript: it runs before anything is compiled).
export const WORKER_ENTRY: string;
/** Files a build depends on beyond the modules it compiles. */
export const BUILD_INPUTS: readonly string[];
export function freshCli(): Promise<string>;
export function build(options?: { workflowBundle?: boolean }): Promise<void>;
