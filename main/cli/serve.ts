import { join, resolve } from 'node:path';
import { loadLineConfig } from '../core/config/line-config.ts';
import { jsonFileSettingsStore } from '../core/desk/desk-settings.ts';
import { StationDesk } from '../core/desk/station-desk.ts';
import { startWebServer } from '../core/serve/web-server.ts';
import { loadOrCreateKeyFile } from '../core/storage/secret-box.ts';
import { defaultDataDir, parseCommand } from './args.ts';

const HELP = `Usage: station serve [--demo [--ports N]] [--config FILE] [--host ADDR] [--port N] [--token T] [--data-dir DIR]

Serves the station's screen to a browser: a supervisor's dashboard, or a
headless station. The page is the desktop app's own screen, over a WebSocket.

  --demo           start the demo line: a local cloud emulator and N simulated units
  --ports N        simulated units for --demo, 1 to 64 (default 4)
  --config FILE    run this line configuration (settings then cannot be edited on screen)
  --host ADDR      address to listen on (default 127.0.0.1); any other needs a token
  --port N         TCP port (default 8787; 0 picks a free one)
  --token T        access token (or STATION_TOKEN), at least 16 characters; open the
                   printed address, which carries it as #token=…
  --data-dir DIR   journal, settings, firmware cache and key (default ~/.local/share/provisioning-station)

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
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values as { demo?: boolean; ports?: string; config?: string; host?: string; port?: string; token?: string; 'data-dir'?: string };
  const demoPorts = Number(values.ports ?? 4);
  const port = Number(values.port ?? 8787);
  if (!Number.isInteger(demoPorts) || demoPorts < 1 || demoPorts > 64 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`station serve: --ports is 1 to 64 and --port 0 to 65535\n\n${HELP}`);
    return 2;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const fixedConfig = values.config ? { config: await loadLineConfig(values.config), source: values.config } : undefined;
  const desk = new StationDesk({
    dataDir,
    settings: jsonFileSettingsStore(join(dataDir, 'settings.json')),
    secretKey: await loadOrCreateKeyFile(dataDir),
    fixedConfig,
    demoPorts,
  });
  const token = values.token ?? process.env.STATION_TOKEN;
  let server;
  try {
    server = await startWebServer({ desk, staticDir: STATIC_DIR, host: values.host, port, token });
  } catch (error) {
    await desk.close(0);
    throw error;
  }
  await desk.init();
  if (values.demo) {
    await desk.startDemo();
    const inMemory = desk.snapshot().header.demoInMemory;
    if (inMemory) console.log(`Demo line: the simulated units run in memory, not on ptys through the serial code (${inMemory})`);
  }
  // The token rides in the fragment, which browsers never send to a server or put in logs.
  console.log(`Provisioning Station on ${server.url}${token ? '#token=<your token>' : ''}`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  console.log('Stopping: units at work get 30 s to finish…');
  await server.close();
  await desk.close();
  return 0;
}
