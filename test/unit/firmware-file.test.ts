import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FirmwareFileWriter, type WritableFile } from '../../main/core/cloud/firmware-file.ts';
import { GadgetKeeperAdapter } from '../../main/core/cloud/gadgetkeeper/adapter.ts';
import { StationError } from '../../main/core/errors.ts';

const destination = () => join(mkdtempSync(join(tmpdir(), 'fw-file-')), 'download-1');

/** A real file whose handle writes at most `most` bytes per call, as FileHandle.write may. */
async function shortWriting(path: string, flags: 'w' | 'a', most: number): Promise<WritableFile & { calls: number }> {
  const real = await open(path, flags);
  const handle = {
    calls: 0,
    async write(buffer: Uint8Array, offset: number, length: number) {
      handle.calls++;
      return real.write(buffer, offset, Math.min(most, length));
    },
    sync: () => real.sync(),
    close: () => real.close(),
  };
  return handle;
}

describe('firmware file writer', () => {
  it('writes every byte when the file handle writes short, so the file matches its hash', async () => {
    const target = destination();
    let handle: (WritableFile & { calls: number }) | undefined;
    const writer = await FirmwareFileWriter.open(target, { openFile: async (path, flags) => (handle = await shortWriting(path, flags, 7)) });
    const chunks = [randomBytes(1000), randomBytes(1), randomBytes(4096)];
    for (const chunk of chunks) await writer.write(chunk);
    const result = await writer.finish();
    const whole = Buffer.concat(chunks);
    expect(readFileSync(target).equals(whole)).toBe(true);
    expect(result).toEqual({ path: target, size: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
    expect(handle!.calls).toBeGreaterThan(whole.length / 7);
  });

  it('never leaves a file shorter than its hash: a disk that loses bytes is refused and the file removed', async () => {
    const target = destination();
    const writer = await FirmwareFileWriter.open(target, {
      openFile: async (path, flags) => {
        const real = await open(path, flags);
        // Claims the whole chunk but keeps one byte less.
        return { write: async (buffer, offset, length) => ({ bytesWritten: (await real.write(buffer, offset, length - 1)).bytesWritten + 1 }), sync: () => real.sync(), close: () => real.close() };
      },
    });
    await writer.write(randomBytes(1000));
    const error = (await writer.finish().catch((e: unknown) => e)) as StationError;
    expect(error).toBeInstanceOf(StationError);
    expect(error.code).toBe('FIRMWARE_WRITE_FAILED');
    expect(error.message).toBe(`the firmware download could not be saved in ${dirname(target)} (999 bytes on disk of 1000 received)`);
    expect(existsSync(target) || existsSync(`${target}.part`)).toBe(false);
  });

  it('fails instead of looping forever when the disk takes no bytes', async () => {
    const target = destination();
    const writer = await FirmwareFileWriter.open(target, { openFile: async () => ({ write: async () => ({ bytesWritten: 0 }), sync: async () => {}, close: async () => {} }) });
    await expect(writer.write(randomBytes(10))).rejects.toMatchObject({ code: 'FIRMWARE_WRITE_FAILED' });
  });

  it('a full disk (a real ENOSPC from /dev/full) reaches the caller with the folder named and what to do', async () => {
    const target = destination();
    symlinkSync('/dev/full', `${target}.part`);
    const writer = await FirmwareFileWriter.open(target);
    const error = (await writer.write(randomBytes(64 * 1024)).catch((e: unknown) => e)) as StationError;
    expect(error).toBeInstanceOf(StationError);
    expect(error.describe()).toBe(
      `the firmware download could not be written in ${dirname(target)} (ENOSPC: no space left on the disk). Free disk space where ${dirname(target)} lives (the station's data folder), then retry the unit.`,
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });

  it('a full disk during a download is reported as such, not as an unreachable cloud, and is not retried', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(256 * 1024) });
      response.end(Buffer.alloc(256 * 1024, 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const adapter = new GadgetKeeperAdapter({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const target = destination();
      symlinkSync('/dev/full', `${target}.part`);
      const error = (await adapter.downloadFirmware({ thingId: 'a'.repeat(32), apiKey: 'b'.repeat(32) }, { id: 'v1' }, { destination: target }).catch((e: unknown) => e)) as StationError;
      expect(error).toBeInstanceOf(StationError);
      expect(error.code).toBe('FIRMWARE_WRITE_FAILED');
      expect(error.message).toBe(`the firmware download could not be written in ${dirname(target)} (ENOSPC: no space left on the disk)`);
      expect(requests).toBe(1);
      expect(existsSync(`${target}.part`) || existsSync(target)).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
