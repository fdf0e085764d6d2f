"""What the predictions commands share: a tqdm progress bar fed by a service's
``progress(fraction, message)`` callback, and the ``--user`` lookup."""

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from tqdm import tqdm


@contextmanager
def progress_bar(command, *, desc: str, disable: bool = False):
    bar = tqdm(
        total=100,
        desc=desc,
        disable=disable,
        file=command.stderr._out,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
    )

    def progress(fraction: float, message: str = "") -> None:
        bar.n = round(max(0.0, min(1.0, fraction)) * 100)
        bar.set_postfix_str(message[:60], refresh=True)

    try:
        yield progress
    finally:
        bar.close()


def acting_user(username: str | None):
    """The user named by a command's ``--user`` option (recorded in the audit log), or None."""
    if not username:
        return None
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no user {username!r}")
