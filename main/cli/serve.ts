import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadLineConfig } from '../core/config/line-config.ts';
import { jsonFileSettingsStore } from '../core/desk/desk-settings.ts';
import { StationDesk } from '../core/desk/station-desk.ts';
import { hostNameSchema, loadStationPolicy } from '../core/desk/station-policy.ts';
import { dataFolder } from '../core/storage/data-folder.ts';
import { ConfigError } from '../core/errors.ts';
import { MIN_TOKEN_LENGTH, startWebServer } from '../core/serve/web-server.ts';
import { loadOrCreateKeyFile } from '../core/storage/secret-box.ts';
import { parsePrinterAddress } from '../core/labels/label-printer.ts';
import { defaultDataDir, parseCommand } from './args.ts';

const HELP = `Usage: station serve [--demo [--ports N] [--label-check] [--label-printer ADDR]] [--config FILE] [--host ADDR] [--port N]
                     [--token-file FILE] [--allow-settings] [--allow-host NAME]...
                     [--policy FILE] [--data-dir DIR]

Serves the station's screen to a browser: a supervisor's dashboard, or a
headless station. The page is the desktop app's own screen, over a WebSocket.
Open the address it prints: it carries an access token (#token=…), made anew
on every start unless you give one.

  --demo             start the demo line: a local cloud emulator and N simulated units
  --ports N          simulated units for --demo, 1 to 64 (default 4)
  --label-check      the demo line (--demo, or started from the screen): each unit waits
                     for its label (its serial number) to be scanned
  --label-printer ADDR  the demo line: a label for each passed unit, on tcp://HOST:PORT (a
                     printer's raw port, e.g. station sim printer) or cups:QUEUE
  --config FILE      run this line configuration (settings then cannot be edited on screen)
  --host ADDR        address to listen on (default 127.0.0.1)
  --port N           TCP port (default 8787; 0 picks a free one)
  --token-file FILE  the access token, at least ${MIN_TOKEN_LENGTH} characters, in a file only you can
                     read (mode 0600); or set STATION_TOKEN
  --allow-settings   let the browser change settings, import device profiles and
                     upload firmware (refused otherwise)
  --allow-host NAME  a host name browsers use to reach this station, besides
                     loopback and this machine's addresses (repeatable)
  --policy FILE      the station policy: tcp:// ports, ptys and the firmware folder a
                     screen may use, more host names (default <data dir>/station-policy.json)
  --data-dir DIR     journal, settings, firmware cache and key (default ~/.local/share/provisioning-station)

Runs until Ctrl-C; units at work are given 30 s to finish, then cancelled.`;

/** The built renderer, beside the sources: out/renderer. */
const STATIC_DIR = resolve(import.meta.dirname, '../../out/renderer');

