// Alice, over Socket.IO (npm install socket.io-client): says hello, prints Bob's answer.
const { io } = require("socket.io-client");
const { PARLEY_URL, ALICE_TOKEN, ROOM } = process.env;

const socket = io(PARLEY_URL, { auth: { token: ALICE_TOKEN }, transports: ["websocket"] });
socket.on("authenticated", async () => {
  const content = "Hello Bob, Alice here (socket.io-client)";
  const sent = await socket.emitWithAck("message", { room_id: ROOM, content });
  console.log("alice sent message", sent.seq);
});
socket.on("message", (message) => {
  console.log("alice got:", message.content);
  socket.disconnect();
});
socket.on("connect_error", (error) => { console.error(error.message); process.exit(1); });
