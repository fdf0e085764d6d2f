from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from a1site.registry.selectors import model_version_list

# The simulated sports get a daily slate; MLB's props are season-long.
DEMO_SLATE_SPORTS = ("nba", "nfl", "nhl")


class Command(BaseCommand):
    help = (
        "First-run set-up for the embedded mode: load the demo data and train the default "
        "models when the registry is empty, then make sure the demo user exists."
    )

    def handle(self, *args, **options):
        commands = get_commands()
        # The domain apps own these commands; they are called by name so a1site imports none.
        if not model_version_list().exists():
            if "load_demo" in commands:
                call_command("load_demo")
            if "train_models" in commands:
                call_command("train_models")
        else:
            self.stdout.write("Registry already has models: skipping demo data and training.")
        if "predict_slate" in commands and model_version_list().exists():
            # Today's simulated slate (repeatable), so the Dashboard shows real edges every day.
            for sport in DEMO_SLATE_SPORTS:
                try:
                    call_command("predict_slate", sport=sport, date="today", demo_slate=True, no_progress=True)
                except CommandError as exc:
                    self.stderr.write(f"no demo slate for {sport}: {exc}")
        call_command("ensure_demo_user", username=settings.A1_DEMO_USERNAME)
