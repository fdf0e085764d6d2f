"""The props list's generation: a one-row counter that triggers raise with every write to a
table the list shows (``PropsListGeneration``).

PostgreSQL: one statement-level trigger per table (a 10,000-row upsert raises it once);
predictions only when a written row prices a prop line (transition tables), so the API's
predictions, which price none, leave the list's pages cached. SQLite has only row-level
triggers: one per table and operation, with the same condition for predictions.
"""

from django.db import migrations, models

GENERATION = "predictions_propslistgeneration"
# Every table a row of the props list (or which rows it holds) reads, but predictions.
TABLES = (
    "predictions_sport",
    "predictions_team",
    "predictions_player",
    "predictions_game",
    "predictions_propline",
    "predictions_result",
    "registry_modelversion",
)
PREDICTIONS = "predictions_prediction"
BUMP = f"UPDATE {GENERATION} SET n = n + 1 WHERE id = 1"


def postgres(bump: str) -> list[str]:
    """PostgreSQL's functions and triggers, each function running ``bump``."""
    return [
        f"""CREATE OR REPLACE FUNCTION a1_props_list_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {bump};
    RETURN NULL;
END $$""",
        # Each transition table is named only in the branch of the operation that has it
        # (PL/pgSQL plans a statement when it first runs it).
        f"""CREATE OR REPLACE FUNCTION a1_props_list_bump_priced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM new_rows WHERE prop_line_id IS NOT NULL) THEN {bump}; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM old_rows WHERE prop_line_id IS NOT NULL) THEN {bump}; END IF;
    ELSIF EXISTS (SELECT 1 FROM old_rows WHERE prop_line_id IS NOT NULL)
        OR EXISTS (SELECT 1 FROM new_rows WHERE prop_line_id IS NOT NULL) THEN
        {bump};
    END IF;
    RETURN NULL;
END $$""",
        *(
            f"CREATE TRIGGER a1_props_list_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION a1_props_list_bump()"
            for table in TABLES
        ),
        f"CREATE TRIGGER a1_props_list_bump_insert AFTER INSERT ON {PREDICTIONS} REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION a1_props_list_bump_priced()",
        f"CREATE TRIGGER a1_props_list_bump_update AFTER UPDATE ON {PREDICTIONS}"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION a1_props_list_bump_priced()",
        f"CREATE TRIGGER a1_props_list_bump_delete AFTER DELETE ON {PREDICTIONS} REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION a1_props_list_bump_priced()",
        f"CREATE TRIGGER a1_props_list_bump_truncate AFTER TRUNCATE ON {PREDICTIONS}"
        " FOR EACH STATEMENT EXECUTE FUNCTION a1_props_list_bump()",
    ]


POSTGRES = postgres(BUMP)
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS a1_props_list_bump ON {table}" for table in TABLES),
    *(
        f"DROP TRIGGER IF EXISTS a1_props_list_bump_{op} ON {PREDICTIONS}"
        for op in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION IF EXISTS a1_props_list_bump_priced()",
    "DROP FUNCTION IF EXISTS a1_props_list_bump()",
]

_PRICED = {
    "insert": "NEW.prop_line_id IS NOT NULL",
    "update": "OLD.prop_line_id IS NOT NULL OR NEW.prop_line_id IS NOT NULL",
    "delete": "OLD.prop_line_id IS NOT NULL",
}


def sqlite(bump: str) -> list[str]:
    """SQLite's row-level triggers, each running ``bump``."""
    return [
        *(
            f"CREATE TRIGGER a1_props_list_bump_{table}_{op} AFTER {op.upper()} ON {table} BEGIN {bump}; END"
            for table in TABLES
            for op in ("insert", "update", "delete")
        ),
        *(
            f"CREATE TRIGGER a1_props_list_bump_{PREDICTIONS}_{op} AFTER {op.upper()} ON {PREDICTIONS}"
            f" WHEN {condition} BEGIN {bump}; END"
            for op, condition in _PRICED.items()
        ),
    ]


SQLITE = sqlite(BUMP)
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS a1_props_list_bump_{table}_{op}"
    for table in (*TABLES, PREDICTIONS)
    for op in ("insert", "update", "delete")
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise NotImplementedError(f"no props-list triggers for {schema_editor.connection.vendor}")
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


def first_row(apps, schema_editor):
    apps.get_model("predictions", "PropsListGeneration").objects.create(id=1, n=0)


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0004_prediction_priced_newest"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PropsListGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("n", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(first_row, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}),
        ),
    ]
