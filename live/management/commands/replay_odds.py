from ... import services
from ._replay import ReplayCommand


class Command(ReplayCommand):
    help = "Replay an odds feed CSV: store each tick, publish odds.*, raise steam alerts (e.g. --speed 10x)."
    noun = "odds ticks"
    parse = staticmethod(services.odds_feed_parse)
    ingest = staticmethod(lambda group: services.odds_ingest(ticks=group, source="replay"))

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--simulated",
            action="store_true",
            help="label every tick simulated unless its row says otherwise (the 'simulated' column)",
        )

    def parse_options(self, options) -> dict:
        return {"simulated": options["simulated"]}
