from ... import services
from ._replay import ReplayCommand


class Command(ReplayCommand):
    help = "Replay an odds feed CSV: store each tick, publish odds.*, raise steam alerts (e.g. --speed 10x)."
    noun = "odds ticks"
    parse = staticmethod(services.odds_feed_parse)
    ingest = staticmethod(lambda group: services.odds_ingest(ticks=group, source="replay"))
    endpoint = "/api/odds/"
    key = "ticks"
