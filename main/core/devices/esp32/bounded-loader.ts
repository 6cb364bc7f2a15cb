import { ESPError, ESPLoader, TimeoutError as EspTimeoutError, UnsupportedCommandError } from 'esptool-js';
import { ROM_COMMAND } from './rom-protocol.ts';

/** esptool (Python and JS) looks at no more than this many packets for one answer. */
const MAX_PACKETS_PER_ANSWER = 100;

const COMMAND_NAMES = new Map<number, string>(Object.entries(ROM_COMMAND).map(([name, op]) => [op, name]));

/** A ROM command by name ("READ_REG"), or its op in hex when the station has no name for it. */
export function romCommandName(op: number | null): string {
  if (op === null) return 'the command';
  return COMMAND_NAMES.get(op) ?? `command 0x${op.toString(16).padStart(2, '0')}`;
}

/**
 * No answer to a ROM command within its timeout. strayPackets counts what
 * the chip sent instead (packets that answered nothing, or another command):
 * zero means the line was silent. An esptool-js TimeoutError, so esptool-js
 * treats it as it treats any timeout (sync retries, block write retries).
 */
export class RomUnansweredError extends EspTimeoutError {
  readonly op: number | null;
  readonly strayPackets: number;
  readonly timeoutMs: number;

  constructor(op: number | null, strayPackets: number, timeoutMs: number) {
    const command = romCommandName(op);
    const plural = strayPackets === 1 ? 'packet' : 'packets';
    super(
      strayPackets === 0
        ? `no answer to ${command} within ${timeoutMs} ms`
        : strayPackets >= MAX_PACKETS_PER_ANSWER
          ? `the chip sent ${strayPackets} ${plural} that did not answer ${command} (esptool gives up after ${MAX_PACKETS_PER_ANSWER})`
          : `the chip sent ${strayPackets} ${plural} that did not answer ${command} within ${timeoutMs} ms`,
    );
    this.op = op;
    this.strayPackets = strayPackets;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * esptool-js's loader with one deadline per answer. esptool-js's readPacket
 * reads up to 100 packets for one answer and gives each read the full
 * timeout, so a chip (or a noisy line) that sends a packet that is not the
 * answer just before each timeout holds one command for 100 timeouts. Here
 * the timeout is the whole wait for the answer, from the moment the command
 * has been sent; every packet before the answer still gets read and skipped
 * as esptool does (a late answer to an earlier command, extra SYNC answers),
 * only no longer at the cost of a fresh timeout.
 *
 * Each readPacket is its own wait: after a SYNC the ROM sends seven more
 * answers that esptool-js reads one readPacket at a time, each with its own
 * 100 ms, as before. Commands esptool-js retries (a flash block is sent up
 * to three times) still take up to that many timeouts, each bounded.
 */
export class BoundedEspLoader extends ESPLoader {
  /**
   * READ_REG with its status checked, as esptool.py does: esptool-js returns the value whatever the status, so a
   * register the ROM refused to read (an eFuse in secure download mode) came back as 0, e.g. in the unit's MAC.
   */
  override async readReg(addr: number, timeout: number = this.DEFAULT_TIMEOUT): Promise<number> {
    const [value, data] = await this.command(this.ESP_READ_REG, this._intToByteArray(addr), undefined, undefined, timeout);
    const register = `register 0x${(addr >>> 0).toString(16).padStart(8, '0')}`;
    if (data.length < 2) throw new ESPError(`Failed to read ${register}: the answer has no status bytes`);
    if (data[0] !== 0) throw new ESPError(`Failed to read ${register} failed with status ${data[0]},${data[1]}`);
    return value;
  }

  override async readPacket(op: number | null = null, timeout: number = this.DEFAULT_TIMEOUT): Promise<[number, Uint8Array]> {
    const deadline = performance.now() + timeout;
    let strays = 0;
    while (strays < MAX_PACKETS_PER_ANSWER) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let packet: Uint8Array;
      try {
        packet = await this.transport.read(left);
      } catch (error) {
        if (error instanceof EspTimeoutError) break;
        throw error;
      }
      // A response: [0x01, op, size u16, value u32, data...]; anything else is not an answer.
      if (packet.length >= 8 && packet[0] === 0x01) {
        const value = this._byteArrayToInt(packet[4]!, packet[5]!, packet[6]!, packet[7]!);
        const data = packet.slice(8);
        if (op === null || packet[1] === op) return [value, data];
        if (data[0] !== 0 && data[1] === this.ROM_INVALID_RECV_MSG) {
          // As esptool-js: the ROM repeats its "invalid command" answer; let the rest arrive and drop it.
          await this.transport.drainInput();
          throw new UnsupportedCommandError();
        }
      }
      strays++;
    }
    throw new RomUnansweredError(op, strays, timeout);
  }
}
