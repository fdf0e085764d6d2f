"""The shared body of the import_* commands: parse arguments, show a progress bar, call the service."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from predictions import services

from ._progress import acting_user, progress_bar


class ImportCommand(BaseCommand):
    kind = ""

    @property
    def help(self):
        return (
            f"Import {self.kind} from a CSV file (format: docs/importers.md). Every row is validated; "
            "a file with a bad row imports nothing unless --skip-bad is given. Importing the same "
            "file twice changes nothing."
        )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8, header line first)")
        parser.add_argument("--skip-bad", action="store_true", help="import the good rows and report the bad ones")
        parser.add_argument("--user", help="username recorded as the actor in the audit log")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        user = acting_user(options["user"])
        try:
            with (
                progress_bar(self, desc=f"import {self.kind}", disable=options["no_progress"]) as progress,
                path.open("rb") as handle,
            ):
                report = services.data_import(
                    kind=self.kind,
                    csv_file=handle,
                    user=user,
                    skip_bad=options["skip_bad"],
                    source=path.name,
                    total_bytes=path.stat().st_size,
                    progress=progress,
                )
        except services.ImportRejected as exc:
            self._print_errors(exc.report)
            raise CommandError(exc.message.split(". ")[0] + ".")
        self._print_errors(report)
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: {report.rows:,} rows, {report.created:,} created, {report.updated:,} updated, "
                f"{report.unchanged:,} unchanged, {report.skipped:,} skipped (bad)."
            )
        )

    def _print_errors(self, report: services.ImportReport) -> None:
        for error in report.errors:
            self.stderr.write(f"{error.field_key}: {error.message}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"… and {report.error_count - len(report.errors):,} more problems.")
