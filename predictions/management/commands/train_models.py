from django.core.management.base import BaseCommand, CommandError

from a1site.core.errors import ApplicationError
from predictions import services

from ._progress import acting_user, progress_bar


class Command(BaseCommand):
    help = (
        "Train the XGBoost, PyTorch and ensemble models of every sport/stat (or one) on the database's "
        "data and register them with metrics and plots; the first version of a name goes to production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sport", help="only this sport (mlb, nba, nfl, nhl)")
        parser.add_argument("--stat", help="only this stat, e.g. points")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--quick", action="store_true", help="small models (smoke runs, tests)")
        parser.add_argument("--user", help="username recorded as the creator of the versions")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        user = acting_user(options["user"])
        try:
            with progress_bar(self, desc="train_models", disable=options["no_progress"]) as progress:
                summary = services.models_train(
                    sport=options["sport"],
                    stat=options["stat"],
                    seed=options["seed"],
                    quick=options["quick"],
                    user=user,
                    progress=progress,
                )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        for version in summary["trained"]:
            self.stdout.write(
                f"{version['name']} v{version['version']} ({version['status']}), "
                f"test log loss {version['log_loss']:.4f}"
            )
        for skipped in summary["skipped"]:
            self.stderr.write(f"skipped {skipped['sport']} {skipped['stat']}: {skipped['reason']}")
        self.stdout.write(self.style.SUCCESS(f"{len(summary['trained'])} model versions registered."))
