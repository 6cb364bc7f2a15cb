import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { parseOrThrow } from '../../validation.ts';
import { FF, PROVIDER_KINDS } from './protocol.ts';

export { FF };

export const fleetFreedomSeedSchema = z
  .object({
    companies: z.array(z.object({ id: z.number().int().positive(), name: z.string() }).strict()).min(1),
    users: z.array(z.object({ username: z.string().min(1), password: z.string().min(1), companies: z.array(z.number().int()) }).strict()).min(1),
  })
  .strict();

export type FleetFreedomSeed = z.input<typeof fleetFreedomSeedSchema>;

export interface Provider {
  id: string;
  company: number;
  kind: string;
  v: number;
  password?: string;
  phoneNumber?: string;
}

/** Faults for the next matching requests (by message name). */
export type SocketFault = { command: string; times?: number } & (
  | { kind: 'no-answer' }
  /** Does the work, then drops the connection before answering. */
  | { kind: 'drop-after-effect' }
  | { kind: 'latency'; ms: number }
);

interface Session {
  ghostId: string;
  username: string;
  companies: number[];
}

export interface FleetFreedomEmulator {
  url: string;
  providers: Map<string, Provider>;
  /** Providers ever created: what the company would be billed for. */
  created: number;
  /** Requests received per message name. */
  calls: Map<string, number>;
  /** Every request received, in order, for tests that check what the station sent. */
  received: Array<{ name: string; body: Record<string, unknown> }>;
  addFault(fault: SocketFault): void;
  /** Network down: drops every connection and refuses new ones until set back. */
  setOffline(offline: boolean): void;
  /** Ends every session (as the real service does on expiry) and drops the connections. */
  expireSessions(): void;
  stop(): Promise<void>;
}

/** The Fleet Freedom (Trak iT) WebSocket API as the spec describes it; one session per connection. */
export async function startFleetFreedomEmulator(seed: FleetFreedomSeed, options: { port?: number; connectionDelayMs?: number } = {}): Promise<FleetFreedomEmulator> {
  const data = parseOrThrow(fleetFreedomSeedSchema, seed, 'Fleet Freedom emulator seed');
  const companies = new Set(data.companies.map((c) => c.id));
  const sessions = new Map<string, Session>();
  const faults: Array<SocketFault & { left: number }> = [];
  const server = new WebSocketServer({ port: options.port ?? 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));

  let offline = false;
  const emulator: FleetFreedomEmulator = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    providers: new Map(),
    created: 0,
    calls: new Map(),
    received: [],
    addFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    setOffline(value) {
      offline = value;
      if (offline) for (const client of server.clients) client.terminate();
    },
    expireSessions() {
      sessions.clear();
      for (const client of server.clients) client.terminate();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };

  const send = (socket: WebSocket, name: string, body: object) => socket.send(`${name} ${JSON.stringify(body)}`);

  server.on('connection', (socket, request) => {
    if (offline) return socket.terminate();
    const ghostId = decodeURIComponent((request.url ?? '/').slice(1));
    let session: Session | undefined;
    let greeted = false;
    setTimeout(() => {
      greeted = true;
      if (ghostId === '') return send(socket, 'connectionResponse', { errorCode: FF.userNotLoggedIn, message: 'not logged in' });
      session = sessions.get(ghostId);
      if (!session) return send(socket, 'connectionResponse', { errorCode: FF.sessionExpired, message: 'session expired' });
      send(socket, 'connectionResponse', { errorCode: FF.ok, message: '', ghostId });
    }, options.connectionDelayMs ?? 20);

    socket.on('message', async (raw) => {
      if (!greeted) {
        // Nothing may be sent before connectionResponse.
        socket.close(1008, 'message before connectionResponse');
        return;
      }
      const text = raw.toString();
      const space = text.indexOf(' ');
      const name = space < 0 ? text : text.slice(0, space);
      let body: Record<string, unknown>;
      try {
        body = space < 0 ? {} : (JSON.parse(text.slice(space + 1)) as Record<string, unknown>);
      } catch {
        return send(socket, `${name}Response`, { errorCode: FF.invalidData, message: 'invalid JSON' });
      }
      emulator.calls.set(name, (emulator.calls.get(name) ?? 0) + 1);
      emulator.received.push({ name, body });
      const hits = faults.filter((f) => f.command === name && f.left > 0);
      for (const hit of hits) hit.left--;
      for (const hit of hits) if (hit.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, hit.ms));
      const reply = (answer: Record<string, unknown>) => {
        if (hits.some((h) => h.kind === 'no-answer')) return;
        if (hits.some((h) => h.kind === 'drop-after-effect')) return socket.terminate();
        send(socket, `${name}Response`, { reqId: body.reqId, message: '', ...answer });
      };

      switch (name) {
        case 'login': {
          const user = data.users.find((u) => u.username === body.username && u.password === body.password);
          if (!user) return reply({ errorCode: FF.invalidCredentials, message: 'invalid credentials' });
          session = { ghostId: randomBytes(12).toString('hex'), username: user.username, companies: user.companies };
          sessions.set(session.ghostId, session);
          return reply({ errorCode: FF.ok, ghostId: session.ghostId });
        }
        case 'noop':
          return reply({ errorCode: FF.ok });
        case 'mergeProvider': {
          if (!session || !sessions.has(session.ghostId)) return reply({ errorCode: FF.userNotLoggedIn, message: 'not logged in' });
          const provider = body.provider as Record<string, unknown> | undefined;
          const id = provider?.id;
          const company = provider?.company;
          if (typeof id !== 'string' || id === '' || typeof company !== 'number') return reply({ errorCode: FF.invalidData, message: 'provider.id and provider.company are required' });
          if (!companies.has(company)) return reply({ errorCode: FF.companyNotFound, message: `company ${company} not found` });
          if (!session.companies.includes(company)) return reply({ errorCode: FF.permissionDenied, message: 'permission denied' });
          const existing = emulator.providers.get(id);
          if (provider!.v !== undefined) {
            if (!existing) return reply({ errorCode: FF.providerNotFound, message: 'provider not found' });
            if (provider!.v !== existing.v) return reply({ errorCode: FF.wrongVersionKey, message: 'wrong version key' });
            existing.v++;
            return reply({ errorCode: FF.ok, provider: { id, company: existing.company } });
          }
          if (!PROVIDER_KINDS.includes(provider!.kind as (typeof PROVIDER_KINDS)[number])) return reply({ errorCode: FF.invalidData, message: `unknown provider kind ${String(provider!.kind)}` });
          // [station default] for a duplicate create: invalidData, saying the provider exists.
          if (existing) return reply({ errorCode: FF.invalidData, message: `provider ${id} already exists` });
          emulator.providers.set(id, { id, company, kind: provider!.kind as string, v: 1 });
          emulator.created++;
          return reply({ errorCode: FF.ok, provider: { id, company } });
        }
        default:
          return reply({ errorCode: FF.unknownCommand, message: `unknown command ${name}` });
      }
    });
  });
  return emulator;
}

/** A demo account; the emulator is local and these are not secrets of any real service. */
export const DEMO_FLEETFREEDOM_SEED: FleetFreedomSeed = {
  companies: [{ id: 1, name: 'Demo Fleet' }],
  users: [{ username: 'demo', password: 'demo-password', companies: [1] }],
};
