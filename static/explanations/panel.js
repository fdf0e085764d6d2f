// The explanation panel's what-if and detailed-explanation controls. A file, not an inline
// script, for the Content-Security-Policy; its URLs come from the panel's data attributes.
(function () {
  const panel = document.getElementById("explanation-panel");
  const id = Number(panel.dataset.prediction);
  const csrf = panel.querySelector("input[name=csrfmiddlewaretoken]").value;
  const headers = {"Content-Type": "application/json", "X-CSRFToken": csrf};
  const form = document.getElementById("what-if-form");
  const select = form.elements.feature, input = form.elements.value;
  const fmt = (v, d) => (v === null || v === undefined) ? "–" : Number(v).toFixed(d);
  const sign = (v, d) => (v === null || v === undefined) ? "–" : (v >= 0 ? "+" : "") + Number(v).toFixed(d);
  const fill = () => { input.value = select.selectedOptions[0].dataset.value; };
  select.addEventListener("change", fill); fill();
  const set = (testid, text) => { panel.querySelector(`[data-testid="${testid}"]`).textContent = text; };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {}; changes[select.value] = Number(input.value);
    const response = await fetch(panel.dataset.whatIfUrl, {method: "POST", headers, credentials: "same-origin", body: JSON.stringify({prediction: id, changes, level: "fast"})});
    const body = await response.json();
    if (!response.ok) { set("what-if-warnings", body.error ? body.error.message : "error"); return; }
    set("what-if-mean", fmt(body.after.mean, 2)); set("what-if-mean-change", sign(body.change.mean, 2));
    set("what-if-p-over", fmt(body.after.p_over, 4)); set("what-if-p-over-change", sign(body.change.p_over, 4));
    set("what-if-edge-before", body.before.edge === null ? "–" : (100 * body.before.edge).toFixed(1) + " %");
    set("what-if-edge", body.after.edge === null ? "–" : (100 * body.after.edge).toFixed(1) + " % " + body.after.side);
    set("what-if-warnings", body.warnings.map(w => w.message).join(" "));
  });
  const button = document.getElementById("detailed-button");
  const bar = document.getElementById("detailed-progress");
  button.addEventListener("click", async () => {
    button.disabled = true; bar.hidden = false;
    const response = await fetch(panel.dataset.jobsUrl, {method: "POST", headers, credentials: "same-origin", body: JSON.stringify({prediction_ids: [id], level: "detailed"})});
    let job = await response.json();
    while (job.status === "queued" || job.status === "running") {
      bar.value = job.progress; set("detailed-status", `${job.status} ${job.progress} % ${job.message || ""}`);
      await new Promise(r => setTimeout(r, 300));
      job = await (await fetch(`/api/jobs/${job.id}/`, {credentials: "same-origin"})).json();
    }
    bar.value = job.progress; set("detailed-status", `${job.status}${job.error ? ": " + job.error : ""}`);
    if (job.status !== "succeeded") { button.disabled = false; return; }
    const detail = await (await fetch(`/api/predictions/${id}/explanation/?level=detailed`, {credentials: "same-origin"})).json();
    const out = document.getElementById("detailed-result");
    out.replaceChildren();
    const title = document.createElement("p");
    title.textContent = `Strongest interactions of the tree member (log mean${detail.cached ? ", from the job's cache" : ""}); stability ${fmt(detail.quality.stability, 2)}:`;
    out.appendChild(title);
    const list = document.createElement("ul");
    for (const pair of detail.interactions.pairs.slice(0, 5)) {
      const item = document.createElement("li");
      item.textContent = `${pair.a} × ${pair.b}: ${sign(pair.value, 4)}`;
      list.appendChild(item);
    }
    out.appendChild(list);
  });
})();

