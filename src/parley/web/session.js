// The signed-in session (tokens and user) in this browser, and Parley's REST API.
const KEY = "parley.session";

export function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function saveSession(session) {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A call to /api/v1; one refresh of the access token on 401, then the error as ApiError.
export async function api(method, path, body) {
  const session = loadSession();
  const send = (token) =>
    fetch(`/api/v1${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await send(session?.tokens?.access_token);
  if (response.status === 401 && session?.tokens?.refresh_token) {
    const renewed = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.tokens.refresh_token }),
    });
    if (renewed.ok) {
      saveSession(await renewed.json());
      response = await send(loadSession().tokens.access_token);
    }
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(response.status, error.code || "http_error", error.message || response.statusText);
  }
  return data;
}

// Sign in (or up, with `register`) by username and password; stores and returns the session.
export async function signIn(username, password, register) {
  const session = await api("POST", register ? "/auth/register" : "/auth/login", { username, password });
  saveSession(session);
  return session;
}

export function $(selector) {
  return document.querySelector(selector);
}

// An element with text content (never HTML: messages are user input).
export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

// The sign-in form shared by the pages: resolves with the session once signed in.
export function authForm(onSignedIn) {
  const form = $("#auth-form");
  const submit = async (register) => {
    const notice = $("#auth-error");
    notice.textContent = "";
    try {
      const session = await signIn($("#username").value.trim(), $("#password").value, register);
      onSignedIn(session);
    } catch (error) {
      notice.textContent = `${error.code}: ${error.message}`;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(false);
  });
  $("#sign-up").addEventListener("click", () => submit(true));
}
