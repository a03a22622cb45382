// The browser chat over Socket.IO: conversations and rooms, live messages, typing, read
// receipts, presence, history paging, and tic-tac-toe on /gameplay. REST for everything that
// is not live, exactly as README documents it.
import { $, api, authForm, clearSession, el, loadSession, saveSession } from "/app/session.js";
import { TicTacToe } from "/app/game.js";

const PAGE = 20;
const TYPING_IDLE_MS = 1500;

if (typeof window.io !== "function") {
  // The socket.io-client build is not installed on this server: the plain-WebSocket view.
  location.replace("/app/ws.html?fallback=1");
}

const state = {
  session: null,
  socket: null,
  game: null,
  conversations: new Map(), // id -> conversation
  current: null, // the open conversation
  cursor: null, // history: the next (older) page
  presence: new Map(), // user id -> {username, online}
  typing: new Map(), // user id -> username
  typingSent: false,
  typingTimer: null,
  renewTimer: null,
};

function notice(text) {
  $("#notice").textContent = text || "";
}

function showSignedOut(reason) {
  clearTimeout(state.renewTimer);
  state.socket?.disconnect();
  state.game?.close();
  state.socket = state.game = state.current = null;
  clearSession();
  $("#chat").hidden = true;
  $("#auth").hidden = false;
  $("#sign-out").hidden = true;
  $("#me").textContent = "";
  $("#conn-state").textContent = "";
  document.body.dataset.signedIn = "false";
  if (reason) notice(`Signed out: ${reason}`);
}

function start(session) {
  state.session = session;
  notice("");
  $("#auth").hidden = true;
  $("#chat").hidden = false;
  $("#sign-out").hidden = false;
  $("#me").textContent = session.user.username;
  document.body.dataset.signedIn = "true";
  connect();
  state.game = new TicTacToe(window.io, session, $("#game"));
  loadConversations();
  scheduleRenewal();
}

// A fresh access token before this one expires, handed to the live sockets (`authenticate`).
function scheduleRenewal() {
  const secs = Math.max(30, (state.session.tokens.expires_in || 900) - 60);
  state.renewTimer = setTimeout(async () => {
    try {
      const renewed = await api("POST", "/auth/refresh", { refresh_token: state.session.tokens.refresh_token });
      saveSession(renewed);
      state.session = renewed;
      const token = renewed.tokens.access_token;
      state.socket.auth.token = token; // for a reconnect
      state.socket.emit("authenticate", { token });
      state.game?.renew(token);
      scheduleRenewal();
    } catch (error) {
      showSignedOut(error.code || "session ended");
    }
  }, secs * 1000);
}

function connect() {
  const socket = window.io({ auth: { token: state.session.tokens.access_token, recovery: true } });
  state.socket = socket;
  socket.on("connect", () => {
    $("#conn-state").textContent = "connected";
    document.body.dataset.connected = "true";
    if (state.current) join(state.current.id);
  });
  socket.on("disconnect", (reason) => {
    $("#conn-state").textContent = `disconnected (${reason})`;
    document.body.dataset.connected = "false";
  });
  socket.on("connect_error", (error) => {
    if (error.data?.code) showSignedOut(error.data.code);
  });
  socket.on("error", (error) => {
    const code = error?.code;
    if (code === "account_disabled" || code === "session_revoked" || code === "token_expired") {
      showSignedOut(code.replace("_", " "));
    } else if (code) {
      notice(`${code}: ${error.message}`);
    }
  });
  socket.on("message", onMessage);
  socket.on("typing", onTyping);
  socket.on("read_receipt", onReceipt);
  socket.on("user_online", onStatus);
  socket.on("user_offline", onStatus);
  socket.on("user_joined", onJoined);
  socket.on("conversation_joined", () => loadConversations());
}

function emit(event, data) {
  return new Promise((resolve, reject) => {
    state.socket.timeout(10000).emit(event, data, (timeout, answer) => {
      if (timeout) reject(new Error(`${event}: no answer`));
      else if (answer?.error) reject(Object.assign(new Error(answer.error.message), answer.error));
      else resolve(answer);
    });
  });
}

