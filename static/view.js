/**
 * The page's one card: a heading and a lead line that always say where the
 * candidate is, and the panel for the current step.
 *
 * `show(step)` switches steps: it sets `document.body.dataset.phase` (and
 * `endReason` on final screens) for tests and styling, updates the heading
 * (`data-testid="status-title"`) and moves focus to it so screen readers
 * read the new step. `announce()` speaks a status line without moving focus.
 */

const PANELS = ["consent", "device", "live", "rating", "retry"];
const ANNOUNCE_DELAY_MS = 50;

export class View {
  constructor(doc = document) {
    const byId = (id) => doc.getElementById(id);
    this.body = doc.body;
    this.title = byId("status-title");
    this.text = byId("status-text");
    this.icon = byId("status-icon");
    this.announcer = byId("announcer");
    this.panels = Object.fromEntries(PANELS.map((name) => [name, byId(`panel-${name}`)]));
    this.retryButton = byId("retry-button");
    this.phaseLabel = byId("dbg-phase");
    this.announceTimer = null;
  }

  /**
   * step: {phase, title, text, icon?, panels?: [names], reason?, retry?: label, focus?}
   * icon: progress | done | warn | mic | none.
   */
  show(step) {
    const changed = this.body.dataset.phase !== step.phase || this.title.textContent !== step.title;
    this.body.dataset.phase = step.phase;
    if (step.reason) this.body.dataset.endReason = step.reason;
    else delete this.body.dataset.endReason;
    this.title.textContent = step.title;
    this.text.textContent = step.text || "";
    this.text.hidden = !step.text;
    this.icon.dataset.icon = step.icon || "none";
    const panels = new Set(step.panels || []);
    if (step.retry) panels.add("retry");
    for (const name of PANELS) this.panels[name].hidden = !panels.has(name);
    if (step.retry) this.retryButton.textContent = step.retry;
    this.phaseLabel.textContent = step.phase;
    if (changed && step.focus !== false) this.title.focus();
  }

  /** Update the lead line in place (no focus move), optionally announcing it. */
  updateText(text, { announce = false } = {}) {
    this.text.textContent = text;
    this.text.hidden = !text;
    if (announce) this.announce(text);
  }

  /** Speak `text` through the polite status region. */
  announce(text) {
    clearTimeout(this.announceTimer);
    this.announcer.textContent = "";
    // A short gap makes screen readers announce a repeated message again.
    this.announceTimer = setTimeout(() => {
      this.announcer.textContent = text;
    }, ANNOUNCE_DELAY_MS);
  }
}
