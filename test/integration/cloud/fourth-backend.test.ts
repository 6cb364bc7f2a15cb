import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cloudBackends, registerCloudBackend } from '../../../main/core/cloud/backends.ts';
import { REPEATABLE, type CloudAdapter, type ThingCredentials } from '../../../main/core/cloud/cloud-adapter.ts';
import type { CloudBackendDescriptor } from '../../../main/core/cloud/cloud-backend.ts';
import { serveEmulator } from '../../../main/core/cloud/emulators/http-emulator.ts';
import { lineConfigSchema } from '../../../main/core/config/line-config.ts';
import { settingsView, storeInput, toLineConfig } from '../../../main/core/desk/desk-settings.ts';
import { defaultStationPolicy } from '../../../main/core/desk/station-policy.ts';
import { referenceProfile } from '../../../main/core/devices/profile/load-profile.ts';
import type { StationEvent } from '../../../main/core/engine/events.ts';
import { Station } from '../../../main/core/engine/station.ts';
import { createMemoryPortPair } from '../../../main/core/ports/memory-port.ts';
import { DeviceSimulator } from '../../../main/core/simulator/device-simulator.ts';
import { SecretBox } from '../../../main/core/storage/secret-box.ts';
import { secretRefSchema } from '../../../main/core/secret-ref.ts';

/**
 * A fourth cloud, written in this one file as a backend's author would: a
 * descriptor with its configuration, steps, settings, adapter and emulator.
 * Registering it is all it takes for the station to configure, offer and
 * plan it; nothing else in the product changes.
 */
const ACME = { id: 'acme-iot', label: 'Acme IoT' };
const calls: string[] = [];
const acmeConfig = z
  .object({ backend: z.literal(ACME.id), url: z.string().url(), token: secretRefSchema, fleet: z.number().int().positive(), allowInsecureHttp: z.boolean().default(false) })
  .strict();

class AcmeAdapter implements CloudAdapter {
  readonly backend = ACME;
  readonly account = 'acme-iot https://acme.example';
  // Activation and confirmation only: no firmware from this cloud (a pinned file), no rename.
  readonly steps = { activate: { retrySafe: false, replaySafe: true }, confirm: REPEATABLE };
  async activate(serial: string): Promise<ThingCredentials> {
    calls.push(`activate ${serial}`);
    return { thingId: `acme-${serial}`, apiKey: 'a'.repeat(32) };
  }
  async confirmVersion(credentials: ThingCredentials, versionId: string): Promise<void> {
    calls.push(`confirm ${credentials.thingId} ${versionId}`);
  }
  async probe(): Promise<void> {}
  async close(): Promise<void> {}
}

const acmeBackend: CloudBackendDescriptor<z.output<typeof acmeConfig>> = {
  ...ACME,
  configSchema: acmeConfig,
  steps: new AcmeAdapter().steps,
  settings: { fields: [{ name: 'fleet', label: 'Fleet number', kind: 'number', required: true }], secret: { label: 'API token', configKey: 'token' } },
  async createAdapter() {
    return new AcmeAdapter();
  },
  startEmulator: ({ port }) => serveEmulator(() => ({ step: 'ping', run: () => ({ status: 200, body: { ok: true } }) }), { port }),
};

describe('a fourth cloud backend, added in one file', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    calls.length = 0;
  });

  it('is accepted by the line configuration, offered and stored by Settings, run by the pipeline from its declared steps, and emulated', async () => {
    cleanup.push(registerCloudBackend(acmeBackend));
    expect(cloudBackends().map((backend) => backend.id)).toContain('acme-iot');

    // Configuration: its own schema checks its fields, with their paths.
    expect(lineConfigSchema.safeParse({ cloud: { backend: 'acme-iot', url: 'https://acme.example', token: 't', fleet: 'x' } }).error?.issues.map((issue) => issue.path.join('.'))).toEqual(['cloud.fleet']);
    const dir = mkdtempSync(join(tmpdir(), 'acme-'));
    const firmware = join(dir, 'fw.bin');
    writeFileSync(firmware, randomBytes(20_000));

    // Settings: offered with its field and secret label, stored with the secret sealed, turned into a configuration.
    const policy = defaultStationPolicy(join(dir, 'data'));
    mkdirSync(policy.firmwareFolder, { recursive: true });
    writeFileSync(join(policy.firmwareFolder, 'fw.bin'), randomBytes(1000));
    const box = new SecretBox(randomBytes(32));
    const view = settingsView(undefined, referenceProfile, policy);
    expect(view.backends.find((backend) => backend.id === 'acme-iot')).toEqual({ id: 'acme-iot', label: 'Acme IoT', fields: [{ name: 'fleet', label: 'Fleet number', kind: 'number', required: true }], secretLabel: 'API token', servesFirmware: false });
    const stored = storeInput({ backend: 'acme-iot', url: 'https://acme.example', fields: { fleet: '7', firmwarePath: 'fw.bin', firmwareVersion: 'fw-9' }, secret: 'token-1', ports: [], autoStart: false }, undefined, box, policy);
    expect(JSON.stringify(stored)).not.toContain('token-1');
    expect(toLineConfig(stored, box, policy).cloud).toEqual({ backend: 'acme-iot', url: 'https://acme.example', fleet: 7, token: 'token-1', allowInsecureHttp: false });
    // A cloud that serves no firmware needs a pinned file, as the descriptor's steps say.
    expect(lineConfigSchema.safeParse({ cloud: { backend: 'acme-iot', url: 'https://acme.example', token: 't', fleet: 1 } }).error?.issues[0]?.message).toBe(
      'Acme IoT serves no firmware: pin a file with {"source":"file","path":…,"versionId":…}',
    );

    // Pipeline: the plan follows the declared steps (activate, confirm), and the unit gets this cloud's credentials.
    const [stationEnd, deviceEnd] = createMemoryPortPair('sim://acme-1');
    const unit = new DeviceSimulator(deviceEnd, { serial: 'ACME0001', bootDelayMs: 5 });
    const config = lineConfigSchema.parse({ cloud: { backend: 'acme-iot', url: 'https://acme.example', token: 't', fleet: 1 }, firmware: { source: 'file', path: firmware, versionId: 'fw-9' } });
    const station = await Station.open({ config, dataDir: join(dir, 'station'), profile: referenceProfile, open: async () => stationEnd });
    cleanup.push(() => station.close());
    const events: StationEvent[] = [];
    const [outcome] = await station.provisionOnce(['sim://acme-1'], (event) => events.push(event));
    expect(outcome).toMatchObject({ result: 'passed', thingId: 'acme-ACME0001', versionId: 'fw-9' });
    const ran = events.filter((event) => event.type === 'step' && event.status === 'started').map((event) => (event as { step: string }).step);
    expect(ran).toEqual(['identify', 'activate', 'target-version', 'current-version', 'download', 'flash', 'write-credentials', 'verify-credentials', 'reboot', 'confirm']);
    expect(calls).toEqual(['activate ACME0001', 'confirm acme-ACME0001 fw-9']);
    expect(unit.storedCredentials).toEqual({ thingId: 'acme-ACME0001', apiKey: 'a'.repeat(32) });

    // Emulator: started through the descriptor, as station sim cloud does.
    const emulator = await acmeBackend.startEmulator({});
    cleanup.push(() => emulator.stop());
    expect(await (await fetch(`${emulator.url}/anything`)).json()).toEqual({ ok: true });
  });
});