// -- conversations -------------------------------------------------------------------------

function titleOf(conversation) {
  if (conversation.kind === "direct") {
    const other = (conversation.members || []).find((m) => m.user_id !== state.session.user.id);
    return other?.username || "direct chat";
  }
  return conversation.name || conversation.kind;
}

async function loadConversations() {
  const page = await api("GET", "/conversations?limit=50");
  state.conversations = new Map(page.conversations.map((c) => [c.id, c]));
  renderConversations();
}

function renderConversations() {
  const list = $("#conversations");
  list.replaceChildren();
  for (const conversation of state.conversations.values()) {
    const item = el("li", titleOf(conversation), { "data-id": conversation.id });
    if (state.current?.id === conversation.id) item.classList.add("current");
    if (conversation.unread_count > 0 && state.current?.id !== conversation.id) {
      item.append(el("span", String(conversation.unread_count), { class: "unread" }));
    }
    item.addEventListener("click", () => open(conversation.id));
    list.append(item);
  }
}

async function join(id) {
  return emit("join", { room_id: id });
}

async function open(id) {
  const previous = state.current;
  if (previous && previous.id !== id && previous.kind !== "room") {
    // Stops viewing it (for an open room, `leave` would end the membership: it stays viewed).
    emit("leave", { room_id: previous.id }).catch(() => {});
  }
  await join(id);
  const conversation = await api("GET", `/conversations/${id}`); // with its members
  state.current = conversation;
  state.conversations.set(conversation.id, { ...conversation, unread_count: 0 });
  state.typing.clear();
  $("#conv-title").textContent = titleOf(conversation);
  $("#send-form").hidden = false;
  $("#typing").textContent = "";
  $("#receipt").textContent = "";
  $("#messages").replaceChildren();
  state.cursor = null;
  await loadOlder();
  renderConversations();
  watchPresence(conversation);
  markRead();
  $("#message-input").focus();
}

async function openRoom(name) {
  const joined = await api("POST", `/rooms/${encodeURIComponent(name)}/join`);
  await loadConversations();
  await open(joined.room.id);
}

async function openDirect(username) {
  const found = await api("GET", `/users?q=${encodeURIComponent(username)}&limit=20`);
  const user = found.users.find((u) => u.username === username);
  if (!user) throw Object.assign(new Error(`No user named ${username}.`), { code: "user_not_found" });
  const conversation = await api("POST", "/conversations", { participant_id: user.id });
  await loadConversations();
  await open(conversation.id);
}

// -- messages ------------------------------------------------------------------------------

function messageItem(message) {
  const item = el("li", null, { "data-seq": String(message.seq), "data-id": message.id });
  item.append(el("span", message.sender_username || "system", { class: "sender" }));
  item.append(el("span", message.deleted_at ? "(deleted)" : message.content, { class: "content" }));
  item.append(el("span", ` ${new Date(message.created_at).toLocaleTimeString()}`, { class: "muted" }));
  return item;
}

async function loadOlder() {
  const id = state.current.id;
  const query = `limit=${PAGE}${state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : ""}`;
  const page = await api("GET", `/conversations/${id}/messages?${query}`);
  if (state.current?.id !== id) return;
  const list = $("#messages");
  const items = page.messages.slice().reverse().map(messageItem);
  list.prepend(...items);
  state.cursor = page.next_cursor;
  $("#older").hidden = !page.has_more;
  if (!state.cursor) list.dataset.complete = "true";
}

function onMessage(message) {
  const conversationId = message.conversation_id;
  const known = state.conversations.get(conversationId);
  if (state.current?.id === conversationId) {
    if (!document.querySelector(`#messages li[data-id="${message.id}"]`)) {
      const list = $("#messages");
      list.append(messageItem(message));
      list.scrollTop = list.scrollHeight;
    }
    state.typing.delete(message.sender_id);
    renderTyping();
    if (message.sender_id !== state.session.user.id) markRead(message.seq);
  } else if (known) {
    known.unread_count = (known.unread_count || 0) + 1;
    renderConversations();
  } else {
    loadConversations();
  }
}

