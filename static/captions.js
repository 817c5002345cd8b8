/**
 * Live captions for both speakers.
 *
 * A caption replaces the earlier one with the same `turn_id`. Partial
 * captions are shown (styled as provisional) but hidden from assistive
 * technology; when a turn becomes final its element is replaced by a new
 * one, which the container's aria-live="polite", aria-relevant="additions"
 * announces once, instead of every partial update.
 */

const MAX_CAPTIONS = 200;
// Within this many pixels of the bottom, new captions keep the view scrolled down.
const STICK_TO_BOTTOM_PX = 48;

const SPEAKER_LABEL = { interviewer: "Interviewer", candidate: "You" };

export class Captions {
  constructor(container, placeholder) {
    this.container = container;
    this.placeholder = placeholder;
    this.byTurn = new Map();
  }

  /** Show `caption` ({speaker, text, final, turn_id}). */
  show(caption) {
    const speaker = caption.speaker === "candidate" ? "candidate" : "interviewer";
    const text = String(caption.text || "").trim();
    const turnId = String(caption.turn_id || `${speaker}-${Date.now()}`);
    const final = caption.final === true;
    const previous = this.byTurn.get(turnId);
    if (!text) {
      // An empty final caption withdraws the turn (e.g. noise that was not speech).
      if (previous && final) {
        previous.element.remove();
        this.byTurn.delete(turnId);
      }
      return;
    }
    const stick = this.atBottom();
    if (previous && !previous.final && !final) {
      previous.text.textContent = text;
    } else if (!(previous && previous.final && final && previous.text.textContent === text)) {
      const entry = this.render(speaker, text, final, turnId);
      if (previous) previous.element.replaceWith(entry.element);
      else this.container.append(entry.element);
      this.byTurn.set(turnId, entry);
      this.trim();
    }
    if (this.placeholder) this.placeholder.hidden = true;
    if (stick) this.container.scrollTop = this.container.scrollHeight;
  }

  /**
   * Show the interview's captions so far (a `history` event after a reload or a
   * reconnect) without announcing each one again: an empty box is filled in one
   * go, one that already holds captions only gains the ones it lacks.
   */
  restore(history) {
    const captions = Array.isArray(history.captions) ? history.captions : [];
    if (captions.length === 0) return;
    const live = this.container.getAttribute("aria-live");
    this.container.setAttribute("aria-live", "off");
    const fresh = this.byTurn.size === 0;
    for (const caption of captions) {
      const turnId = String(caption.turn_id || "");
      if (!turnId || (!fresh && this.byTurn.has(turnId))) continue;
      this.show({ ...caption, final: true });
      const entry = this.byTurn.get(turnId);
      if (entry) entry.element.dataset.history = "true";
    }
    this.container.scrollTop = this.container.scrollHeight;
    // Restored once the additions are in the tree, so later captions are announced again.
    setTimeout(() => this.container.setAttribute("aria-live", live || "polite"), 0);
  }

  clear() {
    for (const entry of this.byTurn.values()) entry.element.remove();
    this.byTurn.clear();
    if (this.placeholder) this.placeholder.hidden = false;
  }

  render(speaker, text, final, turnId) {
    const element = document.createElement("p");
    element.className = `caption caption-${speaker}${final ? "" : " caption-partial"}`;
    element.dataset.turnId = turnId;
    element.dataset.speaker = speaker;
    element.dataset.final = String(final);
    if (!final) element.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.className = "caption-speaker";
    label.textContent = `${SPEAKER_LABEL[speaker]}: `;
    const body = document.createElement("span");
    body.className = "caption-text";
    body.textContent = text;
    element.append(label, body);
    return { element, text: body, final };
  }

  trim() {
    while (this.byTurn.size > MAX_CAPTIONS) {
      const [oldest, entry] = this.byTurn.entries().next().value;
      entry.element.remove();
      this.byTurn.delete(oldest);
    }
  }

  atBottom() {
    const box = this.container;
    return box.scrollHeight - box.scrollTop - box.clientHeight < STICK_TO_BOTTOM_PX;
  }
}
