// The official socket.io-client on the /gameplay namespace: one player creates a room, the
// other joins it (and gets the snapshot), then a seed-style player_action (no ack) is relayed.
// Usage: node gameplay.mjs BASE_URL_A BASE_URL_B TOKEN_A TOKEN_B   (prints one JSON line)
import { io } from "socket.io-client";

const [baseA, baseB, tokenA, tokenB] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

function connect(base, token) {
  return new Promise((resolve, reject) => {
    const socket = io(`${base}/gameplay`, {
      auth: { token },
      transports: ["polling", "websocket"],
      reconnection: false,
      timeout: 5000,
    });
    socket.on("authenticated", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

const alice = await connect(baseA, tokenA);
const bob = await connect(baseB, tokenB);
const room = await alice.timeout(5000).emitWithAck("create_room", { name: "from js", capacity: 2 });
const snapshot = new Promise((resolve) => bob.once("room_state", resolve));
const joined = await bob.timeout(5000).emitWithAck("join_room", { room_id: room.room_id });
const state = await snapshot;
const relayed = new Promise((resolve) => bob.once("player_action", resolve));
alice.emit("player_action", {
  action_type: "move",
  player_id: "player123",
  session_token: "session_token_here",
  coordinates: { x: 100, y: 200 },
  timestamp: "2024-01-15T10:30:00Z",
  game_state: { level: 1, score: 1000, health: 100 },
});
const action = await relayed;
console.log(JSON.stringify({ room, joined, state, action }));
alice.close();
bob.close();
clearTimeout(deadline);
