// The GOSOCKET seed's client with the official socket.io-client: `io()` and `io('/gameplay')`
// (one multiplexed connection), phone sign-in on `/` only, then a named game room.
// Usage: node gosocket.mjs BASE_URL MOBILE_NO ROOM_NAME   (prints one JSON line)
import { io } from "socket.io-client";

const [base, mobile, roomName] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

const options = { transports: ["polling", "websocket"], reconnection: false, timeout: 5000 };
const socket = io(base, options);
const gameplaySocket = io(`${base}/gameplay`, options);
const connected = (s) =>
  new Promise((resolve, reject) => {
    s.on("connect", resolve);
    s.on("connect_error", reject);
  });
await Promise.all([connected(socket), connected(gameplaySocket)]);

const login = await socket.timeout(5000).emitWithAck("login", {
  mobile_no: mobile,
  fcm_token: "fcm_token_here",
});
const signedIn = new Promise((resolve) => gameplaySocket.once("authenticated", resolve));
const verified = await socket.timeout(5000).emitWithAck("verify_otp", {
  mobile_no: mobile,
  session_token: login.session_token,
  otp: login.otp,
});
const authenticated = await signedIn;
const room = await gameplaySocket.timeout(5000).emitWithAck("join_room", { room_id: roomName });
console.log(
  JSON.stringify({
    multiplexed: socket.io === gameplaySocket.io,
    user_id: verified.user.id,
    authenticated,
    room,
  }),
);
socket.close();
gameplaySocket.close();
clearTimeout(deadline);
