/**
 * The candidate's microphone: permission, device choice, and what went wrong.
 *
 * `openMicrophone()` resolves to a MediaStream with the browser's echo
 * cancellation, noise suppression and automatic gain control on, or rejects
 * with a `MicrophoneError` whose `kind` the page explains to the candidate.
 */

export const MicrophoneProblem = Object.freeze({
  BLOCKED: "blocked", // permission denied (NotAllowedError, SecurityError)
  MISSING: "missing", // no input device (NotFoundError, OverconstrainedError)
  BUSY: "busy", // the device exists but cannot be opened (NotReadableError, AbortError)
  UNSUPPORTED: "unsupported", // no getUserMedia (old browser or an insecure origin)
});

export class MicrophoneError extends Error {
  constructor(kind, name, message) {
    super(message);
    this.name = "MicrophoneError";
    this.kind = kind;
    this.browserName = name;
  }
}

/** Ask for the microphone (the browser may prompt); `deviceId` picks an input. */
export async function openMicrophone(deviceId = null) {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
    throw new MicrophoneError(MicrophoneProblem.UNSUPPORTED, "NotSupported", "getUserMedia is unavailable");
  }
  const audio = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    channelCount: { ideal: 1 },
  };
  if (deviceId) audio.deviceId = { exact: deviceId };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: false });
  } catch (err) {
    throw classify(err);
  }
}

/** Audio inputs with their labels (labels are only known after permission). */
export async function listMicrophones() {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.enumerateDevices !== "function") return [];
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((device) => device.kind === "audioinput" && device.deviceId);
  } catch {
    return [];
  }
}

export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

function classify(err) {
  const name = err && err.name ? err.name : "Error";
  const message = err && err.message ? err.message : String(err);
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return new MicrophoneError(MicrophoneProblem.BLOCKED, name, message);
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return new MicrophoneError(MicrophoneProblem.MISSING, name, message);
    case "TypeError":
      return new MicrophoneError(MicrophoneProblem.UNSUPPORTED, name, message);
    default:
      return new MicrophoneError(MicrophoneProblem.BUSY, name, message);
  }
}
