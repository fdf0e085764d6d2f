from django.core.management.base import BaseCommand, CommandError

from a1site.core.errors import ApplicationError
from predictions.services import demo

from ._dates import parse_date
from ._progress import progress_bar


class Command(BaseCommand):
    help = (
        "Load the demo data: MLB player seasons from Lahman with season-long props, and simulated "
        "NBA/NFL/NHL leagues with book props and the oracle, standing as on the morning of --as-of. "
        "Seeded and repeatable: running it again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--small", action="store_true", help="small leagues and MLB from 2018 (tests, smoke runs)")
        parser.add_argument("--sport", action="append", choices=demo.DEMO_SPORTS, help="only this sport (repeatable)")
        parser.add_argument(
            "--as-of",
            default="today",
            help="YYYY-MM-DD or 'today' (UTC): the simulated leagues hold the games played before this day",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        as_of = parse_date(options["as_of"], option="--as-of")
        try:
            with progress_bar(self, desc="load_demo", disable=options["no_progress"]) as progress:
                summary = demo.demo_load(
                    seed=options["seed"],
                    small=options["small"],
                    sports=options["sport"],
                    as_of=as_of,
                    progress=progress,
                )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        for sport, counts in summary.items():
            created = ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items())
            self.stdout.write(f"{sport}: created {created}")
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
