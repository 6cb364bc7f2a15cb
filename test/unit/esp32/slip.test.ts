import { describe, expect, it } from 'vitest';
import { SlipDecoder, slipEncode, type SlipEvent } from '../../../main/core/devices/esp32/slip.ts';

function decodeAll(chunks: Uint8Array[], maxPacket?: number): SlipEvent[] {
  const events: SlipEvent[] = [];
  const decoder = new SlipDecoder((event) => events.push(event), maxPacket);
  for (const chunk of chunks) decoder.push(chunk);
  return events;
}

describe('SLIP framing', () => {
  it('escapes 0xC0 and 0xDB and frames with 0xC0', () => {
    expect([...slipEncode(Uint8Array.of(0x01, 0xc0, 0x02, 0xdb, 0x03))]).toEqual([0xc0, 0x01, 0xdb, 0xdc, 0x02, 0xdb, 0xdd, 0x03, 0xc0]);
  });

  it('gives back every packet whole, however the bytes are split, and keeps the text between packets apart', () => {
    const a = Uint8Array.of(0x01, 0xc0, 0xdb, 0xc0, 0xdb);
    const b = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const wire = Buffer.concat([Buffer.from('waiting for download\r\n'), slipEncode(a), slipEncode(b)]);
    const byteByByte = decodeAll([...wire].map((byte) => Uint8Array.of(byte)));
    const packets = byteByByte.filter((event) => event.type === 'packet').map((event) => [...event.packet]);
    expect(packets).toEqual([[...a], [...b]]);
    const text = byteByByte.filter((event) => event.type === 'text').map((event) => event.bytes.toString()).join('');
    expect(text).toBe('waiting for download\r\n');
  });

  it('drops a packet with a bad escape and one over the size limit, and recovers for the next', () => {
    const bad = Buffer.from([0xc0, 0x01, 0xdb, 0x99, 0x02, 0xc0]);
    const long = slipEncode(new Uint8Array(100));
    const good = slipEncode(Uint8Array.of(7, 8, 9));
    const events = decodeAll([Buffer.concat([bad, long, good])], 64);
    expect(events.filter((event) => event.type === 'invalid').map((event) => event.reason)).toEqual(['an invalid escape 0xdb 0x99', 'a packet longer than 64 bytes']);
    expect(events.filter((event) => event.type === 'packet').map((event) => [...event.packet])).toContainEqual([7, 8, 9]);
  });

  it('stays in phase after a stray END between packets: the packets after it are still packets, their bodies never text', () => {
    const answer = Uint8Array.of(0x01, 0x0a, 0x04, 0x00, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0);
    const tail = Buffer.from('I (31) app: up\r\n');
    const received = (noise: number[], chunks: 'whole' | 'bytes') => {
      const wire = Buffer.concat([slipEncode(answer), Buffer.from(noise), slipEncode(answer), slipEncode(answer), slipEncode(answer), tail]);
      const events = decodeAll(chunks === 'whole' ? [wire] : [...wire].map((byte) => Uint8Array.of(byte)));
      return events.filter((event) => event.type === 'packet').map((event) => [...event.packet]);
    };
    for (const chunks of ['whole', 'bytes'] as const) {
      // A lone END: nothing is lost.
      expect(received([0xc0], chunks)).toEqual([[...answer], [...answer], [...answer], [...answer]]);
      // An END then garbage: the garbage is a packet that answers nothing, the answer right after it is lost, the rest arrive.
      expect(received([0xc0, 0x3f, 0x12], chunks).slice(-2)).toEqual([[...answer], [...answer]]);
    }
  });
});
