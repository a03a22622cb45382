// socket.io-client against `parley protocol-server`: the CONNECT payload comes back as `auth`,
// `message` as `message-back`, `message-with-ack` is acknowledged with its own arguments, on `/`
// and `/custom` over one Engine.IO connection.
// Usage: node protocol.mjs BASE_URL TRANSPORTS (TRANSPORTS: "websocket", "polling" or
// "polling,websocket" for the upgrade). Prints one JSON line.
import { Manager } from "socket.io-client";

const [base, transports] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 15000);

const manager = new Manager(base, { transports: transports.split(","), reconnection: false, timeout: 5000 });

function connected(namespace, auth) {
  const socket = manager.socket(namespace, { auth });
  const greeted = new Promise((resolve) => socket.once("auth", resolve));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => greeted.then((greeting) => resolve({ socket, greeting })));
    socket.once("connect_error", reject);
  });
}

const main = await connected("/", { token: "123", nested: { list: [1, "two", null] } });
const custom = await connected("/custom", {});
const echoed = new Promise((resolve) => main.socket.once("message-back", (...args) => resolve(args)));
main.socket.emit("message", 1, "2", { 3: [true] });
const messageBack = await echoed;
// Every argument of the acknowledgement (emitWithAck resolves with the first one only).
function ackArguments(socket, ...args) {
  return new Promise((resolve, reject) =>
    socket.timeout(5000).emit(...args, (err, ...answer) => (err ? reject(err) : resolve(answer))),
  );
}
const acked = await ackArguments(main.socket, "message-with-ack", 1, "2", { 3: [false] });
const ackedNoArgs = await ackArguments(main.socket, "message-with-ack");
if (transports.includes("websocket") && manager.engine.transport.name !== "websocket") {
  await new Promise((resolve) => manager.engine.once("upgrade", resolve));
}
console.log(
  JSON.stringify({
    auth: main.greeting,
    customAuth: custom.greeting,
    sameEngine: main.socket.io === custom.socket.io,
    messageBack,
    acked,
    ackedNoArgs,
    transport: manager.engine.transport.name,
  }),
);
main.socket.disconnect();
custom.socket.disconnect();
clearTimeout(deadline);
