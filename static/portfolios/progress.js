// Job progress of a portfolio's run or backtest in progress (every element with data-job):
// polls /api/jobs/<id>/ and reloads the page when the job ends. A file, not an inline script,
// for the Content-Security-Policy.
(function () {
  async function poll(box) {
    const response = await fetch('/api/jobs/' + box.dataset.job + '/', {credentials: 'same-origin'});
    if (response.ok) {
      const job = await response.json();
      box.querySelector('progress').value = job.progress;
      box.querySelector('[data-testid="progress-message"]').textContent = job.message || job.status;
      if (job.status === 'succeeded' || job.status === 'failed') { window.location.reload(); return; }
    }
    setTimeout(function () { poll(box); }, 700);
  }
  document.querySelectorAll('[data-job]').forEach(poll);
})();
