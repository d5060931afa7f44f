/**
 * The raw baseline of bench/sync-latency.ts, run as its own process like Hearth is: a bare WebSocket
 * server that relays each message to every socket subscribed to its room. No storage, no auth, no event
 * format: the floor that delivering a chat message over a socket costs on this machine.
 *
 * Protocol (JSON text frames): {"join": room} subscribes the socket; {"room": room, ...} is relayed as is
 * to the room's sockets. Prints "listening PORT" once ready.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });

server.on('connection', (socket) => {
  socket.on('message', (data) => {
    const text = data.toString();
    const message = JSON.parse(text) as { join?: string; room?: string };
    if (message.join !== undefined) {
      let members = rooms.get(message.join);
      if (members === undefined) rooms.set(message.join, (members = new Set()));
      members.add(socket);
      socket.send(JSON.stringify({ joined: message.join }));
    } else if (message.room !== undefined) {
      for (const member of rooms.get(message.room) ?? []) member.send(text);
    }
  });
});

server.on('listening', () => {
  const address = server.address();
  if (typeof address === 'object' && address !== null) console.log(`listening ${address.port}`);
});
