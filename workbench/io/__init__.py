"""Import real CRM exports (CSV, Excel, Parquet; Salesforce, HubSpot, Dynamics, generic) into an AccountBook.

Entry point: :func:`import_book`. A file that cannot be read at all raises :class:`ImportFileError`
(a ``ValueError`` with one plain sentence); everything else ends up in the book's ``ImportReport``.
"""

from .errors import ImportFileError
from .importer import FileInput, import_accounts, import_book, read_mapped, rejections_csv
from .owners import DEFAULT_CAPACITY_HOURS, OWNER_RULE, derive_owners
from .presets import (
    PRESETS,
    ColumnMapping,
    build_mapping,
    detect_preset,
    load_mapping,
    mapping_yaml,
    parse_mapping,
    suggest_mapping,
)
from .readers import RawTable, read_table, sniff

#: Short alias kept for callers that expect the name from the issue text.
ImportError_ = ImportFileError

__all__ = ["ImportFileError", "ImportError_", "import_book", "import_accounts", "read_mapped", "FileInput", "rejections_csv",
           "read_table", "sniff", "RawTable", "PRESETS", "ColumnMapping", "build_mapping", "detect_preset",
           "load_mapping", "parse_mapping", "mapping_yaml", "suggest_mapping", "derive_owners", "OWNER_RULE", "DEFAULT_CAPACITY_HOURS"]
