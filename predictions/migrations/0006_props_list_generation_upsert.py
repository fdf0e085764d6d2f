"""The props list's triggers make its generation row when it is missing, so that a read never
writes.

0005's triggers only raised the row (``UPDATE … SET n = n + 1``); with the row gone (``flush``,
as transactional tests do, or a restore without it) the reader put it back. Now the writing
statement's trigger inserts it, at a random number no process can have kept pages under, and
raises it otherwise (``INSERT … ON CONFLICT (id) DO UPDATE``); a read of a missing row renders
its page afresh and writes nothing. PostgreSQL: the two trigger functions are replaced, the
triggers stay. SQLite: the triggers are made again with the new body.
"""

import importlib

from django.db import migrations

initial = importlib.import_module("predictions.migrations.0005_props_list_generation")

GENERATION = initial.GENERATION
# A fresh row starts at a random number below 2^61 (PostgreSQL's random() is a double in [0, 1);
# SQLite's random() a signed 64-bit integer).
POSTGRES_BUMP = (
    f"INSERT INTO {GENERATION} AS g (id, n) VALUES (1, (random() * 2305843009213693952)::bigint)"
    " ON CONFLICT (id) DO UPDATE SET n = g.n + 1"
)
SQLITE_BUMP = f"INSERT INTO {GENERATION} (id, n) VALUES (1, abs(random() / 4)) ON CONFLICT (id) DO UPDATE SET n = n + 1"


def _functions(bump: str) -> list[str]:
    """PostgreSQL's two trigger functions (``CREATE OR REPLACE``) of ``initial.postgres``."""
    return [s for s in initial.postgres(bump) if s.startswith("CREATE OR REPLACE FUNCTION")]


STATEMENTS = {
    "postgresql": _functions(POSTGRES_BUMP),
    "sqlite": [*initial.SQLITE_DROP, *initial.sqlite(SQLITE_BUMP)],
}
REVERSE = {
    "postgresql": _functions(initial.BUMP),
    "sqlite": [*initial.SQLITE_DROP, *initial.SQLITE],
}


class Migration(migrations.Migration):
    dependencies = [("predictions", "0005_props_list_generation")]

    operations = [migrations.RunPython(initial._run(STATEMENTS), initial._run(REVERSE))]
