"""Jinja2 environment of the console: templates in `templates/`, autoescaped, with filters
that show times in the contact center's time zone and never a phone number in clear."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from callcenter.data.call_analysis import Disposition
from callcenter.postcall.analysis import DISPOSITION_LABELS
from callcenter.telephony.numbers import mask

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def make_templates(tz: ZoneInfo) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True

    def localtime(value: dt.datetime | float | str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, int | float):
            value = dt.datetime.fromtimestamp(value, dt.UTC)
        return value.astimezone(tz).strftime(fmt)

    def duration(seconds: float | None) -> str:
        if seconds is None:
            return "–"
        total = round(seconds)
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

    def offset(at: float | None, start: dt.datetime) -> str:
        if at is None:
            return ""
        return "+" + duration(max(0.0, at - start.timestamp()))

    def label(value: Any) -> str:
        if isinstance(value, Disposition):
            return DISPOSITION_LABELS[value]
        try:
            return DISPOSITION_LABELS[Disposition(str(value))]
        except ValueError:
            return str(value or "").replace("_", " ")

    env.filters.update(
        localtime=localtime, duration=duration, offset=offset, label=label, mask=mask
    )
    env.globals["tzname"] = dt.datetime.now(tz).strftime("%Z")
    env.globals["dispositions"] = list(Disposition)
    return templates
