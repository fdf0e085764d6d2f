"""Live streams over /ws/. ``live.publish(topic, type, data)`` is the one way to push to clients."""


def publish(topic: str, type: str, data, **kwargs):
    from .services import publish as _publish

    return _publish(topic, type, data, **kwargs)
