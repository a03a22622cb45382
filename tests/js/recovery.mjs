// Connection-state recovery with the official socket.io-client: alice's connection drops
// (`socket.io.engine.close()`), bob sends meanwhile, alice connects again with the pid and
// offset the client kept.
// Usage: node recovery.mjs BASE_URL TOKEN_A TOKEN_B ROOM MODE [BASE_URL_AGAIN]
//   MODE "resume": reconnect at once (to BASE_URL_AGAIN when given: another instance)
//   MODE "resume polling": the same, alice on HTTP long-polling only
//   MODE "late WAIT_MS": reconnect after WAIT_MS (past the server's window)
// Prints one JSON line: what alice saw.
import { io } from "socket.io-client";

const [base, tokenA, tokenB, room, mode, baseAgain] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 20000);

const [kind, detail] = mode.split(" ");

function connect(url, token, transports = ["websocket"]) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      auth: { token },
      transports,
      reconnection: false,
      timeout: 5000,
      forceNew: true,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

const alice = await connect(base, tokenA, detail === "polling" ? ["polling"] : ["websocket"]);
const bob = await connect(base, tokenB);
const first = { id: alice.id, recovered: alice.recovered };
await alice.timeout(5000).emitWithAck("join", { room_id: room });
await bob.timeout(5000).emitWithAck("join", { room_id: room });

const seen = []; // [content, offset] of every message alice receives, in order
let waiting = null;
alice.on("message", (message, offset) => {
  seen.push([message.content, offset ?? null]);
  if (waiting && waiting.content === message.content) waiting.resolve();
});
function arrival(content) {
  return new Promise((resolve) => (waiting = { content, resolve }));
}

let arrived = arrival("before");
await bob.timeout(5000).emitWithAck("message", { room_id: room, content: "before" });
await arrived;

const dropped = once(alice, "disconnect");
alice.io.engine.close();
const [reason] = await dropped;
for (const content of ["missed 1", "missed 2", "missed 3"]) {
  await bob.timeout(5000).emitWithAck("message", { room_id: room, content });
}

// Waiting out the server's window is waiting for time itself to pass: nothing to wait on.
if (kind === "late") await new Promise((resolve) => setTimeout(resolve, Number(detail)));
if (baseAgain) alice.io.uri = baseAgain; // the load balancer sent it elsewhere
arrived = arrival("missed 3");
const reconnected = once(alice, "connect");
alice.connect();
await reconnected;
const second = { id: alice.id, recovered: alice.recovered };
if (alice.recovered) await arrived; // the replay is over: what bob sends now is live
arrived = arrival("after");
await bob.timeout(5000).emitWithAck("message", { room_id: room, content: "after" });
await arrived;
// The room's viewers: alice is in it again if her room came back with her.
const joined = await bob.timeout(5000).emitWithAck("join", { room_id: room });

console.log(JSON.stringify({ first, second, reason, seen, viewers: joined.users }));
alice.close();
bob.close();
clearTimeout(deadline);
