import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, normalize, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { parsePrinterAddress, type PrinterTarget } from '../labels/label-printer.ts';
import { deviceKind, describeDeviceKind, kindByName, type DeviceVerdict } from '../ports/device-kind.ts';
import type { openPort } from '../ports/open-port.ts';
import { parseTcpAddress } from '../ports/tcp-port.ts';
import { dataFolder } from '../storage/data-folder.ts';
import { parseJson, parseOrThrow } from '../validation.ts';

/**
 * What a screen may name, held where no screen can write: the operator's
 * station policy file. Settings saved from a screen (the app's window or a
 * browser through `station serve`) may use a tcp:// port only if it is listed
 * here, a pseudo-terminal only if the policy allows them, never one of the
 * machine's own terminals or a memory device, and a firmware file only from
 * the firmware folder; `station serve`
 * also answers to the extra host names listed here. A line configuration given
 * with --config is the operator's own and is not held to this.
 */
const MiB = 1024 * 1024;

/** A host name or address as a browser writes it in a URL, without scheme or port. */
export const hostNameSchema = z
  .string()
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/, 'must be a host name or an address, e.g. "station-7.line.example" or "10.0.0.7" (no scheme, no port)');

export const stationPolicySchema = z
  .object({
    /** The serial device servers a screen may name, exactly as written there: "tcp://10.0.0.5:4001". */
    tcpPorts: z
      .array(z.string().refine((port) => parseTcpAddress(port) !== undefined, 'must be tcp://host:port'))
      .max(256)
      .default([]),
    /** Firmware files a screen may name or upload live here (relative to this file); default: <data dir>/firmware-files. */
    firmwareFolder: z.string().min(1).optional(),
    /** Largest firmware file a screen may upload. */
    maxFirmwareBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * MiB)
      .default(64 * MiB),
    /** Host names (besides loopback and this machine's addresses) a browser may use to reach `station serve`. */
    allowedHosts: z.array(hostNameSchema).max(64).default([]),
    /** Label printers on a raw TCP port a screen may name, as "tcp://10.0.0.9:9100" (CUPS queues are local and need no entry). */
    labelPrinters: z
      .array(z.string().refine((printer) => parseTcpAddress(printer) !== undefined, 'must be tcp://host:port'))
      .max(64)
      .default([]),
    /**
     * Whether a screen may name a pseudo-terminal (/dev/pts/N) as a port: a
     * simulated line or a socat bridge needs it. Off by default: a pty may be
     * someone's terminal session, whose keystrokes the station would read and
     * into which it would write.
     */
    pseudoTerminals: z.boolean().default(false),
  })
  .strict();

export interface StationPolicy {
  tcpPorts: string[];
  /** Absolute. */
  firmwareFolder: string;
  maxFirmwareBytes: number;
  allowedHosts: string[];
  labelPrinters: string[];
  pseudoTerminals: boolean;
  /** Where the rules come from, for error messages: the file, or "the default station policy". */
  source: string;
}

/**
 * Reads <dataDir>/station-policy.json, or `file` when given. No file at the
 * default place means the defaults: no tcp:// ports, the firmware folder in
 * the data folder, no extra host names. A file that is given but missing, or
 * invalid, is an error that names the field.
 */
export function loadStationPolicy(dataDir: string, file?: string): StationPolicy {
  const path = resolve(file ?? dataFolder(dataDir).policy);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || file !== undefined) throw new ConfigError(`the station policy ${path} could not be read (${code ?? String(error)})`);
  }
  const raw = text === undefined ? {} : parseJson(text, `station policy ${path}`);
  const parsed = parseOrThrow(stationPolicySchema, raw, `station policy ${path}`, 'Correct the fields named above in that file.');
  const policy: StationPolicy = {
    tcpPorts: parsed.tcpPorts.map(normalizeTcp),
    firmwareFolder: parsed.firmwareFolder ? resolve(dirname(path), parsed.firmwareFolder) : resolve(dataFolder(dataDir).firmwareFiles),
    maxFirmwareBytes: parsed.maxFirmwareBytes,
    allowedHosts: parsed.allowedHosts.map((host) => host.toLowerCase()),
    labelPrinters: parsed.labelPrinters.map(normalizeTcp),
    pseudoTerminals: parsed.pseudoTerminals,
    source: text === undefined ? `the default station policy (no ${path})` : `the station policy ${path}`,
  };
  // A screen may read (flash) and write (upload) what is in the firmware folder: it must not hold the key, the settings or this file.
  for (const [what, place] of [
    ['the data folder', dataDir],
    ['the station policy', dirname(path)],
  ] as const) {
    if (isInside(realOrSelf(place), realOrSelf(policy.firmwareFolder))) {
      throw new ConfigError(`station policy ${path} is invalid: firmwareFolder: ${policy.firmwareFolder} holds ${what} (${place}), so a screen could read or overwrite it`, {
        hint: 'Name a folder of its own, e.g. "firmware-files" inside the data folder.',
      });
    }
  }
  return policy;
}

