// Socket.IO binary with the official socket.io-client, websocket-only and polling-only.
//
//   node binary.mjs echo BASE_URL
//     against an echo server (`parley protocol-server`, or the protocol test suite's Node
//     server): Buffer and ArrayBuffer, nested in arrays and objects, in an event the server
//     echoes (`message` → `message-back`) and in an event it acknowledges with its own
//     arguments (`message-with-ack`), so binary goes both ways, in events and in acks.
//   node binary.mjs echo-v2 BASE_URL
//     the same with socket.io-client 2.x (Engine.IO 3: binary WebSocket frames led by the
//     packet type, binary long-polling payloads)
//   node binary.mjs chat BASE_URL TOKEN_A TOKEN_B ROOM
//     against Parley's `/`: a chat command carrying bytes is refused on its ack
//     (`binary_not_supported`), without an ack with the `error` event, the connection stays,
//     and the other member receives none of it.
//
// Prints one JSON line; bytes are written {"$bytes": hex, "as": the class that carried them}.
import { io } from "socket.io-client";
import ioV2 from "socket.io-client-v2";

const [mode, base, ...rest] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 25000);
const TRANSPORTS = [["websocket"], ["polling"]];

function connect(transports, auth = {}, client = io) {
  return new Promise((resolve, reject) => {
    const options = { auth, transports, reconnection: false, timeout: 5000, forceNew: true };
    const socket = client(base, options);
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

// Every argument of the acknowledgement (emitWithAck resolves with the first only).
// (socket.io-client 2.x has no `timeout()`: the script's own deadline bounds the wait there.)
function withAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    if (typeof socket.timeout !== "function") {
      socket.emit(event, ...args, (...answer) => resolve(answer));
      return;
    }
    socket.timeout(5000).emit(event, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  });
}

function bytesOf(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return Buffer.from(value instanceof ArrayBuffer ? value : value.buffer.slice(
      value.byteOffset, value.byteOffset + value.byteLength));
  }
  return null;
}

// What arrived, as JSON the test can compare: bytes become {"$bytes": hex, as}.
function plain(value) {
  const bytes = bytesOf(value);
  if (bytes !== null) return { $bytes: bytes.toString("hex"), as: value.constructor.name };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function arrayBuffer(bytes) {
  return Uint8Array.from(bytes).buffer;
}

// A large one too: over polling it is one base64 record of about 130 KB.
const big = Buffer.alloc(100_000, 0xab);
function samples() {
  return [
    Buffer.from([1, 2, 3]),
    {
      nested: { ab: arrayBuffer([4, 5]), list: [Buffer.from("x"), "text", 7, null] },
      empty: Buffer.alloc(0),
    },
    arrayBuffer([0, 255]),
    big,
  ];
}

async function echo(client = io) {
  const results = {};
  for (const transports of TRANSPORTS) {
    const socket = await connect(transports, {}, client);
    const back = new Promise((resolve) => socket.once("message-back", (...args) => resolve(args)));
    socket.emit("message", ...samples());
    const echoed = await back;
    const acked = await withAck(socket, "message-with-ack", ...samples());
    const textAfter = await withAck(socket, "message-with-ack", "plain", 1);
    results[transports[0]] = {
      echoed: plain(echoed),
      acked: plain(acked),
      text_after: textAfter,
      transport: socket.io.engine.transport.name,
    };
    socket.close();
  }
  return results;
}

async function chat() {
  const [tokenA, tokenB, room] = rest;
  const bob = await connect(["websocket"], { token: tokenB });
  await bob.timeout(5000).emitWithAck("join", { room_id: room });
  const received = [];
  const both = new Promise((resolve) => {
    bob.on("message", (message) => {
      received.push(message);
      if (received.length === TRANSPORTS.length) resolve();
    });
  });
  const results = {};
  for (const transports of TRANSPORTS) {
    const alice = await connect(transports, { token: tokenA });
    await alice.timeout(5000).emitWithAck("join", { room_id: room });
    const inPayload = await alice.timeout(5000).emitWithAck("message", {
      room_id: room,
      content: "carries bytes",
      payload: { blob: Buffer.from([1, 2, 3]) },
    });
    const asContent = await alice.timeout(5000).emitWithAck("message", {
      room_id: room,
      content: arrayBuffer([9]),
    });
    const errorEvent = new Promise((resolve) => alice.once("error", resolve));
    alice.emit("typing", { room_id: room, is_typing: true, extra: Buffer.from([0]) });
    const withoutAck = await errorEvent;
    const heartbeat = await alice.timeout(5000).emitWithAck("heartbeat", {});
    const stored = await alice.timeout(5000).emitWithAck("message", {
      room_id: room,
      content: `text over ${transports[0]}`,
    });
    results[transports[0]] = {
      in_payload: inPayload,
      as_content: asContent,
      without_ack: withoutAck,
      heartbeat,
      stored_content: stored.content,
      connected: alice.connected,
      transport: alice.io.engine.transport.name,
    };
    alice.close();
  }
  // One text message per transport; a refused one reaching him would come before it.
  await both;
  results.bob_received = received.map((m) => m.content);
  bob.close();
  return results;
}

const run = { echo, "echo-v2": () => echo(ioV2), chat }[mode];
if (run === undefined) {
  console.error("usage: node binary.mjs echo|echo-v2 BASE_URL | chat BASE_URL A B ROOM");
  process.exit(2);
}
console.log(JSON.stringify(await run()));
clearTimeout(deadline);
