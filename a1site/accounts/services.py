import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


def demo_user_ensure(*, username: str, password: str | None = None) -> tuple[object, str | None]:
    """Create the demo user if missing. Returns (user, password) — password only when it was set now."""
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.invalid"})
        if not created and password is None:
            return user, None
        password = password or secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        Token.objects.get_or_create(user=user)
    return user, password
