/**
 * SLIP framing (RFC 1055) as the ESP ROM bootloader uses it: every packet
 * starts and ends with 0xC0; 0xC0 and 0xDB inside are sent as 0xDB 0xDC and
 * 0xDB 0xDD.
 */
const SLIP_END = 0xc0;
const SLIP_ESC = 0xdb;
const SLIP_ESC_END = 0xdc;
const SLIP_ESC_ESC = 0xdd;

export function slipEncode(packet: Uint8Array): Buffer {
  let escapes = 0;
  for (const byte of packet) if (byte === SLIP_END || byte === SLIP_ESC) escapes++;
  const out = Buffer.allocUnsafe(packet.length + escapes + 2);
  let at = 0;
  out[at++] = SLIP_END;
  for (const byte of packet) {
    if (byte === SLIP_END) {
      out[at++] = SLIP_ESC;
      out[at++] = SLIP_ESC_END;
    } else if (byte === SLIP_ESC) {
      out[at++] = SLIP_ESC;
      out[at++] = SLIP_ESC_ESC;
    } else {
      out[at++] = byte;
    }
  }
  out[at] = SLIP_END;
  return out;
}

export type SlipEvent =
  | { type: 'packet'; packet: Buffer }
  /** Bytes outside any packet: boot messages, log output, line noise. */
  | { type: 'text'; bytes: Buffer }
  /** A packet that broke the framing (bad escape, or longer than the limit); it is dropped. */
  | { type: 'invalid'; reason: string };

/**
 * Turns a byte stream into packets, keeping what arrives between packets
 * (a chip prints its boot log as plain text on the same line). Bounded: a
 * packet longer than maxPacket is dropped, so noise cannot grow memory.
 */
export class SlipDecoder {
  private readonly maxPacket: number;
  private readonly onEvent: (event: SlipEvent) => void;
  private packet: Buffer;
  private length = 0;
  private inPacket = false;
  private escaping = false;
  private overflow = false;
  /** After a bad escape the rest of that packet is dropped up to its END, so the next packet is read in phase. */
  private discarding = false;

  constructor(onEvent: (event: SlipEvent) => void, maxPacket = 0x10000 + 64) {
    this.onEvent = onEvent;
    this.maxPacket = maxPacket;
    this.packet = Buffer.allocUnsafe(Math.min(maxPacket, 4096));
  }

  /** Forgets a packet in progress (after a reset or a baud-rate change the line carries garbage). */
  reset(): void {
    this.inPacket = false;
    this.escaping = false;
    this.overflow = false;
    this.discarding = false;
    this.length = 0;
  }

  push(chunk: Uint8Array): void {
    let textStart = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (!this.inPacket) {
        if (byte === SLIP_END) {
          if (textStart >= 0) this.onEvent({ type: 'text', bytes: Buffer.from(chunk.subarray(textStart, i)) });
          textStart = -1;
          this.inPacket = true;
          this.length = 0;
        } else if (textStart < 0) {
          textStart = i;
        }
        continue;
      }
      if (byte === SLIP_END) {
        // Two ENDs in a row: an empty packet, not a packet. As RFC 1055 has it, the second END opens the next packet:
        // after a stray END (line noise, a byte of log) the next packet's own END must not close the decoder, or
        // every packet from then on would be read inside out, its body as text, until a reset.
        if (this.length === 0 && !this.discarding && !this.escaping) continue;
        if (this.discarding) {
          // The broken packet's END.
        } else if (this.length > 0 && !this.overflow && !this.escaping) this.onEvent({ type: 'packet', packet: Buffer.from(this.packet.subarray(0, this.length)) });
        else if (this.overflow) this.onEvent({ type: 'invalid', reason: `a packet longer than ${this.maxPacket} bytes` });
        else if (this.escaping) this.onEvent({ type: 'invalid', reason: 'a packet that ends inside an escape' });
        this.reset();
        continue;
      }
      if (this.discarding) continue;
      if (this.escaping) {
        this.escaping = false;
        if (byte === SLIP_ESC_END) this.append(SLIP_END);
        else if (byte === SLIP_ESC_ESC) this.append(SLIP_ESC);
        else {
          this.onEvent({ type: 'invalid', reason: `an invalid escape 0xdb 0x${byte.toString(16).padStart(2, '0')}` });
          this.discarding = true;
        }
        continue;
      }
      if (byte === SLIP_ESC) this.escaping = true;
      else this.append(byte);
    }
    if (textStart >= 0) this.onEvent({ type: 'text', bytes: Buffer.from(chunk.subarray(textStart)) });
  }

  private append(byte: number): void {
    if (this.overflow) return;
    if (this.length >= this.maxPacket) {
      this.overflow = true;
      return;
    }
    if (this.length === this.packet.length) {
      const bigger = Buffer.allocUnsafe(Math.min(this.maxPacket, this.packet.length * 2));
      this.packet.copy(bigger, 0, 0, this.length);
      this.packet = bigger;
    }
    this.packet[this.length++] = byte;
  }
}
