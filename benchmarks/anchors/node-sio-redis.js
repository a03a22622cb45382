// Node socket.io 4.8 with @socket.io/redis-adapter: the production-topology anchor of
// benchmarks/topology.sh (issue #15). Several of these processes behind one nginx form one
// socket.io cluster: a room spans every process, a broadcast goes through Redis pub/sub.
//
// Wire contract: the shared load generator's `parley` preset (as ../shared/bench/servers/node-sio.js
// answers it), and its `anchor` preset as well:
//   CONNECT auth {token}              accepted, not verified (the anchors never check tokens)
//   'join' {room_id} | {room}         the socket joins that room
//   'message' {room_id, content}      every OTHER member of the room, on any process, gets
//                                     'message' {id, room_id, sender_id, content, created_at}
//   'message' {room, ts, body}        the same payload relayed as it came (anchor preset)
//   an ack callback, if the client asks for one, gets {id} once the broadcast is handed to the
//   adapter (nothing is stored: this is the lower bound of what a chat server does)
//
// Environment: PORT (3000), HOST (127.0.0.1), REDIS_URL (redis://127.0.0.1:6379),
// REDIS_KEY (the adapter's channel prefix, "socket.io"; give each run its own, since pub/sub
// channels are shared by every database number of a Redis server).
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter } = require('@socket.io/redis-adapter');

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const key = process.env.REDIS_KEY || 'socket.io';
const idPrefix = `${process.pid}-`;
let sent = 0;

function roomOf(d) {
  if (d == null || typeof d !== 'object') return null;
  const room = d.room_id != null ? d.room_id : d.room;
  return room == null ? null : String(room);
}

function onConnection(socket) {
  socket.on('join', (d, ack) => {
    const room = roomOf(d);
    if (room !== null) socket.join(room);
    if (typeof ack === 'function') ack({ room_id: room });
  });
  socket.on('message', (d, ack) => {
    const room = roomOf(d);
    if (room === null) return;
    let out = d; // anchor preset: relay the payload as it came
    if (d.room == null || d.room_id != null) {
      out = {
        id: idPrefix + ++sent,
        room_id: room,
        sender_id: socket.id,
        content: String(d.content),
        created_at: new Date().toISOString(),
      };
    }
    socket.to(room).emit('message', out);
    if (typeof ack === 'function') ack({ id: out.id });
  });
}

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', (err) => console.error('redis pub:', err.message));
  sub.on('error', (err) => console.error('redis sub:', err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  // Default server settings, as the single-process anchor; the adapter is the one change.
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key }) });
  io.on('connection', onConnection);
  httpServer.listen(port, host, () =>
    console.log(`node-sio-redis listening on ${host}:${port} pid=${process.pid} redis=${redisUrl} key=${key}`),
  );
  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