export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    'serve',
    argv,
    {
      demo: { type: 'boolean' },
      ports: { type: 'string' },
      'label-check': { type: 'boolean' },
      'label-printer': { type: 'string' },
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      // Only to refuse it with a reason: a token on the command line is in every user's `ps`.
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'allow-settings': { type: 'boolean' },
      'allow-host': { type: 'string', multiple: true },
      policy: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as {
    demo?: boolean;
    ports?: string;
    'label-check'?: boolean;
    'label-printer'?: string;
    config?: string;
    host?: string;
    port?: string;
    token?: string;
    'token-file'?: string;
    'allow-settings'?: boolean;
    'allow-host'?: string[];
    policy?: string;
    'data-dir'?: string;
  };
  if (values.token !== undefined) {
    console.error('station serve: --token is not accepted: every user of this machine can read a command line (ps). Put the token in STATION_TOKEN or in a file given with --token-file.');
    return 2;
  }
  // Whole numbers as written: Number('') is 0, and an unset shell variable must not become a random port.
  const wholeNumber = (text: string | undefined, fallback: number) => (text === undefined ? fallback : /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN);
  const demoPorts = wholeNumber(values.ports, 4);
  const port = wholeNumber(values.port, 8787);
  if (!Number.isInteger(demoPorts) || demoPorts < 1 || demoPorts > 64 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`station serve: --ports is 1 to 64 and --port 0 to 65535\n\n${HELP}`);
    return 2;
  }
  const printer = values['label-printer'] === undefined ? undefined : parsePrinterAddress(values['label-printer']);
  if (values.demo && values.config) {
    console.error(`station serve: --demo and --config each give the line; give one of them\n\n${HELP}`);
    return 2;
  }
  if ((values['label-check'] || values['label-printer'] !== undefined) && values.config) {
    console.error(`station serve: --label-check and --label-printer are for the demo line; a line configuration has its own "labels"\n\n${HELP}`);
    return 2;
  }
  if (values['label-printer'] !== undefined && !printer) {
    console.error(`station serve: --label-printer ${values['label-printer']}: write tcp://HOST:PORT or cups:QUEUE`);
    return 2;
  }
  const demoLabels = { ...(values['label-check'] ? { check: {} } : {}), ...(printer ? { print: { printer } } : {}) };
  const extraHosts = values['allow-host'] ?? [];
  for (const name of extraHosts) {
    const checked = hostNameSchema.safeParse(name);
    if (!checked.success) {
      console.error(`station serve: --allow-host ${name}: ${checked.error.issues[0]?.message ?? 'invalid'}`);
      return 2;
    }
  }
  const given = await givenToken(values['token-file']);
  // Loopback needs a token too: any program on this machine, or a page rebinding its name, could reach it otherwise.
  const token = given ?? randomBytes(24).toString('base64url');
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const policy = loadStationPolicy(dataDir, values.policy);
  const fixedConfig = values.config ? { config: await loadLineConfig(values.config), source: values.config } : undefined;
  const desk = new StationDesk({
    dataDir,
    settings: jsonFileSettingsStore(dataFolder(dataDir).settings),
    secretKey: await loadOrCreateKeyFile(dataDir),
    fixedConfig,
    policy,
    demoPorts,
    demoLabels,
  });
  let server;
  try {
    server = await startWebServer({ desk, staticDir: STATIC_DIR, host: values.host, port, token, allowSettings: values['allow-settings'] === true, allowedHosts: [...policy.allowedHosts, ...extraHosts] });
  } catch (error) {
    await desk.close(0);
    throw listenFailure(error, values.host ?? '127.0.0.1', port);
  }
  await desk.init();
  if (values.demo) {
    await desk.startDemo();
    const inMemory = desk.snapshot().header.demoInMemory;
    if (inMemory) console.log(`Demo line: the simulated units run in memory, not on ptys through the serial code (${inMemory})`);
  }
  // The token rides in the fragment, which browsers never send to a server or put in logs. A token the operator gave is theirs to paste.
  console.log(`Provisioning Station on ${server.url}#token=${given ? '<your token>' : token}`);
  if (values['allow-settings']) console.log('Settings, device profiles and firmware uploads can be changed from the browser (--allow-settings).');
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  console.log('Stopping: units at work get 30 s to finish…');
  await server.close();
  await desk.close();
  return 0;
}

/** Why the server could not listen, in the options' words: a port taken or a host not this machine's is bad usage (exit 2). */
function listenFailure(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new ConfigError(`--port ${port} is already in use on ${host} (another station serve, or another program)`, { hint: 'Stop that program, or pick another --port (0 picks a free one).' });
  if (code === 'EACCES') return new ConfigError(`--port ${port} may not be used by this user (ports below 1024 need privileges)`, { hint: 'Pick a --port from 1024 up, e.g. the default 8787.' });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConfigError(`--host ${host} is not an address of this machine (${code})`, { hint: 'Give one of its addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (every address).' });
  }
  return error;
}

/** STATION_TOKEN or --token-file (not both), at least MIN_TOKEN_LENGTH characters; the file must be readable by its owner only. */
async function givenToken(file: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env.STATION_TOKEN;
  if (fromEnv !== undefined && file !== undefined) throw new ConfigError('both STATION_TOKEN and --token-file give an access token', { hint: 'Give one of them.' });
  let token = fromEnv;
  if (file !== undefined) {
    let mode: number;
    try {
      mode = (await stat(file)).mode;
      token = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new ConfigError(`--token-file ${file} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ConfigError(`--token-file ${file} can be read by other users (mode ${(mode & 0o777).toString(8)})`, { hint: `Run chmod 600 ${file}.` });
    }
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(`the access token from ${file ? `--token-file ${file}` : 'STATION_TOKEN'} is ${token.length} characters long; it needs at least ${MIN_TOKEN_LENGTH}`, { hint: 'Make one with: openssl rand -hex 16' });
  }
  return token;
}
