import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { referenceProfile, referenceWindowProfile, parseTextProfile } from '../../main/core/devices/profile/load-profile.ts';
import { ProfileDriver } from '../../main/core/devices/profile-driver.ts';
import type { TextProfile } from '../../main/core/devices/profile/schema.ts';
import { createMemoryPortPair } from '../../main/core/ports/memory-port.ts';
import { PortReader } from '../../main/core/ports/port-reader.ts';
import { ACK, CRC_REQUEST, NAK } from '../../main/core/transfer/xmodem-framing.ts';

/** A profile whose flash waits `blockTimeoutMs` for each ACK and tries each block `maxAttempts` times. */
function bounded(base: TextProfile, flash: { blockTimeoutMs: number; maxAttempts: number }): TextProfile {
  return parseTextProfile({ ...base, commands: { ...base.commands, flash: { ...base.commands.flash!, ...flash } } });
}

const image = () => {
  const data = randomBytes(5000);
  return { data, sha256: createHash('sha256').update(data).digest('hex'), versionId: 'new' };
};

/**
 * A unit that accepts FLASH and starts the transfer (YMODEM: block 0 acknowledged), then either goes silent
 * or refuses every data block: `answer` is what it says to each of them.
 */
async function unitThatStopsAfterTheHeader(profile: TextProfile, answer: 'nothing' | 'nak') {
  const [station, device] = createMemoryPortPair('mem://stalling');
  const reader = new PortReader(device);
  const driver = new ProfileDriver(station, profile);
  const flashing = driver.flash(image()).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  await reader.readLine({ timeoutMs: 5000, maxLength: 256 }); // FLASH <size> <sha256> <versionId>
  await device.write(Buffer.from('READY\n'));
  await device.write(Uint8Array.of(CRC_REQUEST));
  await reader.readBytes(133, { timeoutMs: 5000 }); // block 0: name and size
  await device.write(Uint8Array.of(ACK, CRC_REQUEST));
  let blocks = 0;
  const answering = (async () => {
    for (;;) {
      await reader.readBytes(1029, { timeoutMs: 30_000 });
      blocks++;
      if (answer === 'nak') await device.write(Uint8Array.of(NAK));
    }
  })().catch(() => undefined);
  const started = performance.now();
  const error = await flashing;
  const tookMs = performance.now() - started;
  await driver.close().catch(() => undefined);
  await answering;
  return { error, tookMs, blocks };
}

describe('a profile bounds how long a flash waits for a unit that stops acknowledging', () => {
  it('fails a silent unit after maxAttempts × blockTimeoutMs, naming the port, the step and the silence', { timeout: 30_000 }, async () => {
    const { error, tookMs, blocks } = await unitThatStopsAfterTheHeader(bounded(referenceProfile, { blockTimeoutMs: 200, maxAttempts: 2 }), 'nothing');
    // The defaults (10 tries × 10 s) would hold the port for 100 s.
    expect(tookMs).toBeLessThan(15_000);
    expect(blocks).toBe(2);
    expect(error).toMatchObject({
      message: 'block 1 was not acknowledged after 2 tries (0 refused, 2 with no answer within 200 ms)',
      where: { port: 'mem://stalling', step: 'flash' },
    });
    expect((error as { hint?: string }).hint).toMatch(/stopped answering/);
  });

  it('tells refusals (a noisy line) from silence', { timeout: 30_000 }, async () => {
    const { error, blocks } = await unitThatStopsAfterTheHeader(bounded(referenceProfile, { blockTimeoutMs: 5000, maxAttempts: 3 }), 'nak');
    expect(blocks).toBe(3);
    expect(error).toMatchObject({ message: 'block 1 was not acknowledged after 3 tries (3 refused, 0 with no answer within 5000 ms)' });
    expect((error as { hint?: string }).hint).toMatch(/noisy/);
  });

  it('bounds the windowed transfer the same way', { timeout: 30_000 }, async () => {
    const [station, device] = createMemoryPortPair('mem://stalling-window');
    const reader = new PortReader(device);
    const driver = new ProfileDriver(station, bounded(referenceWindowProfile, { blockTimeoutMs: 200, maxAttempts: 2 }));
    const flashing = driver.flash(image()).catch((error: unknown) => error as Error);
    await reader.readLine({ timeoutMs: 5000, maxLength: 256 });
    await device.write(Buffer.from('READY\nW'));
    const started = performance.now();
    const error = await flashing;
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(error).toMatchObject({ message: expect.stringMatching(/not acknowledged after 2 tries \(0 refused, 2 with no answer within 200 ms\)$/), where: { step: 'flash' } });
    expect((error as { hint?: string }).hint).toMatch(/stopped answering/);
    await driver.close().catch(() => undefined);
  });

  it('keeps the defaults when a profile says nothing, and refuses bounds out of range', () => {
    expect(referenceProfile.commands.flash).toMatchObject({ maxAttempts: 10 });
    expect(referenceProfile.commands.flash!.blockTimeoutMs).toBeUndefined();
    expect(() => bounded(referenceProfile, { blockTimeoutMs: 10, maxAttempts: 2 })).toThrow(/blockTimeoutMs/);
    expect(() => bounded(referenceProfile, { blockTimeoutMs: 200, maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});
