"""The logging rules in one process: masking, per-call fields, levels, SQLAlchemy quiet.

(That the real worker prints each event once, from its main and its job processes, is
`test_ops_worker_cli.py`.)"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from livekit.agents.cli.log import JsonFormatter

from callcenter.data import Database
from callcenter.observability import logs


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def capture() -> Iterator[_Capture]:
    """A JSON handler on the root logger, as the worker has under `start`."""
    root = logging.getLogger()
    handler = _Capture()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_phone_numbers_are_masked_in_messages_arguments_and_fields(capture: _Capture) -> None:
    logs.adopt_worker_handlers()
    try:
        logging.getLogger("livekit.agents").warning(
            "participant %s joined", "sip_+14155550142", extra={"identity": "sip_+14155550142"}
        )
    finally:
        capture.filters.clear()
    line = json.loads(capture.lines[-1])
    assert line["message"] == "participant sip_+1********42 joined"
    assert line["identity"] == "sip_+1********42"
    assert "4155550142" not in capture.lines[-1]


def test_masking_leaves_other_numbers_alone() -> None:
    assert logs.mask_phone_numbers("job AJ_1234567 took 12345 ms") == "job AJ_1234567 took 12345 ms"
    assert logs.mask_phone_numbers("to +442071838750 and +14155550142") == (
        "to +4*********50 and +1********42"
    )


def test_a_calls_lines_carry_its_id_room_and_current_phase(capture: _Capture) -> None:
    phase = {"now": "greeting"}
    unbind = logs.bind_call("call-7", "call-room-7", lambda: phase["now"])
    try:
        log = logging.getLogger("callcenter.call")
        log.info("first")
        phase["now"] = "verification"
        log.info("second", extra={"phone": "+14155550142"})
        logging.getLogger("livekit.agents").info("framework line")
    finally:
        unbind()
    logging.getLogger("callcenter.call").info("after the call")
    first, second, framework, after = (json.loads(line) for line in capture.lines[-4:])
    assert (first["call_id"], first["room"]) == ("call-7", "call-room-7")
    assert first["phase"] == "greeting"
    assert second["phase"] == "verification"
    assert second["phone"] == "+1********42"
    assert framework["call_id"] == "call-7"
    assert "call_id" not in after


def test_levels_apply_to_the_product_and_never_open_the_libraries() -> None:
    root = logging.getLogger()
    before = {name: logging.getLogger(name).level for name in ("", *logs.LIBRARY_LOGGERS)}
    before.update({name: logging.getLogger(name).level for name in logs.PRODUCT_LOGGERS})
    try:
        logs.apply_levels("DEBUG")
        assert root.level == logging.DEBUG
        assert logging.getLogger("callcenter").getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("livekit.plugins.openai").getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("sqlalchemy.engine.Engine").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.WARNING
        logs.apply_levels("ERROR")
        assert logging.getLogger("callcenter").getEffectiveLevel() == logging.ERROR
        assert logging.getLogger("sqlalchemy").getEffectiveLevel() == logging.ERROR
        with pytest.raises(ValueError, match="log level 'LOUD'"):
            logs.apply_levels("LOUD")
    finally:
        for name, level in before.items():
            logging.getLogger(name or None).setLevel(level)


def test_framework_level_names() -> None:
    assert logs.framework_level("WARNING") == "WARN"
    assert logs.framework_level("DEBUG") == "DEBUG"


async def test_database_errors_never_show_statement_parameters(db_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
        with pytest.raises(sa.exc.DBAPIError) as raised:
            async with db.transaction() as session:
                await session.execute(
                    sa.text("INSERT INTO no_such_table (pin) VALUES (:pin)"), {"pin": "4421"}
                )
    finally:
        await db.close()
    assert "4421" not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)


def test_cli_logging_has_one_handler_however_often_it_is_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    try:
        logs.configure_cli_logging("INFO")
        logs.configure_cli_logging("INFO")
        logging.getLogger("callcenter.test").info("once", extra={"caller": "+14155550142"})
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    err = capsys.readouterr().err.splitlines()
    assert err.count("INFO callcenter.test: once caller=+1********42") == 1
