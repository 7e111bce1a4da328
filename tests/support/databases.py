"""A look into a service's own database, for system tests that check what a service kept."""
from __future__ import annotations

from sqlalchemy import Text, cast, create_engine, inspect, select, text
from sqlalchemy.sql import column, table


def rows(database_url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def columns_holding(database_url: str, needle: str) -> list[str]:
    """Every table.column of the database with a value that, as text, contains `needle`."""
    engine = create_engine(database_url)
    found = []
    try:
        schema = inspect(engine)
        with engine.connect() as connection:
            for table_name in schema.get_table_names():
                for described in schema.get_columns(table_name):
                    name = described["name"]
                    query = select(column(name)).select_from(table(table_name)).where(
                        cast(column(name), Text).contains(needle, autoescape=True)).limit(1)
                    if connection.execute(query).first() is not None:
                        found.append(f"{table_name}.{name}")
    finally:
        engine.dispose()
    return found
