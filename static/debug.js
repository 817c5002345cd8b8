/**
 * The "Connection details" panel for testers: transport (and why the page
 * fell back to WebSocket), frame counters (RTP packets on WebRTC), the last
 * close code and error. Refreshed only while it is open.
 */

const REFRESH_MS = 500;

export class Debug {
  constructor(read) {
    this.read = read;
    this.panel = document.getElementById("debug");
    this.fields = {
      transport: document.getElementById("dbg-transport"),
      connection: document.getElementById("dbg-connection"),
      sent: document.getElementById("dbg-sent"),
      received: document.getElementById("dbg-received"),
      dropped: document.getElementById("dbg-dropped"),
      reconnects: document.getElementById("dbg-reconnects"),
      close: document.getElementById("dbg-close"),
      error: document.getElementById("dbg-error"),
      audio: document.getElementById("dbg-audio"),
      playback: document.getElementById("dbg-playback"),
    };
    this.lastNote = null;
    this.timer = null;
    this.panel.addEventListener("toggle", () => this.toggled());
  }

  /** Remember a problem worth showing testers (not shown to candidates otherwise). */
  note(text) {
    this.lastNote = text;
    if (this.panel.open) this.render();
  }

  /** Redraw now if open (e.g. on a final screen, before the next tick). */
  refresh() {
    if (this.panel.open) this.render();
  }

  toggled() {
    clearInterval(this.timer);
    this.timer = null;
    if (!this.panel.open) return;
    this.render();
    this.timer = setInterval(() => this.render(), REFRESH_MS);
  }

  render() {
    const stats = this.read();
    const connection = stats.connection;
    const f = this.fields;
    f.transport.textContent = connection ? connection.kind : "–";
    f.connection.textContent = connection
      ? `${connection.state}${connection.path ? ` · ${connection.path}` : ""}`
      : "not started";
    f.sent.textContent = String(connection ? connection.framesSent : 0);
    f.received.textContent = String(connection ? connection.framesReceived : 0);
    f.dropped.textContent = String(connection ? connection.framesDropped : 0);
    f.reconnects.textContent = String(connection ? connection.reconnects : 0);
    const close = connection && connection.lastClose;
    f.close.textContent = close ? `${close.code}${close.reason ? ` (${close.reason})` : ""}` : "–";
    const error = connection && connection.lastError;
    f.error.textContent = error ? `${error.code}: ${error.message}` : this.lastNote || "–";
    f.audio.textContent = stats.sampleRate ? `${stats.sampleRate} Hz, ${stats.audioState}` : "–";
    f.playback.textContent = describePlayback(connection, stats.playback);
  }
}

/** WebRTC plays through an <audio> element (the transport describes it), WebSocket through the player worklet. */
function describePlayback(connection, player) {
  if (connection && connection.playback) return connection.playback;
  if (!player) return "–";
  const state = player.playing ? "playing" : "idle";
  return `${state}, ${player.bufferedMs} ms buffered, ${player.underruns} underruns, ${player.droppedMs} ms dropped`;
}
