/**
 * The WebSocket transport (docs/candidate-protocol.md, section 3).
 *
 * Every transport has the same shape, so another (WebRTC) can plug in:
 *
 *   const transport = factory({onOpen, onEvent, onAudio, onClose});
 *   transport.kind                     // "websocket"
 *   transport.start({ticket, microphone})  // connect and say hello
 *   transport.sendAudio(frame)         // 960-byte PCM16 ArrayBuffer; false if dropped
 *   transport.sendMessage(object)      // a control message ({type: "end"} …)
 *   transport.close()                  // local close; no onClose callback follows
 *   transport.stats                    // {framesSent, framesReceived, framesDropped}
 *
 * Callbacks: onOpen() once the hello is sent, onEvent(object) for each JSON
 * event, onAudio(ArrayBuffer) for each interviewer frame, onClose({code,
 * reason}) once when the server or the network ends the connection.
 * A media-track transport would use `microphone` (a MediaStream) and play
 * the remote track itself, leaving sendAudio/onAudio unused.
 */

const SOCKET_PATH = "/api/v1/candidate/ws";
const FRAME_BYTES = 960;
// Audio not yet handed to the network: beyond this, new frames are dropped
// rather than queued, so a stalled connection doesn't build up latency.
const MAX_BUFFERED_BYTES = 25 * FRAME_BYTES;

export function createWebSocketTransport(callbacks) {
  return new WebSocketTransport(callbacks);
}

class WebSocketTransport {
  constructor({ onOpen, onEvent, onAudio, onClose }) {
    this.kind = "websocket";
    this.callbacks = { onOpen, onEvent, onAudio, onClose };
    this.socket = null;
    this.closed = false;
    this.stats = { framesSent: 0, framesReceived: 0, framesDropped: 0 };
  }

  start({ ticket }) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${SOCKET_PATH}`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      if (this.closed) return;
      socket.send(JSON.stringify({ type: "hello", ticket }));
      this.callbacks.onOpen();
    };
    socket.onmessage = (message) => {
      if (this.closed) return;
      if (typeof message.data === "string") {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        if (event && typeof event.type === "string") this.callbacks.onEvent(event);
      } else {
        this.stats.framesReceived += 1;
        this.callbacks.onAudio(message.data);
      }
    };
    socket.onclose = (event) => {
      if (this.closed) return;
      this.closed = true;
      this.callbacks.onClose({ code: event.code, reason: event.reason });
    };
    // An error is always followed by a close event, which carries the outcome.
    socket.onerror = () => {};
  }

  get open() {
    return !this.closed && this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  sendAudio(frame) {
    if (!this.open || frame.byteLength !== FRAME_BYTES || this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.framesDropped += 1;
      return false;
    }
    this.socket.send(frame);
    this.stats.framesSent += 1;
    return true;
  }

  sendMessage(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) {
      try {
        this.socket.close(1000, "closed by the page");
      } catch {
        // Closing a socket that is still connecting can throw in old browsers.
      }
    }
  }
}
