import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventually } from '../support/eventually';

/*
 * A stand-in for Slack's Socket Mode server on loopback, as Slack runs it: the app connects to the URL that
 * apps.connections.open handed out (the fake Slack's `socketModeUrl`), Slack says hello, then delivers each event,
 * slash command or interaction in an envelope the app must acknowledge with its envelope_id within 3 s.
 */

/** What the app sent back for an envelope: its id and, for a view_submission that answers, the response payload. */
export interface SocketModeAck {
  envelope_id: string;
  payload?: unknown;
}

/** Envelope types Slack uses: a slash command's form fields, or an interaction's payload (modal, button). */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface FakeSocketMode {
  /** ws://127.0.0.1:<port>/link, for the fake Slack's socketModeUrl. */
  url: string;
  /** Waits for the app to connect, delivers `payload` on its newest connection and waits for the acknowledgement. */
  deliver(type: EnvelopeType, payload: object, envelopeId?: string): Promise<SocketModeAck>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(): Promise<FakeSocketMode> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const sockets: WebSocket[] = [];
  const acks: SocketModeAck[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => acks.push(JSON.parse(String(data)) as SocketModeAck));
    socket.send(
      JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: {} }),
    );
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`,
    async deliver(type, payload, envelopeId = randomUUID()) {
      const socket = await eventually(() => sockets.at(-1), { description: 'the app to connect over Socket Mode' });
      socket.send(JSON.stringify({ envelope_id: envelopeId, type, accepts_response_payload: true, payload }));
      return eventually(() => acks.find((ack) => ack.envelope_id === envelopeId), {
        timeoutMs: 3_000,
        description: `the app to acknowledge envelope ${envelopeId} within Slack's 3 s`,
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        wss.close(() => resolve());
      }),
  };
}
