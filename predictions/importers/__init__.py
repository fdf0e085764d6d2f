"""Row-by-row validation of imported sports data, in one place for the command and the API.

Pure: pandas and numpy, no Django. The service reads a CSV file or a JSON list through
``csv_chunks`` / ``record_chunks`` (strings, in chunks of ``CHUNK_ROWS``), checks every
value with ``parse_chunk`` (vectorised: a million rows take seconds), then resolves natural
keys (sport, team, player, game external ids) to primary keys with ``resolve_chunk`` through
a ``Lookups`` object it backs with the database. Every problem becomes a ``RowError`` that
names the row (1-based, the header not counted: row N is line N + 1 of a CSV file), the
column and the reason. The formats are documented in docs/importers.md.

The package, by step: ``specs`` (the formats), ``chunks`` (reading, and the row errors),
``parsing`` (typed values), ``resolving`` (natural keys to primary keys, cross-column checks,
duplicates, rows for the writer). Import from the package.
"""

from .chunks import (
    CHUNK_ROWS,
    CSV_BLOCK_BYTES,
    MAX_REPORTED_ERRORS,
    ErrorLog,
    FileRejected,
    ParsedChunk,
    RawChunk,
    RowError,
    check_header,
    csv_chunks,
    record_chunks,
)
from .parsing import (
    FALSE_WORDS,
    TRUE_WORDS,
    parse_chunk,
)
from .resolving import (
    DuplicateTracker,
    Lookups,
    lookup,
    oracle_probabilities,
    resolve_chunk,
    stats_json,
)
from .specs import (
    EXTRA_STATS,
    SPECS,
    SPORT_STATS,
    STAT_CODES,
    Column,
    ImportSpec,
)

__all__ = [
    "CHUNK_ROWS",
    "CSV_BLOCK_BYTES",
    "Column",
    "DuplicateTracker",
    "EXTRA_STATS",
    "ErrorLog",
    "FALSE_WORDS",
    "FileRejected",
    "ImportSpec",
    "Lookups",
    "MAX_REPORTED_ERRORS",
    "ParsedChunk",
    "RawChunk",
    "RowError",
    "SPECS",
    "SPORT_STATS",
    "STAT_CODES",
    "TRUE_WORDS",
    "check_header",
    "csv_chunks",
    "lookup",
    "oracle_probabilities",
    "parse_chunk",
    "record_chunks",
    "resolve_chunk",
    "stats_json",
]
