import { z } from 'zod';
import { sleep } from '../../sleep.ts';
import type { LineControl } from '../../ports/line-control.ts';

/**
 * Reset sequences as data: each step sets DTR and/or RTS, or waits. On a
 * board with the usual auto-reset circuit RTS pulls EN (reset) low and DTR
 * pulls IO0 (boot mode) low, each only while the other is released; the EN
 * line's capacitor makes a brief pass through "both asserted" harmless.
 */
export const resetStepSchema = z.union([
  z.object({ waitMs: z.number().int().min(0).max(10_000) }).strict(),
  z
    .object({ dtr: z.boolean().optional(), rts: z.boolean().optional() })
    .strict()
    .refine((step) => step.dtr !== undefined || step.rts !== undefined, 'sets neither dtr nor rts'),
]);
export type ResetStep = z.infer<typeof resetStepSchema>;

/** esptool's sequences (reset.py), step for step. */
export const RESET_SEQUENCES = {
  /** ClassicReset: EN low, then IO0 low as EN rises, then IO0 released. */
  classic: [{ dtr: false }, { rts: true }, { waitMs: 100 }, { dtr: true }, { rts: false }, { waitMs: 50 }, { dtr: false }],
  /** USBJTAGSerialReset: the sequence ESP32-S3/C3 built-in USB-Serial/JTAG peripherals understand. */
  'usb-jtag-serial': [{ rts: false }, { dtr: false }, { waitMs: 100 }, { dtr: true }, { rts: false }, { waitMs: 100 }, { rts: true }, { dtr: false }, { rts: true }, { waitMs: 100 }, { dtr: false }, { rts: false }],
  /** HardReset: EN pulsed low with IO0 released; the chip boots its application. */
  'hard-reset': [{ rts: true }, { waitMs: 100 }, { rts: false }],
} as const satisfies Record<string, readonly ResetStep[]>;

type NamedResetSequence = keyof typeof RESET_SEQUENCES;

export function resetSequence(nameOrSteps: NamedResetSequence | readonly ResetStep[]): readonly ResetStep[] {
  return typeof nameOrSteps === 'string' ? RESET_SEQUENCES[nameOrSteps] : nameOrSteps;
}

/** Drives the lines through the steps; a port without modem lines rejects on the first step. */
export async function runResetSequence(control: LineControl, steps: readonly ResetStep[], signal?: AbortSignal): Promise<void> {
  for (const step of steps) {
    if ('waitMs' in step) await sleep(step.waitMs, signal);
    else await control.setSignals(step);
  }
}
