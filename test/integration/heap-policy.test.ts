import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_POLICY_ENV, STEADY_HEAP_FLAGS } from '../../main/core/heap-policy.ts';
import { runStation } from '../helpers/station-cli.ts';

const MiB = 1024 * 1024;

/** Runs the workload in a fresh process under the station's heap policy or V8's defaults. */
function youngGeneration(heap: 'station' | 'v8-default'): Promise<{ peakYoungBytes: number; stderr: string }> {
  const child = spawn(process.execPath, ['test/helpers/heap-workload.ts', heap], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve({ ...(JSON.parse(out) as { peakYoungBytes: number }), stderr }) : reject(new Error(`heap workload exited with ${code}: ${stderr}`)))),
  );
}

describe('the heap policy: memory that levels off over a shift', () => {
  it("keeps V8's young generation within its starting 16 MiB, where V8's defaults let the same work grow it", async () => {
    const held = await youngGeneration('station');
    const grown = await youngGeneration('v8-default');
    // The control: without the policy this work doubles the young generation past V8's starting 16 MiB (to 64 MiB here).
    expect(grown.peakYoungBytes).toBeGreaterThan(32 * MiB);
    expect(held.peakYoungBytes).toBeLessThanOrEqual(16 * MiB);
  }, 60_000);

  it("names only flags this Node's V8 knows (an unknown one is ignored with an error on standard error)", async () => {
    const { stderr } = await youngGeneration('station');
    expect(stderr).not.toMatch(/unrecognized flag/i);
  }, 60_000);

  /** The V8 flags a `station --version` process set on itself, recorded by a preload. */
  async function flagsSetByStation(env: NodeJS.ProcessEnv): Promise<string[]> {
    const result = await runStation(['--version'], { nodeArgs: ['--import', './test/helpers/record-v8-flags.ts'], env });
    expect(result.code).toBe(0);
    const recorded = result.stderr.split('\n').find((line) => line.startsWith('{"v8FlagsSet"'));
    expect(recorded, result.stderr).toBeDefined();
    return (JSON.parse(recorded!) as { v8FlagsSet: string[] }).v8FlagsSet;
  }

  it('is set by the station command itself, before any command runs', async () => {
    const { [HEAP_POLICY_ENV]: _, ...env } = process.env;
    expect(await flagsSetByStation(env)).toEqual(expect.arrayContaining([...STEADY_HEAP_FLAGS]));
  }, 30_000);

  it(`is left off with ${HEAP_POLICY_ENV}=v8-default, to rule it out on a station`, async () => {
    const flags = await flagsSetByStation({ ...process.env, [HEAP_POLICY_ENV]: 'v8-default' });
    for (const flag of STEADY_HEAP_FLAGS) expect(flags).not.toContain(flag);
  }, 30_000);
});
