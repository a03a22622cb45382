// socket.io-client 2.x (Engine.IO 3) against Parley, beside the 4.x client. One scenario a run:
//   node v2.mjs roundtrip BASE TOKEN_A TOKEN_B ROOM TRANSPORTS
//     a v2 client (token in the query) and a v4 client join ROOM; each sends, the other gets it
//     (TRANSPORTS: "websocket", "polling" or "polling,websocket" for the upgrade)
//   node v2.mjs authenticate BASE TOKEN      no token at connect, then `authenticate {token}`
//   node v2.mjs gameplay BASE TOKEN_A TOKEN_B    /gameplay: create a room, join it, relay
//   node v2.mjs refused BASE                 a bad token in the query: the `error` events
//   node v2.mjs reconnect BASE TOKEN TRANSPORTS
//     pongs keep it connected; then the client stops pinging, the server drops it, and the
//     client reconnects (and signs in again from its query) by itself
// Prints one JSON line.
import ioV2 from "socket.io-client-v2";
import { io as ioV4 } from "socket.io-client";

const [scenario, base, ...args] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 20000);

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

function ack(socket, event, data) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5000);
    socket.emit(event, data, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

function v2(path, options) {
  return ioV2(`${base}${path}`, { forceNew: true, reconnection: false, timeout: 5000, ...options });
}

async function connected(socket, signal = "connect") {
  await new Promise((resolve, reject) => {
    socket.once(signal, resolve);
    socket.once("error", (error) => reject(new Error(`error event: ${JSON.stringify(error)}`)));
    socket.once("connect_error", reject);
  });
  return socket;
}

async function roundtrip([tokenA, tokenB, room, transports]) {
  const alice = v2("/", { query: { token: tokenA }, transports: transports.split(",") });
  const authenticated = once(alice, "authenticated");
  await connected(alice);
  const signedIn = await authenticated;
  const bob = ioV4(base, { auth: { token: tokenB }, transports: ["websocket"], reconnection: false });
  await connected(bob);
  const joined = await ack(alice, "join", { room_id: room });
  await bob.timeout(5000).emitWithAck("join", { room_id: room });
  if (transports.includes("websocket") && alice.io.engine.transport.name !== "websocket") {
    await once(alice.io.engine, "upgrade");
  }
  const atBob = once(bob, "message");
  const stored = await ack(alice, "message", { room_id: room, content: "from v2" });
  const receivedByBob = await atBob;
  const atAlice = once(alice, "message");
  await bob.timeout(5000).emitWithAck("message", { room_id: room, content: "from v4" });
  const receivedByAlice = await atAlice;
  const transport = alice.io.engine.transport.name;
  alice.close();
  bob.close();
  return { signedIn, joined, stored, receivedByBob, receivedByAlice, transport };
}

async function authenticate([token]) {
  const socket = await connected(v2("/", {}));
  const before = await ack(socket, "join", { room_id: "v2-before-sign-in" });
  const answer = await ack(socket, "authenticate", { token });
  const after = await ack(socket, "heartbeat", {});
  socket.close();
  return { before, answer, after };
}

async function gameplay([tokenA, tokenB]) {
  // Alice names her token on the namespace only (`0/gameplay?token=…,`): the Engine.IO URL
  // carries it too, so she is signed in on the implicit `/` as well. Bob signs in afterwards.
  const alice = v2("/gameplay", { query: { token: tokenA } });
  const aliceIn = once(alice, "authenticated");
  await connected(alice);
  const signedIn = await aliceIn;
  const bob = await connected(v2("/gameplay", {}));
  const bobIn = await ack(bob, "authenticate", { token: tokenB });
  const room = await ack(alice, "create_room", { name: "from v2", capacity: 2 });
  const snapshot = once(bob, "room_state");
  const joined = await ack(bob, "join_room", { room_id: room.room_id });
  const state = await snapshot;
  const relayed = once(bob, "player_action");
  alice.emit("player_action", { action_type: "move", coordinates: { x: 1, y: 2 } });
  const action = await relayed;
  alice.close();
  bob.close();
  return { signedIn, bobIn, room, joined, state, action };
}

async function refused() {
  const errors = {};
  for (const path of ["/", "/gameplay"]) {
    const socket = v2(path, { query: { token: "not-a-token" } });
    errors[path] = await once(socket, "error");
    errors[`${path} connected`] = socket.connected;
    socket.close();
  }
  const nowhere = v2("/nowhere", {});
  errors["/nowhere"] = await once(nowhere, "error");
  nowhere.close();
  return errors;
}

async function reconnect([token, transports]) {
  const socket = v2("/", {
    query: { token },
    transports: transports.split(","),
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
  });
  await connected(socket);
  let pongs = 0;
  socket.io.on("pong", () => (pongs += 1));
  while (pongs < 3) await once(socket.io, "pong"); // three heartbeats: the server answers
  const firstEngine = socket.io.engine.id;
  // Stop this engine's heartbeat: no more pings, and no client-side timeout either, so it is
  // the server that ends the session.
  const engine = socket.io.engine;
  clearTimeout(engine.pingIntervalTimer);
  clearTimeout(engine.pingTimeoutTimer);
  engine.setPing = () => {};
  engine.removeListener("heartbeat", engine.onHeartbeat);
  const reason = await once(socket, "disconnect");
  const again = once(socket, "authenticated");
  await once(socket, "reconnect");
  const signedIn = await again;
  const answer = await ack(socket, "heartbeat", {});
  const secondEngine = socket.io.engine.id;
  socket.close();
  return { pongs, reason, signedIn, answer, firstEngine, secondEngine };
}

const scenarios = { roundtrip, authenticate, gameplay, refused, reconnect };
const outcome = await scenarios[scenario](args);
console.log(JSON.stringify(outcome));
clearTimeout(deadline);
process.exit(0);
