"""Path parameters that name a database row.

Every route that takes a row id declares it as `Id`: a positive number that fits the
databases' `integer` column (PostgreSQL's is 32-bit), so an out-of-range id is a 422 that
names the field, never an overflow inside the driver. Its own module so pages and the API
share it without importing each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