/** The policy a station without a policy file has. */
export function defaultStationPolicy(dataDir: string): StationPolicy {
  return loadStationPolicy(dataDir, undefined);
}

/**
 * A port a screen named: a tcp:// port listed in the policy, or a serial
 * port (a character device the system lists as a serial port; a path under
 * /dev/ when not plugged in yet; COMn on Windows). Anything else, e.g. a file
 * or another kind of device, is refused: the station would write to it and
 * show what it read back. So are the machine's own terminals and memory
 * devices, and pseudo-terminals unless the policy allows them: judged by the
 * device itself (its number and class on Linux), after following links.
 * Returns the device's real path, where it exists: the one to open.
 */
export function checkScreenPort(port: string, policy: StationPolicy): string | undefined {
  if (/^tcp:/i.test(port)) {
    if (!policy.tcpPorts.includes(normalizeTcp(port))) {
      throw new ConfigError(`port ${port} is not one of the tcp:// ports ${policy.source} allows (tcpPorts)`, {
        hint: 'Ask the station\'s operator to add it to "tcpPorts" in the station policy file and restart the station.',
      });
    }
    return undefined;
  }
  if (process.platform === 'win32' && /^(?:\\\\\.\\)?COM\d{1,3}$/i.test(port)) return undefined;
  const refuse = (why: string) => new ConfigError(`port ${port} ${why}`, { hint: SERIAL_PORT_HINT });
  if (!isAbsolute(port)) throw refuse('is not a serial port path');
  let real: string;
  try {
    real = realpathSync(port);
  } catch {
    // Not plugged in yet: only device paths, where only the system creates files; a pty to come is judged by its name.
    const path = normalize(port);
    if (!isInside(path, '/dev') || path === '/dev') throw refuse('does not exist and is not under /dev');
    // There, but leading nowhere a device can be: /dev/fd/N of a pipe or of a deleted file, /dev/stdin on a pipe.
    if (existsAsLink(path)) throw refuse('is a link that leads to no device (like /dev/fd/N of a pipe or a deleted file)');
    // /dev/shm and the like: any program may create the path later, as a link to anything.
    const unsafe = unsafeFolder(nearestFolder(path));
    if (unsafe) throw refuse(`does not exist, and ${unsafe}`);
    // Any other name may be a serial port to come (/dev/serial/by-id/…): the device is judged when it is opened.
    const kind = kindByName(path);
    if (kind !== 'not-serial') refuseDeviceKind(port, path, { kind }, policy);
    return undefined;
  }
  if (!statSync(real).isCharacterDevice()) throw refuse('is not a serial device');
  refuseDeviceKind(port, real, deviceKind(real), policy);
  return real;
}

/**
 * `open`, holding each port to the policy again as it is opened. A screen's
 * settings are checked when saved and when the line opens, but a port is
 * opened for every unit, days later maybe: a link on its way (in /tmp, in a
 * folder someone else owns, /dev/fd/N of another descriptor by then) may lead
 * to a terminal or a memory device by that time. The device opened is the
 * one checked (its real path), so a link re-pointed between the check and
 * the open changes nothing; the port keeps the name the screen gave it.
 */
export function policedOpen(open: typeof openPort, policy: StationPolicy): typeof openPort {
  return async (path, options) => {
    const devicePath = checkScreenPort(path, policy);
    return open(path, devicePath === undefined ? options : { ...options, devicePath });
  };
}

