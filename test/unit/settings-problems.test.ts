import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANSWER_ERROR_MAX, FIELD_PROBLEM_MAX, FIELD_PROBLEMS_MAX, type SettingsInput } from '../../contract/station-contract.ts';
import { storeInput } from '../../main/core/desk/desk-settings.ts';
import { dispatch } from '../../main/core/desk/dispatch.ts';
import { SettingsRefused, type FieldProblem } from '../../main/core/desk/settings-problems.ts';
import { StationDesk } from '../../main/core/desk/station-desk.ts';
import { loadStationPolicy } from '../../main/core/desk/station-policy.ts';
import { SecretBox } from '../../main/core/storage/secret-box.ts';

const box = new SecretBox(randomBytes(32));
const dataDir = mkdtempSync(join(tmpdir(), 'settings-problems-'));
writeFileSync(join(dataDir, 'station.key'), randomBytes(32), { mode: 0o600 });
const policy = loadStationPolicy(dataDir);

/** What the station's own checks (the ones saving runs) say of these settings, field by field. */
function problems(input: Partial<SettingsInput> & Pick<SettingsInput, 'backend'>): FieldProblem[] {
  try {
    storeInput({ url: 'wss://socket.fleetfreedom.com', fields: {}, ports: ['/dev/ttyACM0'], autoStart: false, ...input }, undefined, box, policy);
    return [];
  } catch (error) {
    if (error instanceof SettingsRefused) return error.problems;
    throw error;
  }
}

describe('settings problems in plain words, on the field a technician sees', () => {
  it('names each missing or wrong field by its label, never by a configuration path', () => {
    const found = problems({ backend: 'fleetfreedom', fields: { company: 'twelve', providerKind: 'json', firmwareVersion: 'v1' } });
    expect(found).toEqual(
      expect.arrayContaining([
        { field: 'username', label: 'User name', message: 'User name is required' },
        { field: 'secret', label: 'Password', message: 'Password is required' },
        { field: 'company', label: 'Company id', message: 'Company id must be a number' },
      ]),
    );
    for (const problem of found) expect(problem.message, problem.message).not.toMatch(/cloud\.|Invalid input|expected string|received undefined/);
    // A backend that serves no firmware needs a file named.
    expect(problems({ backend: 'fleetfreedom', secret: 'pw', fields: { username: 'u', company: '12', providerKind: 'json' } })).toEqual([
      { field: 'firmwarePath', label: 'Firmware file', message: expect.stringMatching(/serves no firmware: choose a firmware file and its version id$/) },
    ]);
  });

  it('a choice outside its list says the choices; a bad address and ports are named as the form names them', () => {
    const found = problems({ backend: 'fleetfreedom', url: '', secret: 'pw', fields: { username: 'u', company: '1', providerKind: 'xml', firmwareVersion: 'v1' }, ports: ['dev/ttyACM0', { path: '/dev/ttyACM1', slot: 'A 1' }] });
    const byField = (field: string) => found.filter((problem) => problem.field === field).map((problem) => problem.message);
    expect(byField('providerKind')).toEqual([expect.stringMatching(/^Provider kind must be one of .*json/)]);
    expect(byField('url')).toEqual(['Address is required']);
    expect(byField('ports')).toEqual(expect.arrayContaining([expect.stringMatching(/^Port dev\/ttyACM0 is not a serial port path\. Name a serial port \(e\.g\. \/dev\/ttyACM0/), expect.stringMatching(/^Ports: a slot is 1 to 16 letters/)]));
  });

  it('an unknown backend is a problem of the backend field', () => {
    expect(problems({ backend: 'nowhere' })).toEqual([{ field: 'backend', label: 'Backend', message: expect.stringMatching(/^There is no cloud backend "nowhere"/) }]);
  });
});

describe('a problem naming a long path, as a screen gets it', () => {
  const desks: StationDesk[] = [];
  afterEach(async () => {
    for (const desk of desks.splice(0)) await desk.close(0);
  });

  it('is fitted to the contract, start and end kept, on its field: checking answers the problem, saving refuses with it', async () => {
    // The operator's policy may name a firmware folder as deep as the system allows (4096 characters); the problem names it twice.
    const folder = join(dataDir, 'deep', ...Array.from({ length: 30 }, (_, level) => `firmware-folder-level-${String(level).padStart(2, '0')}-${'x'.repeat(80)}`));
    expect(folder.length).toBeGreaterThan(FIELD_PROBLEM_MAX);
    const policyFile = join(dataDir, 'long-folder-policy.json');
    writeFileSync(policyFile, JSON.stringify({ firmwareFolder: folder }));
    const desk = new StationDesk({ dataDir, policy: loadStationPolicy(dataDir, policyFile), settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    desks.push(desk);
    const input: SettingsInput = {
      backend: 'fleetfreedom',
      url: 'wss://socket.fleetfreedom.com',
      fields: { username: 'u', company: '12', providerKind: 'json', firmwarePath: 'therm-1.2.0.bin', firmwareVersion: 'v1.2.0' },
      secret: 'pw',
      ports: ['/dev/ttyACM0'],
      autoStart: false,
    };
    const checked = await dispatch(desk, 'checkSettings', [input]);
    expect(checked.ok, JSON.stringify(checked).slice(0, 300)).toBe(true);
    const [problem, ...others] = (checked as { value: FieldProblem[] }).value;
    expect(others).toEqual([]);
    expect(problem).toMatchObject({ field: 'firmwarePath', label: 'Firmware file' });
    expect(problem!.message.length).toBeLessThanOrEqual(FIELD_PROBLEM_MAX);
    expect(problem!.message).toMatch(/^Firmware file therm-1\.2\.0\.bin cannot be used: the firmware folder .*…/);
    expect(problem!.message).toMatch(/only files in that folder can be named from a screen\.$/);
    const saved = await dispatch(desk, 'saveSettings', [input]);
    expect(saved.ok).toBe(false);
    const error = (saved as { error: string }).error;
    expect(error.length).toBeLessThanOrEqual(ANSWER_ERROR_MAX);
    expect(error).toMatch(/^settings not saved: Firmware file therm-1\.2\.0\.bin cannot be used/);
  });

  it('a check of 256 refused ports answers within the contract: the first problems, then how many more', async () => {
    const desk = new StationDesk({ dataDir, settings: { read: () => undefined, write: () => undefined }, secretKey: randomBytes(32) });
    desks.push(desk);
    const ports = Array.from({ length: 256 }, (_, index) => `ttyUSB${index}`);
    const input: SettingsInput = { backend: 'gadgetkeeper', url: 'https://api.gadgetkeeper.example', fields: {}, secret: 'pk-product-key-0001', ports, autoStart: false };
    const checked = await dispatch(desk, 'checkSettings', [input]);
    expect(checked.ok, JSON.stringify(checked).slice(0, 300)).toBe(true);
    const found = (checked as { value: FieldProblem[] }).value;
    expect(found).toHaveLength(FIELD_PROBLEMS_MAX);
    expect(found[0]).toMatchObject({ field: 'ports', message: expect.stringContaining('ttyUSB0') });
    expect(found.at(-1)).toMatchObject({ field: 'ports', message: `and ${256 - (FIELD_PROBLEMS_MAX - 1)} more problems (Ports) not listed: correct those above first` });
  });
});
