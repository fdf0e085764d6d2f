// The portfolio page listens on portfolio.<id> (owner only): when a run finishes (a rebalance
// after odds moved, or a run started elsewhere) it says what moved and offers the new
// allocation. A file, not an inline script, for the Content-Security-Policy.
import { LiveClient } from "/static/live/live.js";

const box = document.querySelector("[data-portfolio-topic]");
if (box) {
  const topic = box.dataset.portfolioTopic;
  const shown = Number(box.dataset.shownRun || 0);
  const say = (text) => {
    box.textContent = text + " ";
    const link = document.createElement("a");
    link.href = window.location.pathname;
    link.textContent = "Show it";
    link.dataset.testid = "portfolio-live-reload";
    box.appendChild(link);
    box.hidden = false;
  };
  new LiveClient({
    topics: [topic],
    onMessage: (m) => {
      if (m.topic !== topic) return;
      const d = m.data || {};
      if (!(d.run_id > shown)) return;
      if (m.type === "allocation") {
        const moved = (d.details && d.details.moved) || [];
        const why = moved.length ? `${moved.length} price(s) moved` : d.reason || "new run";
        const placed = (d.stakes || []).filter((stake) => stake > 0).length;
        say(`New allocation (run ${d.run_id}: ${why}; ${placed} bet(s) staked).`);
      } else if (m.type === "run_failed") {
        say(`Run ${d.run_id} failed.`);
      }
    },
  }).start();
}
