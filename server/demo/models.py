"""What the demo remembers about itself: the moment its data describes, so
that ``flask seed-demo --refresh`` can move every clock forward on a later day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from server.db import UTCDateTime
from server.extensions import db


class DemoState(db.Model):
    """One row, written by ``seed-demo``; a database without it is not a demo
    and is never rebased."""

    __tablename__ = "demo_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())  # "now" for the data as it stands
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime())
