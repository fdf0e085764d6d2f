from ... import services
from ._replay import ReplayCommand


class Command(ReplayCommand):
    help = "Replay a game feed CSV: store each event, publish games.{id}, send game_final on finals."
    noun = "game events"
    parse = staticmethod(services.game_feed_parse)
    ingest = staticmethod(lambda group: services.game_events_ingest(events=group))
    endpoint = "/api/games/events/"
    key = "events"
