from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from a1site.registry.selectors import model_version_list


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
        call_command("ensure_demo_user", username=settings.A1_DEMO_USERNAME)
