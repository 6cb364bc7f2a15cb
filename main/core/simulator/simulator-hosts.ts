import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BytePort } from '../ports/byte-port.ts';
import { openPort } from '../ports/open-port.ts';
import { socketBytePort } from '../ports/tcp-port.ts';
import { DeviceSimulator, type SimulatorOptions } from './device-simulator.ts';

/** A simulated unit of any kind behind a pty. */
export interface PtyHosted<S> {
  /** The pty the station (or a vendor's tool) opens. */
  path: string;
  simulator: S;
  /** Yanks the cable: kills the pty pair, so both ends hang up at once. */
  unplug(): void;
  stop(): Promise<void>;
}

export type PtySimulator = PtyHosted<DeviceSimulator>;

/** A socat pty pair: the station opens one end, a simulated unit the other. */
export interface PtyLine {
  /** The pty the station opens. */
  stationEnd: string;
  /** The pty the simulated unit opens. */
  deviceEnd: string;
  /** Yanks the cable: kills the pty pair, so both ends hang up at once. */
  unplug(): void;
  /** Kills socat (if still running), waits for it and removes the links. */
  dispose(): Promise<void>;
}

/** Makes a pty pair with socat, linked as <linkName>.tty (station) and <linkName>.device in the directory (a new temporary one by default). */
export async function openPtyLine(linkName: string, directory?: string): Promise<PtyLine> {
  const dir = directory ?? mkdtempSync(join(tmpdir(), 'station-sim-'));
  const stationEnd = join(dir, `${linkName}.tty`);
  const deviceEnd = join(dir, `${linkName}.device`);
  // A unit plugged into the same "socket" again: a link left by a killed socat is replaced.
  for (const link of [stationEnd, deviceEnd]) rmSync(link, { force: true });
  const socat = spawn('socat', [`pty,raw,echo=0,link=${stationEnd}`, `pty,raw,echo=0,link=${deviceEnd}`], { stdio: 'ignore' });
  const spawnFailed = new Promise<Error>((resolve) => socat.once('error', resolve));
  const deadline = Date.now() + 5000;
  while (!(existsSync(stationEnd) && existsSync(deviceEnd))) {
    const failed = await Promise.race([spawnFailed, new Promise<undefined>((resolve) => setTimeout(resolve, 10))]);
    if (failed) throw new Error(`the pty simulator needs socat (${failed.message}); install it (apt-get install socat)`);
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error('socat did not create the pty pair');
  }
  const exited = new Promise<void>((resolve) => {
    if (socat.exitCode !== null) resolve();
    else socat.once('exit', () => resolve());
  });
  const unplug = () => socat.kill('SIGKILL');
  return {
    stationEnd,
    deviceEnd,
    unplug,
    async dispose() {
      unplug();
      await exited;
      if (directory) for (const link of [stationEnd, deviceEnd]) rmSync(link, { force: true });
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs a simulated unit behind a real pseudo-terminal (socat makes the pair),
 * so the station talks to it through the same serialport code as to hardware.
 */
export function startSimulatorOnPty(options: SimulatorOptions, directory?: string, linkName = options.serial): Promise<PtySimulator> {
  return hostOnPty(linkName, directory, (port, unplug) => new DeviceSimulator(port, { ...options, hangUp: options.hangUp ?? unplug }));
}

/**
 * Opens a pty pair and starts a simulator on its device end; the simulator is
 * given the unplug, so a unit that "hangs up" yanks its own cable.
 */
export async function hostOnPty<S extends { stop(): Promise<void> }>(
  linkName: string,
  directory: string | undefined,
  start: (port: BytePort, unplug: () => void) => S,
): Promise<PtyHosted<S>> {
  const line = await openPtyLine(linkName, directory);
  const port = await openPort(line.deviceEnd);
  const simulator = start(port, line.unplug);
  return {
    path: line.stationEnd,
    simulator,
    unplug: line.unplug,
    async stop() {
      await simulator.stop();
      await port.close();
      await line.dispose();
    },
  };
}

export interface TtySimulator {
  path: string;
  simulator: DeviceSimulator;
  stop(): Promise<void>;
}

/**
 * Runs a simulated unit on a tty that exists already: the unit's end of a
 * line someone else holds (the bench's pacing relay), so many units can run
 * in one process while the lines run elsewhere.
 */
export async function startSimulatorOnTty(path: string, options: SimulatorOptions): Promise<TtySimulator> {
  const port = await openPort(path);
  const simulator = new DeviceSimulator(port, options);
  return {
    path,
    simulator,
    async stop() {
      await simulator.stop();
      await port.close();
    },
  };
}

export interface TcpSimulatorServer {
  /** tcp://127.0.0.1:<port>, for the station's port list. */
  url: string;
  /** The unit behind the most recent connection. */
  current(): DeviceSimulator | undefined;
  stop(): Promise<void>;
}

/** A simulated unit behind a raw-TCP "serial device server"; one connection at a time, state kept across connections. */
export async function startSimulatorOnTcp(options: SimulatorOptions, port = 0, host = '127.0.0.1'): Promise<TcpSimulatorServer> {
  let current: DeviceSimulator | undefined;
  let version = options.version;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const previous = current;
    const bytePort = socketBytePort(`${host}:${port}#device`, socket);
    version = previous?.version ?? version;
    current = new DeviceSimulator(bytePort, { ...options, version, hangUp: options.hangUp ?? (() => socket.destroy()) });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: `tcp://${host}:${address.port}`,
    current: () => current,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await current?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
