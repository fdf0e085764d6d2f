from django.conf import settings
from django.core.management.base import BaseCommand

from a1site.accounts.services import demo_user_ensure


class Command(BaseCommand):
    help = "Create the demo user if it does not exist and print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=settings.A1_DEMO_USERNAME)
        parser.add_argument("--password", help="Set this password (also on an existing user).")

    def handle(self, *args, username, password, **options):
        user, new_password = demo_user_ensure(username=username, password=password)
        if new_password:
            self.stdout.write(self.style.SUCCESS(f"Demo user: {username}  password: {new_password}"))
        else:
            self.stdout.write(
                f"Demo user {username} already exists (password unchanged; "
                f"`python manage.py ensure_demo_user --password NEW` sets one)."
            )
