// Pushed events for browser-mode front ends (the Electron shell relays them over IPC instead). A client
// opens /api/events and sends {"token": "..."} first; it then receives {event, payload} messages for the
// events its role may see. A socket that does not authenticate within 5 s is closed.
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { ContractEvents } from '../contract/events.ts';
import { eventsFor } from '../service/event-permissions.ts';
import type { GatehouseService } from '../service/service.ts';

export function registerEventSocket(app: FastifyInstance, service: GatehouseService): void {
  app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.register(async (scope) => {
    scope.get('/api/events', { websocket: true }, (socket) => {
      const unsubscribe: Array<() => void> = [];
      const timer = setTimeout(() => socket.close(4401, 'authenticate first'), 5000);
      socket.once('message', (raw: Buffer) => {
        clearTimeout(timer);
        let token: unknown;
        try {
          token = (JSON.parse(String(raw)) as { token?: unknown }).token;
        } catch {
          token = undefined;
        }
        const actor = typeof token === 'string' ? service.authenticate(token) : null;
        if (!actor) {
          socket.close(4401, 'invalid token');
          return;
        }
        // Who may receive what: core/service/event-permissions.ts (the Electron shell uses the same).
        for (const name of eventsFor(actor.role)) {
          unsubscribe.push(
            service.on(name, (payload: ContractEvents[typeof name]) => {
              if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ event: name, payload }));
            }),
          );
        }
        socket.send(JSON.stringify({ event: 'ready', payload: { role: actor.role } }));
      });
      socket.on('close', () => {
        clearTimeout(timer);
        for (const u of unsubscribe) u();
      });
    });
  });
}
