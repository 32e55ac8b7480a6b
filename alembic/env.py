from sqlalchemy.engine import Engine

from alembic import context
from tandem.core.config import Settings
from tandem.core.db import make_engine
from tandem.models import metadata

config = context.config


def run_migrations() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        # Plain `alembic` on the command line: the same settings as the app.
        engine = make_engine(Settings().database)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
