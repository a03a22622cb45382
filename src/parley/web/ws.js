// The chat over plain WebSocket (`/ws`, JSON frames {type, id?, data}): join a room by name,
// send and receive its messages. Also what the chat falls back to without socket.io-client.
import { $, authForm, el, loadSession } from "/app/session.js";

const pending = new Map(); // frame id -> {resolve, reject}
let socket = null;
let room = null;
let nextId = 1;

if (new URLSearchParams(location.search).has("fallback")) {
  $("#notice").textContent =
    "socket.io-client is not installed on this server (scripts/fetch-web-vendor fetches it): " +
    "this is the plain-WebSocket view.";
}

function command(type, data) {
  const id = String(nextId++);
  socket.send(JSON.stringify({ type, id, data }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function show(message) {
  if (message.conversation_id !== room?.conversation_id) return;
  if (document.querySelector(`#ws-messages li[data-id="${message.id}"]`)) return;
  const item = el("li", null, { "data-id": message.id, "data-seq": String(message.seq) });
  item.append(el("span", message.sender_username, { class: "sender" }), el("span", message.content, { class: "content" }));
  $("#ws-messages").append(item);
}

function start(session) {
  $("#auth").hidden = true;
  $("#chat").hidden = false;
  $("#me").textContent = session.user.username;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "auth", data: { token: session.tokens.access_token } }));
  });
  socket.addEventListener("close", (event) => {
    $("#conn-state").textContent = `closed (${event.code} ${event.reason})`;
    document.body.dataset.connected = "false";
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "authenticated") {
      $("#conn-state").textContent = "connected";
      document.body.dataset.connected = "true";
    } else if (frame.type === "ack" || (frame.type === "error" && pending.has(frame.id))) {
      const waiter = pending.get(frame.id);
      pending.delete(frame.id);
      if (frame.type === "ack") waiter?.resolve(frame.data);
      else waiter?.reject(Object.assign(new Error(frame.message), { code: frame.code }));
    } else if (frame.type === "new_message") {
      show(frame.data);
    } else if (frame.type === "error") {
      $("#notice").textContent = `${frame.code}: ${frame.message}`;
    }
  });
}

function guarded(action) {
  return (event) => {
    event.preventDefault();
    action().catch((error) => ($("#notice").textContent = `${error.code || "error"}: ${error.message}`));
  };
}

$("#room-form").addEventListener(
  "submit",
  guarded(async () => {
    room = await command("join_room", { room_id: $("#room-name").value.trim() });
    $("#conv-title").textContent = room.conversation?.name || room.room_id;
    $("#ws-messages").replaceChildren();
    $("#send-form").hidden = false;
  }),
);
$("#send-form").addEventListener(
  "submit",
  guarded(async () => {
    const input = $("#message-input");
    const content = input.value.trim();
    if (!content || !room) return;
    input.value = "";
    show(await command("send_message", { room_id: room.conversation_id, content }));
  }),
);
authForm(start);
const saved = loadSession();
if (saved?.tokens) start(saved);
