"""The use cases of explanations, one module per subject, re-exported here:

- ``explaining``: explanations of stored predictions (levels, cache, batch, what-if), the
  per-version explainers and their background samples;
- ``insight``: the global view per model version;
- ``jobs``: the heavy work as jobs (detailed levels for many predictions, global insight,
  the slate's fast explanations when a version is activated);
- ``plots``: waterfall, global bar and dependence plots (PNG, SVG).
"""

from .explaining import *  # noqa: F403
from .insight import *  # noqa: F403
from .jobs import *  # noqa: F403
from .plots import *  # noqa: F403
