"""Live streams over /ws/. ``live.publish(topic, type, data)`` is the one way to push to clients."""


def publish(topic: str, type: str, data, **kwargs):
    # Imported on call: Django imports this package while it loads the apps, before live's
    # models (which live.services imports) can be imported.
    from .services import publish as _publish

    return _publish(topic, type, data, **kwargs)
