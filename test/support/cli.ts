// The operator CLI run in-process, as a user would run it, with what it printed captured.
import { main } from '../../client/cli.ts';

export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t.text), err: (t) => err.push(t.text), color: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
