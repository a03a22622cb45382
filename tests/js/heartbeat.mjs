// A busy socket.io-client: it emits every 200 ms for a while and counts the server's pings and
// any disconnect. Usage: node heartbeat.mjs BASE_URL TOKEN TRANSPORTS MILLISECONDS
// (TRANSPORTS: "websocket", "polling" or "polling,websocket" for the upgrade)
// (prints one JSON line)
import { io } from "socket.io-client";

const [base, token, transports, millis] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, Number(millis) + 15000);

const socket = io(base, { auth: { token }, transports: transports.split(","), reconnection: false, timeout: 5000 });
await new Promise((resolve, reject) => {
  socket.on("connect", resolve);
  socket.on("connect_error", reject);
});
const started = Date.now();
let pings = 0;
const disconnects = [];
socket.io.on("ping", () => (pings += 1));
socket.on("disconnect", (reason) => disconnects.push({ reason, at_ms: Date.now() - started }));
const emitter = setInterval(() => socket.emit("heartbeat"), 200);
await new Promise((resolve) => setTimeout(resolve, Number(millis)));
clearInterval(emitter);
const connected = socket.connected;
const answer = await (connected ? socket.timeout(5000).emitWithAck("heartbeat") : null);
const transport = socket.io.engine.transport.name;
console.log(JSON.stringify({ pings, disconnects, connected, answer, transport }));
socket.close();
clearTimeout(deadline);
