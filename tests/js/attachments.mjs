// Files as Socket.IO binary attachments with the official socket.io-client 4.8.
//
//   node attachments.mjs BASE_URL TOKEN_A TOKEN_B CHAT FILE
//     Alice, over websocket and then polling, sends `send_message` to CHAT with the bytes of
//     FILE as a Buffer in `attachments[0].data` (acknowledged with the stored message), then
//     one with bytes of no allowed type (refused on its ack), then `heartbeat`; Bob, a member
//     of CHAT on websocket, receives the stored messages with their attachment objects.
//
// Prints one JSON line: each transport's acks, and what Bob received.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const [base, tokenA, tokenB, chat, file] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 25000);
const TRANSPORTS = [["websocket"], ["polling"]];

function connect(transports, auth) {
  return new Promise((resolve, reject) => {
    const options = { auth, transports, reconnection: false, timeout: 5000, forceNew: true };
    const socket = io(base, options);
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

const image = readFileSync(file);
const bob = await connect(["websocket"], { token: tokenB });
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
  const sent = await alice.timeout(5000).emitWithAck("send_message", {
    room_id: chat,
    content: `a file over ${transports[0]}`,
    attachments: [{ data: image, filename: `cat-${transports[0]}.png` }],
  });
  const refused = await alice.timeout(5000).emitWithAck("send_message", {
    room_id: chat,
    content: "not a file we take",
    attachments: [{ data: Buffer.from([0, 1, 2, 3, 0, 0, 0, 9]), filename: "x.bin" }],
  });
  const heartbeat = await alice.timeout(5000).emitWithAck("heartbeat", {});
  results[transports[0]] = {
    sent,
    refused,
    heartbeat,
    connected: alice.connected,
    transport: alice.io.engine.transport.name,
  };
  alice.close();
}
await both;
results.bob_received = received;
bob.close();
clearTimeout(deadline);
console.log(JSON.stringify(results));
