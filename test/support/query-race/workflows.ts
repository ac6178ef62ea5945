// The smallest workflow whose commands depend on when a signal is applied: each tick reads the
// signals counted so far and records them through a local activity. Used by
// test/e2e/query-race.test.ts, with and without the product's interceptors.
import { defineQuery, defineSignal, proxyLocalActivities, setHandler, sleep } from '@temporalio/workflow';

export const pokeSignal = defineSignal('poke');
export const ticksQuery = defineQuery<string[]>('ticks');

const { record } = proxyLocalActivities<{ record(line: string): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function ticker(tickMs: number): Promise<void> {
  const ticks: string[] = [];
  let pokes = 0;
  setHandler(pokeSignal, () => void pokes++);
  setHandler(ticksQuery, () => ticks);
  for (let i = 0; ; i++) {
    await sleep(tickMs);
    const line = `tick ${i}: ${pokes} pokes`;
    ticks.push(line);
    if (pokes > 0) await record(`tick ${i}: poked`);
    await record(line);
  }
}
