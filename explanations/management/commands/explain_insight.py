from django.core.management.base import BaseCommand

from explanations import services


class Command(BaseCommand):
    help = "Compute and store the global explanation (mean |SHAP|, dependence) of a model version."

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, required=True, help="ModelVersion id of an ensemble.")

    def handle(self, *args, version: int, **options):
        def progress(fraction: float, message: str = "") -> None:
            self.stdout.write(f"{fraction:6.1%} {message}")

        insight = services.global_insight_compute(version_id=version, progress=progress)
        self.stdout.write(f"stored: {insight.n_rows} rows, top feature {insight.importance[0]['feature']}")
