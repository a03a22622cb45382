// The admin dashboard: GET /api/v1/admin/overview every second; users through the users
// routes (list, PUT …/role, PUT …/status). Admins only: the API answers 403 to anyone else.
import { $, api, authForm, clearSession, el, loadSession } from "/app/session.js";

const ROLES = ["customer", "agent", "super-agent", "admin"];
const EVERY_MS = 1000;
let timer = null;

function notice(text) {
  $("#notice").textContent = text || "";
}

function refused(error) {
  clearInterval(timer);
  $("#dashboard").hidden = true;
  if (error.status === 403) {
    notice(`Admins only (${error.code}).`);
    document.body.dataset.forbidden = "true";
  } else if (error.status === 401) {
    clearSession();
    $("#auth").hidden = false;
    notice("Sign in again.");
  } else {
    notice(`${error.code}: ${error.message}`);
  }
}

async function refresh() {
  let view;
  try {
    view = await api("GET", "/admin/overview");
  } catch (error) {
    refused(error);
    return;
  }
  $("#dashboard").hidden = false;
  $("#connections").textContent = String(view.instance.connections);
  $("#sessions").textContent = String(view.instance.socketio_sessions);
  $("#instances").textContent = String(view.instances.length);
  $("#all-connections").textContent = String(view.connections);
  $("#instance-list").replaceChildren(
    ...view.instances.map((i) => el("li", `${i.id}${i.this ? " (this one)" : ""}: ${i.connections} connections`)),
  );
  $("#rooms").textContent = String(view.rooms);
  $("#mps").textContent = String(view.messages_per_sec);
  $("#errors-total").textContent = String(view.errors_total);
  $("#updated").textContent = `updated ${new Date(view.timestamp).toLocaleTimeString()}`;
  const support = Object.entries(view.support_chats);
  $("#support").replaceChildren(
    ...(support.length ? support.map(([s, n]) => el("li", `${s}: ${n}`, { "data-status": s })) : [el("li", "none")]),
  );
  $("#errors").replaceChildren(
    ...view.recent_errors.slice(0, 15).map((e) => {
      const row = el("tr");
      row.append(el("td", new Date(e.at).toLocaleTimeString()), el("td", e.code), el("td", e.source));
      return row;
    }),
  );
  document.body.dataset.loaded = "true";
}

async function loadUsers() {
  const q = $("#user-q").value.trim();
  const page = await api("GET", `/users?limit=100${q ? `&q=${encodeURIComponent(q)}` : ""}`);
  $("#users").replaceChildren(...page.users.map(userRow));
}

function userRow(user) {
  const row = el("tr", null, { "data-user": user.username });
  const role = el("select", null, { "aria-label": `role of ${user.username}` });
  role.append(...ROLES.map((r) => el("option", r, { value: r })));
  role.value = user.role;
  role.addEventListener("change", () => act(() => api("PUT", `/users/${user.id}/role`, { role: role.value })));
  const disabled = user.status === "disabled";
  const toggle = el("button", disabled ? "Enable" : "Disable", { class: "toggle-status", type: "button" });
  toggle.addEventListener("click", () =>
    act(() => api("PUT", `/users/${user.id}/status`, { status: disabled ? "active" : "disabled" })),
  );
  const roleCell = el("td");
  roleCell.append(role);
  const actions = el("td");
  actions.append(toggle);
  row.append(el("td", user.username), el("td", user.is_online ? "yes" : "no"), roleCell, el("td", user.status, { class: "status" }), actions);
  return row;
}

async function act(change) {
  try {
    await change();
    notice("");
  } catch (error) {
    notice(`${error.code}: ${error.message}`);
  }
  await loadUsers();
}

function start(session) {
  $("#auth").hidden = true;
  $("#me").textContent = session.user.username;
  refresh().then(() => {
    if (!$("#dashboard").hidden) {
      loadUsers();
      timer = setInterval(refresh, EVERY_MS);
    }
  });
}

$("#user-search").addEventListener("submit", (event) => {
  event.preventDefault();
  loadUsers();
});
authForm(start);
const saved = loadSession();
if (saved?.tokens) start(saved);
