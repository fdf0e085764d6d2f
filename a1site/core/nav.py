"""The navigation bar. Domain apps register their page from AppConfig.ready(), so a1site imports
no domain app; an entry whose app has not registered yet is shown as not available."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str
    url_name: str | None


# Order of the bar; the url is filled in by whoever owns the page.
_ENTRIES: dict[str, NavEntry] = {
    key: NavEntry(key, label, url_name)
    for key, label, url_name in [
        ("dashboard", "Dashboard", "pages:dashboard"),
        ("predictions", "Predictions", None),
        ("portfolios", "Portfolios", None),
        ("live", "Live", None),
        ("models", "Models", "registry:models"),
        ("api_docs", "API docs", "api-docs"),
    ]
}


def register_nav(*, key: str, label: str, url_name: str) -> None:
    _ENTRIES[key] = NavEntry(key, label, url_name)


def nav_entries() -> list[NavEntry]:
    return list(_ENTRIES.values())
