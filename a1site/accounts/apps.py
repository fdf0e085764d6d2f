from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "a1site.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from .authentication import connect_signals

        connect_signals()
