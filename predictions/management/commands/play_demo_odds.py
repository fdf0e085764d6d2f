import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from predictions.services import demo_odds


class Command(BaseCommand):
    help = (
        "Play the demo's simulated odds feed for today's slate in real time, looping (the embedded "
        "server does this itself unless A1_DEMO_ODDS_FEED is off; in the services mode run this "
        "beside the servers). Ctrl-C stops."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--speed",
            type=float,
            default=settings.A1_DEMO_ODDS_FEED_SPEED,
            help="feed seconds per second (default A1_DEMO_ODDS_FEED_SPEED)",
        )
        parser.add_argument("--seed", type=int, default=0, help="the feed's seed, as demo_odds_feed --seed")
        parser.add_argument("--passes", type=int, default=0, help="stop after this many passes (0: loop)")

    def handle(self, *args, speed, seed, passes, **options):
        if speed <= 0 or seed < 0 or passes < 0:
            raise CommandError("--speed must be positive, --seed and --passes 0 or more")
        stop = threading.Event()
        self.stdout.write(f"playing the demo's simulated odds feed at {speed:g}x (Ctrl-C stops)")
        try:
            ticks = demo_odds.demo_odds_feed_play(stop=stop, speed=speed, seed=seed, passes=passes or None)
        except KeyboardInterrupt:
            stop.set()
            return
        self.stdout.write(self.style.SUCCESS(f"played {ticks:,} simulated ticks"))
