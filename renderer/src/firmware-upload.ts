import { FIRMWARE_CHUNK_BYTES, type StationBridge } from '../../contract/station-contract.ts';

/**
 * Sends a firmware file to the station's firmware folder, one chunk after the
 * other (each within one message); resolves with the name it is stored under.
 */
export async function uploadFirmware(bridge: StationBridge, file: File, onProgress: (fraction: number) => void): Promise<string> {
  const { upload, name } = await bridge.startFirmwareUpload({ name: file.name, size: file.size });
  const bytes = new Uint8Array(await file.arrayBuffer());
  for (let offset = 0; offset < bytes.length; offset += FIRMWARE_CHUNK_BYTES) {
    const answer = await bridge.sendFirmwareChunk({ upload, offset, data: toBase64(bytes.subarray(offset, offset + FIRMWARE_CHUNK_BYTES)) });
    onProgress(answer.received / bytes.length);
  }
  return name;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}
