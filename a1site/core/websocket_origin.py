"""The Origin rule for ``/ws/``: checked where a browser's cookie could authenticate.

Channels' ``AllowedHostsOriginValidator`` refuses every handshake without ``Origin``, but
only browsers send one, and API clients (Python ``websockets``, wscat) authenticate with
``?token=`` or an auth message, which a foreign page cannot forge. Cross-site WebSocket
hijacking needs the browser's session cookie, and a browser always sends ``Origin``. So:

- ``Origin`` present: it must match ``ALLOWED_HOSTS`` (the validator, unchanged), or 403.
- ``Origin`` absent: the connection goes through with its cookies removed, so only a token
  can authenticate it.
"""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator


class SessionOriginValidator:
    def __init__(self, application) -> None:
        self.application = application
        self.validated = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers", [])
        if any(name == b"origin" for name, _ in headers):
            return await self.validated(scope, receive, send)
        scope = dict(scope, headers=[(name, value) for name, value in headers if name != b"cookie"])
        return await self.application(scope, receive, send)
