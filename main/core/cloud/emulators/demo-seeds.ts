import type { ExositeSeed } from '../exosite/emulator.ts';
import type { FleetFreedomSeed } from '../fleetfreedom/emulator.ts';
import type { GadgetKeeperSeed } from '../gadgetkeeper/emulator.ts';

/** THERM00000000000001 … THERM00000000000nnn: the serial numbers the demo line's simulated units use. */
export function demoSerials(count = 100): string[] {
  return Array.from({ length: count }, (_, i) => `THERM${String(i + 1).padStart(14, '0')}`);
}

export const DEMO_GADGETKEEPER_SEED: GadgetKeeperSeed = {
  products: [
    {
      name: 'Thermometer',
      serialNumbers: demoSerials(),
      versions: [
        { name: '1.0.0', description: 'factory image', firmware: { size: 128 * 1024 } },
        { name: '1.1.0', description: 'current release', firmware: { size: 256 * 1024 } },
      ],
      target: '1.1.0',
    },
  ],
};

export const DEMO_EXOSITE_SEED: ExositeSeed = {
  models: [
    {
      vendor: 'acme',
      model: 'thermometer',
      serialNumbers: demoSerials(),
      content: [{ id: 'thermometer-1.1.0.bin', description: 'current release', firmware: { size: 256 * 1024 } }],
    },
  ],
};

/** A demo account; the emulator is local and these are not secrets of any real service. */
export const DEMO_FLEETFREEDOM_SEED: FleetFreedomSeed = {
  companies: [{ id: 1, name: 'Demo Fleet' }],
  users: [{ username: 'demo', password: 'demo-password', companies: [1] }],
};
