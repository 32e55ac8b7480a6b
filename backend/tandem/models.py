"""Every table, imported in one place so Alembic and the tests see the whole schema.

Importing a domain's models module registers its tables on the shared metadata.
"""

from tandem.accounts import models as accounts  # noqa: F401
from tandem.appointments import models as appointments  # noqa: F401
from tandem.core import audit, crypto, throttle  # noqa: F401
from tandem.core.db import metadata
from tandem.couples import models as couples  # noqa: F401
from tandem.exercises import models as exercises  # noqa: F401
from tandem.journal import models as journal  # noqa: F401
from tandem.measures import models as measures  # noqa: F401
from tandem.plans import models as plans  # noqa: F401
from tandem.practice_times import models as practice_times  # noqa: F401
from tandem.reminders import models as reminders  # noqa: F401
from tandem.workspace import models as workspace  # noqa: F401

__all__ = ["metadata"]
