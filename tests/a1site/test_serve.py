"""``python -m a1site.serve``: its options reach uvicorn."""

from a1site import serve


def _run_with(monkeypatch, argv):
    seen = {}
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    serve.main(argv)
    return seen


def test_idle_connections_are_kept_as_long_as_asked(monkeypatch):
    """Users who send a request every 20 s keep their connection open only past uvicorn's 5 s."""
    assert _run_with(monkeypatch, [])["timeout_keep_alive"] == 5.0
    options = _run_with(monkeypatch, ["--timeout-keep-alive", "30", "--workers", "2"])
    assert (options["timeout_keep_alive"], options["workers"], options["app"]) == (30.0, 2, serve.APP)
