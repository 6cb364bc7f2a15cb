import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A WebSocket client written by hand on a TCP socket, for clients no library
 * would be: one that forges its Host header, or one that floods calls and
 * never reads an answer.
 */
export interface RawWebSocket {
  socket: net.Socket;
  /** The server's answer to the upgrade: its status line and headers. */
  response: string;
  /** Sends one masked text frame, as a browser must. */
  sendText(text: string): boolean;
  /**
   * Resolves when the connection is gone. A client that never reads sees the
   * server hang up only when it writes: see `keepWriting`.
   */
  closed: Promise<void>;
  /** Writes `text` every `everyMs` until the connection is gone (a write to a closed connection fails); returns how to stop. */
  keepWriting(text: string, everyMs: number): () => void;
  /** Starts reading at last: each text message the server sent (unfragmented, as ws sends them) goes to `onText`. */
  startReading(onText: (text: string) => void): void;
}

/** Opens a WebSocket with exactly these headers; resolves once the server answered the upgrade, whatever it said. */
export function rawWebSocket(port: number, path: string, headers: Record<string, string>): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      // From here on nothing is read: what the server sends piles up in its own buffers.
      socket.off('data', onData);
      socket.pause();
      const sendText = (text: string) => socket.write(maskedTextFrame(text));
      const keepWriting = (text: string, everyMs: number) => {
        const timer = setInterval(() => sendText(text), everyMs);
        void closed.then(() => clearInterval(timer));
        return () => clearInterval(timer);
      };
      // After the upgrade, a refused write is how a client that never reads learns the server hung up.
      socket.on('error', () => undefined);
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      const startReading = (onText: (text: string) => void) => {
        // Chunks are joined only once a whole frame is there: a big answer arrives in many chunks.
        let chunks: Buffer[] = [rest];
        let received = rest.length;
        const take = () => {
          let pending = Buffer.concat(chunks);
          for (let frame = serverFrame(pending); frame; frame = serverFrame(pending)) {
            pending = pending.subarray(frame.end);
            if (frame.opcode === 0x1) onText(frame.payload.toString('utf8'));
          }
          chunks = [pending];
          received = pending.length;
        };
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received >= frameLength(firstBytes(chunks, 10))) take();
        });
        socket.resume();
      };
      resolve({ socket, response: head.slice(0, end), sendText, closed, keepWriting, startReading });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      const lines = [
        `GET ${path} HTTP/1.1`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}

function firstBytes(chunks: Buffer[], count: number): Buffer {
  const head: Buffer[] = [];
  let length = 0;
  for (const chunk of chunks) {
    if (length >= count) break;
    head.push(chunk.subarray(0, count - length));
    length += head.at(-1)!.length;
  }
  return Buffer.concat(head);
}

/** How many bytes the frame starting `head` (its first up to 10 bytes) takes in all; Infinity until its header is there. */
function frameLength(head: Buffer): number {
  if (head.length < 2) return Infinity;
  const short = head[1]! & 0x7f;
  const headerLength = short === 126 ? 4 : short === 127 ? 10 : 2;
  if (head.length < headerLength) return Infinity;
  return headerLength + (short === 126 ? head.readUInt16BE(2) : short === 127 ? Number(head.readBigUInt64BE(2)) : short);
}

/** One unmasked frame from the start of `bytes`, or undefined until all of it is there. */
function serverFrame(bytes: Buffer): { opcode: number; payload: Buffer; end: number } | undefined {
  if (bytes.length < 2) return undefined;
  const short = bytes[1]! & 0x7f;
  const headerLength = short === 126 ? 4 : short === 127 ? 10 : 2;
  if (bytes.length < headerLength) return undefined;
  const length = short === 126 ? bytes.readUInt16BE(2) : short === 127 ? Number(bytes.readBigUInt64BE(2)) : short;
  if (bytes.length < headerLength + length) return undefined;
  return { opcode: bytes[0]! & 0x0f, payload: bytes.subarray(headerLength, headerLength + length), end: headerLength + length };
}

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const length = payload.length < 126 ? Buffer.of(0x80 | payload.length) : payload.length < 65536 ? Buffer.of(0x80 | 126, payload.length >> 8, payload.length & 0xff) : undefined;
  if (!length) throw new Error('frames over 64 KiB are not needed here');
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([Buffer.of(0x81), length, mask, masked]);
}

/** A process's resident memory in MiB, from /proc (Linux). */
export function residentMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}
