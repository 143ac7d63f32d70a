"""Pandera schemas of the contract, run in lazy mode so that every problem is reported at once."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pandas as pd

from ingest.contract import CONTRACT_TYPES, SEGMENTS
from ingest.errors import N_EXAMPLES, Problem, format_examples

# pandera imports pyspark.pandas when it is installed (the Spark engine needs pyspark), and pyspark
# warns about pandas 3 when it is imported: once as pandera loads, once as its first validation
# registers its checks. The pipeline does not use pyspark.pandas.
_PYSPARK_PANDAS_WARNING = "PySpark does not yet fully support pandas"

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", _PYSPARK_PANDAS_WARNING, FutureWarning)
    import pandera.pandas as pa

# Pandera's built-in check names, rewritten for someone fixing their spreadsheet.
_MESSAGES = {
    "not_nullable": "missing values",
    "field_uniqueness": "the same id on rows with different values",
    "multiple_fields_uniqueness": "the same account and date on rows with different values",
}


def accounts_schema() -> pa.DataFrameSchema:
    """Accounts after parsing: ids present and unique, known labels, non-negative whole seats and MRR."""
    return pa.DataFrameSchema(
        {
            "account_id": pa.Column("str", nullable=False, unique=True),
            "segment": pa.Column(
                "str",
                pa.Check.isin(
                    SEGMENTS, error=f"not one of {', '.join(SEGMENTS)} (after trimming and lower-casing)"
                ),
            ),
            "contract_type": pa.Column(
                "str",
                pa.Check.isin(
                    CONTRACT_TYPES,
                    error=f"not one of {', '.join(CONTRACT_TYPES)} (after trimming and lower-casing)",
                ),
            ),
            "seats": pa.Column(
                "float64",
                [
                    pa.Check.ge(0, error="negative seats"),
                    pa.Check(lambda s: s % 1 == 0, element_wise=False, error="seats not a whole number"),
                ],
                nullable=False,
            ),
            "mrr": pa.Column("float64", pa.Check.ge(0, error="negative MRR"), nullable=False),
            "contract_start": pa.Column("datetime64[s]", nullable=False),
        },
        strict=False,
    )


def history_schema() -> pa.DataFrameSchema:
    """Account history after parsing: one row per (account, date); non-negative whole seats and MRR."""
    return pa.DataFrameSchema(
        {
            "account_id": pa.Column("str", nullable=False),
            "effective_date": pa.Column("datetime64[s]", nullable=False),
            "seats": pa.Column(
                "float64",
                [
                    pa.Check.ge(0, error="negative seats"),
                    pa.Check(lambda s: s % 1 == 0, element_wise=False, error="seats not a whole number"),
                ],
                nullable=False,
            ),
            "mrr": pa.Column("float64", pa.Check.ge(0, error="negative MRR"), nullable=False),
        },
        unique=["account_id", "effective_date"],
        report_duplicates="all",
        strict=False,
    )


def _validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> None:
    """`schema.validate` in lazy mode (every failure at once), without pyspark's import warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _PYSPARK_PANDAS_WARNING, FutureWarning)
        schema.validate(frame, lazy=True)


def check_history_schema(
    frame: pd.DataFrame, file: str, skip_null_columns: set[str], show: ShowRow | None = None
) -> list[Problem]:
    try:
        _validate(history_schema(), frame)
    except pa.errors.SchemaErrors as exc:
        return summarise_failures(exc.failure_cases, file, skip_null_columns, show)
    return []


def check_accounts_schema(
    frame: pd.DataFrame, file: str, skip_null_columns: set[str], show: ShowRow | None = None
) -> list[Problem]:
    """Validate lazily; one Problem per (column, check) with its row count and example values.

    `skip_null_columns` holds columns whose unparseable values were already reported (now null).
    """
    try:
        _validate(accounts_schema(), frame)
    except pa.errors.SchemaErrors as exc:
        return summarise_failures(exc.failure_cases, file, skip_null_columns, show)
    return []


ShowRow = Callable[[int, str], str]  # (frame index, column) -> the row as the user wrote it


def summarise_failures(
    cases: pd.DataFrame, file: str, skip_null_columns: set[str], show: ShowRow | None = None
) -> list[Problem]:
    """One Problem per (column, check). With `show`, the examples are the first failing rows as read
    ('row 4 (A0003): '-3''), not the parsed values ('-3.0'), which the user could not find in the file."""
    problems = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True, dropna=False):
        if check == "not_nullable" and column in skip_null_columns:
            continue
        if check == "multiple_fields_uniqueness" and column != "account_id":
            continue  # one problem per key, not one per key column
        message = _MESSAGES.get(str(check), str(check))
        n_rows = group["index"].nunique() if group["index"].notna().any() else len(group)
        rows = group["index"].dropna().unique()[:N_EXAMPLES]
        if show is not None and len(rows):
            examples = tuple(show(int(i), str(column)) for i in rows)
        else:
            examples = format_examples(group["failure_case"])
        problems.append(Problem(file, str(column), message, int(n_rows), examples))
    return problems