const SERIAL_PORT_HINT = 'Name a serial port (e.g. /dev/ttyACM0, /dev/ttyUSB0, /dev/serial/by-id/…), or a tcp:// port the station policy lists.';

/**
 * Refuses a device a screen may not name; `real` is where the port's links
 * lead, said when it differs. Exported so the words for a device a test
 * cannot create (a watchdog, a keyboard: making their nodes needs root) are
 * checked from the verdict their numbers and sysfs class give.
 */
export function refuseDeviceKind(port: string, real: string, { kind, deviceClass }: DeviceVerdict, policy: StationPolicy): void {
  if (kind === 'serial' || (kind === 'pseudo-terminal' && policy.pseudoTerminals)) return;
  const named = real === port ? port : `${port} (${real})`;
  const hint =
    kind === 'pseudo-terminal'
      ? `${SERIAL_PORT_HINT} For a simulated line or a socat bridge on ptys, ask the station's operator to set "pseudoTerminals": true in the station policy file and restart the station.`
      : SERIAL_PORT_HINT;
  throw new ConfigError(`port ${named} is ${describeDeviceKind({ kind, deviceClass })}, which a screen may not name`, { hint });
}

/**
 * A label printer a screen named: "cups:QUEUE" (a local queue), or a raw TCP
 * printer "tcp://host:port" the station policy lists (labelPrinters). A
 * screen may not send bytes to any address it likes.
 */
export function checkScreenPrinter(printer: string, policy: StationPolicy): PrinterTarget {
  const target = parsePrinterAddress(printer);
  if (target?.kind === 'cups') return target;
  if (!target) throw new ConfigError(`label printer ${printer} is neither tcp://host:port nor cups:QUEUE`, { hint: 'Write it as tcp://10.0.0.9:9100 (a printer\'s raw port) or cups:zebra1 (a CUPS queue).' });
  if (!policy.labelPrinters.includes(normalizeTcp(printer))) {
    throw new ConfigError(`label printer ${printer} is not one of the printers ${policy.source} allows (labelPrinters)`, {
      hint: 'Ask the station\'s operator to add it to "labelPrinters" in the station policy file and restart the station, or use a CUPS queue.',
    });
  }
  return target;
}

/**
 * The firmware file a screen named, as its real path: a name (or a path)
 * inside the firmware folder, checked after following links, so a link in
 * the folder that points out of it is refused too.
 */
export function resolveFirmwareFile(name: string, policy: StationPolicy): string {
  const folder = policy.firmwareFolder;
  const refuse = (why: string) =>
    new ConfigError(`firmware file ${name} ${why}`, { hint: `Upload the firmware file from Settings, or put it in ${folder}; only files in that folder can be named from a screen.` });
  let realFolder: string;
  try {
    realFolder = realpathSync(folder);
  } catch {
    throw refuse(`cannot be used: the firmware folder ${folder} does not exist`);
  }
  let real: string;
  try {
    real = realpathSync(resolve(folder, name));
  } catch {
    throw refuse(`is not in the firmware folder ${folder}`);
  }
  if (real === realFolder || !isInside(real, realFolder)) throw refuse(`is outside the firmware folder ${folder}`);
  if (!statSync(real).isFile()) throw refuse('is not a file');
  return real;
}

/** True when `path` itself is there (a link that may lead nowhere); links before its last part are followed. */
function existsAsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The deepest folder of `path` (absolute, normalized) that exists. */
function nearestFolder(path: string): string {
  let folder = dirname(path);
  while (!existsAsLink(folder) && folder !== dirname(folder)) folder = dirname(folder);
  return folder;
}

/** Why a device could not safely appear in `folder` later, if it could not. */
function unsafeFolder(folder: string): string | undefined {
  let info;
  try {
    info = statSync(folder);
  } catch {
    return `${folder} leads nowhere`;
  }
  if (!info.isDirectory()) return `${folder} is not a folder`;
  if (info.mode & 0o002) return `${folder} is a folder any program may create files in`;
  return undefined;
}

function normalizeTcp(port: string): string {
  return port.trim().toLowerCase().replace(/\/$/, '');
}

/** True when `path` is `folder` or below it (both absolute, already resolved). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
