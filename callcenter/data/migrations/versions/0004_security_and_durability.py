"""Security and durability (issue 11): the verification audit, account lockouts, the journal's
replay markers, and on call records the assurance level, a heartbeat and the `interrupted`
outcome.

Self-contained: new tables and new nullable columns, plus the `call_outcome` CHECK
constraint widened by one value (on SQLite through Alembic's batch mode, which rebuilds
the table with its rows as they are). No row is rewritten, and nothing here depends on the
console's tables (0003): it was first written on 0002 and chained after 0003 when the web
console landed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTCOMES = ("resolved", "transferred", "callback", "abandoned", "failed", "ended")
_CHECK = "ck_call_records_call_outcome"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _outcome_check(values: Sequence[str]) -> str:
    return "outcome IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "verification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("caller_masked", sa.String(length=24), nullable=True),
        sa.Column("factor", sa.String(length=16), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "ok",
                "wrong",
                "not_found",
                "refused",
                name="attempt_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_verification_attempts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_attempts")),
    )
    op.create_index(
        "ix_verification_attempts_customer_id_at", "verification_attempts", ["customer_id", "at"]
    )
    op.create_index("ix_verification_attempts_at", "verification_attempts", ["at"])

    op.create_table(
        "account_lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _ts("locked_at"),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        _ts("unlocked_at", nullable=True),
        sa.Column("unlocked_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_account_lockouts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_lockouts")),
    )
    op.create_index(
        "ix_account_lockouts_customer_id_unlocked_at",
        "account_lockouts",
        ["customer_id", "unlocked_at"],
    )

    op.create_table(
        "journal_replays",
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        _ts("applied_at"),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_journal_replays")),
    )

    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("assurance", sa.String(length=16), nullable=True))
        batch.add_column(_ts("heartbeat_at", nullable=True))
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint("call_outcome", _outcome_check((*_OUTCOMES, "interrupted")))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint("call_outcome", _outcome_check(_OUTCOMES))
        batch.drop_column("heartbeat_at")
        batch.drop_column("assurance")
    op.drop_table("journal_replays")
    op.drop_index("ix_account_lockouts_customer_id_unlocked_at", table_name="account_lockouts")
    op.drop_table("account_lockouts")
    op.drop_index("ix_verification_attempts_at", table_name="verification_attempts")
    op.drop_index("ix_verification_attempts_customer_id_at", table_name="verification_attempts")
    op.drop_table("verification_attempts")
