"""The service's config and its sites' triggers (cron parsing is in warcwire.cron)."""

from __future__ import annotations

from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from warcwire.config import Config, config_from_text
from warcwire.cron import cron_day_of_week, cron_trigger, parse_timezone
from warcwire.exceptions import ConfigError

__all__ = ["build_triggers", "cron_day_of_week", "cron_trigger", "parse_timezone",
           "read_config"]

def read_config(path: str) -> tuple[str, Config, dict[str, CronTrigger]]:
    """Config text, the validated config and each scheduled site's trigger."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "file not found (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file: {exc}") from None
    config = config_from_text(text, path)
    return text, config, build_triggers(config)


def build_triggers(config: Config) -> dict[str, CronTrigger]:
    try:
        tz = parse_timezone(config.timezone)
    except ValueError as exc:
        raise ConfigError(config.path, str(exc), field="timezone") from None
    triggers = {}
    for site in config.sites:
        if site.schedule:
            try:
                triggers[site.name] = cron_trigger(site.schedule, tz)
            except ValueError as exc:
                raise ConfigError(config.path, str(exc), site=site.name,
                                  field="schedule") from None
    return triggers
