"""Reads shared by the API, pages, commands and other apps, one module per subject.

Other apps import from this package (``from predictions import selectors``); each read owns
its ``select_related``.
"""

from .catalogue import *  # noqa: F403
from .explaining import *  # noqa: F403
