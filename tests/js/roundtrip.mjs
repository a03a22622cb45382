// The official socket.io-client against Parley: connect with a token (polling, then the
// upgrade to WebSocket), join a room, send with an acknowledgement, receive on a second client.
// Usage: node roundtrip.mjs BASE_URL TOKEN_A TOKEN_B ROOM   (prints one JSON line)
import { io } from "socket.io-client";

const [base, tokenA, tokenB, room] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

function connect(token, transports) {
  return new Promise((resolve, reject) => {
    const socket = io(base, { auth: { token }, transports, reconnection: false, timeout: 5000 });
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

const alice = await connect(tokenA, ["polling", "websocket"]);
const bob = await connect(tokenB, ["websocket"]);
const received = new Promise((resolve) => bob.on("message", resolve));
await alice.timeout(5000).emitWithAck("join", { room_id: room });
await bob.timeout(5000).emitWithAck("join", { room_id: room });
const upgraded = alice.io.engine.transport.name === "websocket"
  ? Promise.resolve()
  : new Promise((resolve) => alice.io.engine.once("upgrade", resolve));
await upgraded;
const stored = await alice.timeout(5000).emitWithAck("message", { room_id: room, content: "from js" });
const message = await received;
console.log(JSON.stringify({ stored, message, transport: alice.io.engine.transport.name }));
alice.close();
bob.close();
clearTimeout(deadline);
