// Job progress of a portfolio's run in progress: polls /api/jobs/<id>/ and reloads the page
// when the run ends. A file, not an inline script, for the Content-Security-Policy.
(function () {
  const box = document.querySelector('[data-testid="run-progress"]');
  async function poll() {
    const response = await fetch('/api/jobs/' + box.dataset.job + '/', {credentials: 'same-origin'});
    if (response.ok) {
      const job = await response.json();
      box.querySelector('progress').value = job.progress;
      box.querySelector('[data-testid="progress-message"]').textContent = job.message || job.status;
      if (job.status === 'succeeded' || job.status === 'failed') { window.location.reload(); return; }
    }
    setTimeout(poll, 700);
  }
  poll();
})();