async function send(content) {
  const id = state.current.id;
  const message = await emit("message", { room_id: id, content, client_msg_id: crypto.randomUUID() });
  stopTyping();
  onMessage(message);
}

function markRead(seq) {
  if (!state.current) return;
  emit("read", seq ? { room_id: state.current.id, seq } : { room_id: state.current.id }).catch(() => {});
}

function onReceipt(receipt) {
  if (receipt.conversation_id !== state.current?.id || receipt.user_id === state.session.user.id) return;
  const mine = [...document.querySelectorAll("#messages li")].filter(
    (li) => li.querySelector(".sender").textContent === state.session.user.username,
  );
  const last = mine.at(-1);
  if (last && Number(last.dataset.seq) <= receipt.last_read_seq) {
    $("#receipt").textContent = `Seen by ${receipt.username}`;
  }
}

// -- typing --------------------------------------------------------------------------------

function onTyping(event) {
  if (event.conversation_id !== state.current?.id || event.user_id === state.session.user.id) return;
  if (event.is_typing) state.typing.set(event.user_id, event.username);
  else state.typing.delete(event.user_id);
  renderTyping();
}

function renderTyping() {
  const names = [...state.typing.values()];
  $("#typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

function typed() {
  if (!state.current) return;
  if (!state.typingSent) {
    state.typingSent = true;
    emit("typing", { room_id: state.current.id, is_typing: true }).catch(() => {});
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent && state.current) {
    emit("typing", { room_id: state.current.id, is_typing: false }).catch(() => {});
  }
  state.typingSent = false;
}

// -- presence ------------------------------------------------------------------------------

const PRESENCE_SHOWN = 50;

function watchPresence(conversation) {
  state.presence.clear();
  const others = (conversation.members || []).filter((m) => m.user_id !== state.session.user.id);
  others.slice(0, PRESENCE_SHOWN).forEach((m) => watch(m.user_id, m.username));
  renderPresence();
}

function watch(userId, username) {
  if (state.presence.has(userId) || userId === state.session.user.id) return;
  state.presence.set(userId, { username, online: false });
  emit("subscribe_status", { target_user_id: userId })
    .then((status) => onStatus({ ...status, user_id: userId }))
    .catch(() => {});
}

function isCurrent(event) {
  const current = state.current;
  return !!current && (event.conversation_id === current.id || event.room_id === current.id || event.room_id === current.name);
}

function onJoined(event) {
  // Someone opened the conversation we view (a new room member, say): watch them too.
  if (isCurrent(event) && state.presence.size < PRESENCE_SHOWN) {
    watch(event.user_id, event.username);
    renderPresence();
  }
}

function onStatus(status) {
  const known = state.presence.get(status.user_id);
  if (!known) return;
  known.online = !!status.is_online;
  renderPresence();
}

function renderPresence() {
  const list = $("#presence");
  list.replaceChildren();
  for (const [id, person] of state.presence) {
    const label = `${person.username} ${person.online ? "online" : "offline"}`;
    list.append(el("li", label, { class: person.online ? "online" : "offline", "data-user": person.username, "data-id": id }));
  }
}

// -- wiring --------------------------------------------------------------------------------

function guarded(action) {
  return (event) => {
    event?.preventDefault?.();
    Promise.resolve(action()).catch((error) => notice(`${error.code || "error"}: ${error.message}`));
  };
}

$("#room-form").addEventListener("submit", guarded(() => openRoom($("#room-name").value.trim())));
$("#dm-form").addEventListener("submit", guarded(() => openDirect($("#dm-username").value.trim())));
$("#older").addEventListener("click", guarded(loadOlder));
$("#message-input").addEventListener("input", typed);
$("#send-form").addEventListener(
  "submit",
  guarded(async () => {
    const input = $("#message-input");
    const content = input.value.trim();
    if (!content) return;
    input.value = "";
    await send(content);
  }),
);
$("#sign-out").addEventListener(
  "click",
  guarded(async () => {
    await api("POST", "/auth/logout").catch(() => {});
    showSignedOut();
  }),
);
authForm(start);

const saved = loadSession();
if (saved?.tokens && typeof window.io === "function") start(saved);
