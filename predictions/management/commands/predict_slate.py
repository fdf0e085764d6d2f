from django.core.management.base import BaseCommand, CommandError

from a1site.core.errors import ApplicationError
from predictions import services
from predictions.engine.sports import SPORTS
from predictions.services import demo_slate

from ._dates import parse_date
from ._progress import progress_bar


class Command(BaseCommand):
    help = (
        "Score every priced prop of a slate (a sport's props on a date, or a date range) with the "
        "production ensemble of each stat and any shadow challenger, and store the predictions. "
        "--demo-slate first creates today's simulated, unsettled demo slate (simulated sports)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sport", required=True, choices=sorted(SPORTS))
        parser.add_argument("--date", default="today", help="YYYY-MM-DD or 'today' (UTC)")
        parser.add_argument("--through", help="last date of a range (YYYY-MM-DD)")
        parser.add_argument(
            "--demo-slate", action="store_true", help="create the simulated demo slate for the date first"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        date = parse_date(options["date"], option="--date")
        through = parse_date(options["through"], option="--through") if options["through"] else None
        try:
            if options["demo_slate"]:
                created = demo_slate.demo_slate_create(sport=options["sport"], date=date, seed=options["seed"])
                self.stdout.write(
                    f"{options['sport']} demo slate {date}: {created['games']} games and {created['props']} props "
                    f"created ({created['priced']} priced, simulated)"
                )
            with progress_bar(self, desc="predict_slate", disable=options["no_progress"]) as progress:
                summary = services.slate_predict(sport=options["sport"], date=date, through=through, progress=progress)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        for stat, reason in summary["skipped"].items():
            self.stderr.write(f"skipped {options['sport']} {stat}: {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary['scored']:,} of {summary['props']:,} props scored"
                + (f", {summary['shadow']:,} by shadow challengers" if summary["shadow"] else "")
                + "."
            )
        )
