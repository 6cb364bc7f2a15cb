import { StationError } from '../errors.ts';

/** Which serial number is being provisioned on which port: two ports may not work on the same unit identity. */
export class ActiveSerials {
  private readonly ports = new Map<string, string>();

  claim(serial: string, port: string): void {
    const holder = this.ports.get(serial);
    if (holder !== undefined && holder !== port) {
      throw new StationError('SERIAL_DUPLICATE', `serial number ${serial} is already being provisioned on port ${holder}`, {
        hint: 'Two units report the same serial number; set this one aside and report it to the vendor.',
      });
    }
    this.ports.set(serial, port);
  }

  release(serial: string, port: string): void {
    if (this.ports.get(serial) === port) this.ports.delete(serial);
  }
}
