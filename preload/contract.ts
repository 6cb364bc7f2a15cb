import { z } from 'zod';

/**
 * The contract between the station core and any screen: Electron's preload
 * bridge today, a WebSocket for the browser dashboard later. Both directions
 * are validated against these schemas.
 */

export const discoveredPortSchema = z
  .object({
    path: z.string().min(1).max(512),
    vendorId: z.string().max(8).optional(),
    productId: z.string().max(8).optional(),
    serialNumber: z.string().max(128).optional(),
    manufacturer: z.string().max(256).optional(),
  })
  .strict();

export const portListSchema = z
  .object({
    ports: z.array(discoveredPortSchema).max(1024),
    /** Set when the OS could not enumerate ports; says what to do. */
    problem: z.string().max(1000).optional(),
  })
  .strict();

export type PortList = z.infer<typeof portListSchema>;

/** Every request the renderer may make: channel name → schema of its (argument-free) payload. */
export const requestSchemas = {
  'ports:list': z.tuple([]),
} as const;

export type Channel = keyof typeof requestSchemas;

/** What the renderer sees as window.station. */
export interface StationBridge {
  listPorts(): Promise<PortList>;
}
