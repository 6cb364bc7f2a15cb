/**
 * The floor sender on lrzsz's own I/O path: a thread that blocks in read(2)
 * for the receiver's answer and write(2)s the next block straight after, with
 * no event loop, no epoll and no callback into the main thread per block. It
 * is what a native sender (an addon running the data phase on a thread of its
 * own) could do at best, written in JavaScript in a worker thread: the same
 * state machine as the other floors (`floorSender`), on the same pre-framed
 * blocks. Not a sender to ship (a blocked read cannot time out or be
 * cancelled here), only the reference for what leaving the event loop gains.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { floorSender, framesOf } from './node-floor-sender.ts';

interface ThreadFloorJob {
  pty: string;
  fileName: string;
  data: Uint8Array;
}

/** In the worker: frame the file, say ready, then answer the receiver until the batch end is written. */
async function runInThread({ pty, fileName, data }: ThreadFloorJob): Promise<void> {
  const frames = await framesOf(fileName, data);
  // Opened without O_NONBLOCK, so read(2) sleeps in the kernel until the receiver answers, as sb's does.
  const fd = openSync(pty, 'r+');
  try {
    let ended = false;
    const feed = floorSender(
      frames,
      (frame) => {
        writeSync(fd, frame);
        if (frame === frames.batchEnd) ended = true;
      },
      (error) => {
        throw error;
      },
    );
    parentPort!.postMessage('ready');
    const answer = Buffer.alloc(64);
    while (!ended) {
      const got = readSync(fd, answer, 0, answer.length, null);
      if (got === 0) throw new Error('thread floor sender: the line closed');
      feed(answer.subarray(0, got));
    }
  } finally {
    closeSync(fd);
  }
}

if (!isMainThread && (workerData as { threadFloor?: ThreadFloorJob } | undefined)?.threadFloor) {
  await runInThread((workerData as { threadFloor: ThreadFloorJob }).threadFloor);
}

/**
 * The thread floor: a worker thread sends `data` as one YMODEM file on `pty`;
 * `go()` (start the receiver) is called once the worker has framed the file and
 * opened the line. Resolves when the worker has written the batch end and
 * `finished` (the receiver's exit) has settled.
 */
export async function sendAtThreadFloor(pty: string, fileName: string, data: Uint8Array, go: () => void, finished: Promise<unknown>): Promise<void> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { threadFloor: { pty, fileName, data } satisfies ThreadFloorJob } });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    void exited.then((code) => code !== 0 && reject(new Error(`thread floor sender exited with ${code}`)));
  });
  const withinSeconds = (seconds: number) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`thread floor sender: not done ${seconds} s after the receiver`)), seconds * 1000).unref());
  try {
    await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
    go();
    await Promise.race([finished, failed]);
    await Promise.race([exited, failed, withinSeconds(5)]);
  } finally {
    // A worker still blocked in read(2) cannot stop until the line closes under it (the caller disposes the pty pair): not awaited.
    void worker.terminate();
  }
}
