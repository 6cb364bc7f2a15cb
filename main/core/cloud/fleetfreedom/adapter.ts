import type { CallOptions, CallSafety, CloudAdapter, CloudStep } from '../cloud-adapter.ts';
import { cloudAccount, REPEATABLE } from '../cloud-adapter.ts';
import { CloudError } from '../cloud-error.ts';
import { printableExcerpt } from '../../printable-text.ts';
import { FF, FLEET_FREEDOM } from './protocol.ts';
import { FleetFreedomSession, type FleetFreedomSessionSettings } from './session.ts';
import { withRetry, type RetryPolicy } from '../http.ts';

export interface FleetFreedomSettings extends FleetFreedomSessionSettings {
  /** The company the units are added to. */
  company: number;
  /** The provider kind of these units (e.g. "json", "lmu"). */
  providerKind: string;
  retry?: RetryPolicy;
}

/**
 * Fleet Freedom registers a unit as a provider with mergeProvider. A new
 * provider is billed, so the call never carries `v` (which would make it an
 * update) and an "already exists" answer counts as registered; that makes a
 * repeat after a lost answer safe.
 */
/** Registration only: an existing provider counts as registered, so a repeat is safe; firmware comes from a pinned file. */
export const FLEET_FREEDOM_STEPS: Readonly<Partial<Record<CloudStep, CallSafety>>> = Object.freeze({ register: REPEATABLE });

export class FleetFreedomAdapter implements CloudAdapter {
  readonly backend = FLEET_FREEDOM;
  readonly steps = FLEET_FREEDOM_STEPS;
  readonly account: string;
  private readonly session: FleetFreedomSession;
  private readonly settings: FleetFreedomSettings;

  constructor(settings: FleetFreedomSettings) {
    this.settings = settings;
    this.session = new FleetFreedomSession(settings);
    this.account = cloudAccount(FLEET_FREEDOM, settings.url, String(settings.company));
  }

  async register(serial: string, options: CallOptions = {}): Promise<{ alreadyRegistered: boolean }> {
    const where = { serial, step: 'register' };
    return withRetry(
      async () => {
        const answer = await this.session.request('mergeProvider', { provider: { kind: this.settings.providerKind, company: this.settings.company, id: serial } }, 'register');
        if (answer.errorCode === FF.ok) return { alreadyRegistered: false };
        if (answer.errorCode === FF.invalidData && /exist/i.test(answer.message ?? '')) return { alreadyRegistered: true };
        // The cloud's own words, as short printable text: its message has no length limit.
        const said = answer.message ? printableExcerpt(answer.message) : undefined;
        const known: Record<number, [string, string]> = {
          [FF.companyNotFound]: [`company ${this.settings.company} does not exist in Fleet Freedom`, 'Fix the company id in the cloud settings.'],
          [FF.permissionDenied]: [`user ${this.settings.username} may not add providers to company ${this.settings.company}`, 'Ask the Fleet Freedom administrator for permission.'],
          [FF.invalidData]: [`Fleet Freedom refused provider ${serial} as invalid (${said ?? 'invalidData'})`, 'Check the provider kind and the serial number format.'],
        };
        const [message, hint] = known[answer.errorCode] ?? [`Fleet Freedom refused provider ${serial} (error ${answer.errorCode}${said ? `: ${said}` : ''})`, undefined];
        throw new CloudError(message, { backend: this.backend, cloudStep: 'register', failure: answer.errorCode === FF.companyNotFound ? 'not-found' : 'refused', retryable: false, where, hint });
      },
      { retrySafe: true, policy: this.settings.retry, signal: options.signal },
    );
  }

  async probe(): Promise<void> {
    await this.session.probe();
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
