// The official socket.io-client sees its session end: it signs out over REST, sends a message
// at once, and reports the `error` event and the disconnect reason it got.
// Usage: node revocation.mjs BASE_URL TOKEN ROOM   (prints one JSON line)
import { io } from "socket.io-client";

const [base, token, room] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

const socket = io(base, { auth: { token }, transports: ["websocket"], reconnection: false });
await new Promise((resolve, reject) => {
  socket.on("connect", resolve);
  socket.on("connect_error", reject);
});
const error = new Promise((resolve) => socket.on("error", resolve));
const reason = new Promise((resolve) => socket.on("disconnect", resolve));
await socket.timeout(5000).emitWithAck("join", { room_id: room });
const logout = await fetch(`${base}/api/v1/auth/logout`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}` },
});
socket.emit("message", { room_id: room, content: "after logout" });
console.log(
  JSON.stringify({ logout: logout.status, error: await error, reason: await reason }),
);
socket.close();
clearTimeout(deadline);
