// Tic-tac-toe on the /gameplay namespace: quick match, moves by cell, the server's board.
import { $, el } from "/app/session.js";

export class TicTacToe {
  constructor(io, session, root) {
    this.me = session.user.id;
    this.root = root;
    this.room = null;
    this.shared = null;
    this.latest = new Map(); // room id -> its last shared state (a snapshot can beat the ack)
    // One Engine.IO connection with the chat's `/`: the same client, signed in the same way.
    this.socket = io("/gameplay", { auth: { token: session.tokens.access_token } });
    this.socket.on("room_state", (data) => this.update(data.room_id, data.shared_state));
    this.socket.on("player_joined", (data) => this.update(data.room?.room_id, data.shared_state));
    this.socket.on("player_left", (data) => this.update(data.room?.room_id, data.shared_state));
    this.socket.on("player_action", (data) => this.update(data.room_id, data.shared_state));
    this.socket.on("game_over", (data) => this.over(data));
    this.button = $("#quick-match");
    this.onClick = () => this.play();
    this.button.addEventListener("click", this.onClick);
    this.board = $("#board");
    this.cells = [...Array(9).keys()].map((cell) => {
      const button = el("button", "", { "data-cell": String(cell), type: "button" });
      button.addEventListener("click", () => this.move(cell));
      return button;
    });
    this.board.replaceChildren(...this.cells);
  }

  renew(token) {
    this.socket.auth.token = token;
    this.socket.emit("authenticate", { token });
  }

  close() {
    this.button.removeEventListener("click", this.onClick);
    this.socket.disconnect();
  }

  status(text) {
    $("#game-status").textContent = text;
  }

  ask(event, data) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(10000).emit(event, data, (timeout, answer) => {
        if (timeout) reject(new Error(`${event}: no answer`));
        else if (answer?.error) reject(Object.assign(new Error(answer.error.message), answer.error));
        else resolve(answer);
      });
    });
  }

  async play() {
    try {
      if (this.room) await this.ask("leave_room", { room_id: this.room }).catch(() => {});
      const room = await this.ask("quick_match", { game: "tictactoe" });
      this.room = room.room_id;
      this.root.dataset.room = this.room;
      this.board.hidden = false;
      this.cells.forEach((c) => c.classList.remove("line"));
      if (room.players.length < 2) this.status("Waiting for an opponent…");
      this.update(this.room, this.latest.get(this.room));
    } catch (error) {
      this.status(`${error.code || "error"}: ${error.message}`);
    }
  }

  async move(cell) {
    if (!this.room) return;
    try {
      const answer = await this.ask("player_action", { room_id: this.room, action_type: "move", cell });
      this.update(this.room, answer.shared_state);
      if (answer.game_over) this.over(answer.game_over);
    } catch (error) {
      this.status(`${error.code || "error"}: ${error.message}`);
    }
  }

  update(roomId, shared) {
    if (!shared || !shared.board) return;
    this.latest.set(roomId, shared);
    if (roomId !== this.room) return;
    this.shared = shared;
    shared.board.forEach((mark, i) => (this.cells[i].textContent = mark));
    const mine = shared.marks?.[this.me];
    this.root.dataset.mark = mine || "";
    if (shared.status === "playing") {
      this.status(`You are ${mine}. ${shared.turn === this.me ? "Your turn" : "Their turn"}.`);
    } else if (shared.status === "waiting") {
      this.status("Waiting for an opponent…");
    }
  }

  over(data) {
    if (!data || (data.room_id && data.room_id !== this.room)) return;
    if (data.shared_state) this.update(this.room, { ...data.shared_state, status: "finished" });
    (data.line || []).forEach((i) => this.cells[i].classList.add("line"));
    this.root.dataset.result = data.result;
    if (data.result === "draw") this.status("Draw.");
    else this.status(data.winner === this.me ? "You win!" : "You lose.");
  }
}
