"""A broken config names the file, the site and the field, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from warcwire.cli import main
from warcwire.config import load_config, parse_config, parse_size
from warcwire.exceptions import ConfigError

GOOD = """\
storage: ./archive
sites:
  - name: daily
    start_urls: ["https://news.example.org/"]
    sitemaps: ["https://news.example.org/sitemap.xml"]
    article_patterns: ['/\\d{4}/\\d{2}/']
    selectors: {title: "css:h1.headline", date: "xpath://time/@datetime"}
    schedule: "15 * * * *"
"""


def test_good_config_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    site = config.site("daily")
    assert site.domains == ["news.example.org"]
    assert site.politeness.delay == 1.0 and site.politeness.obey_robots
    assert config.warc.rotate_size == 1_000_000_000
    assert config.digest.startswith("sha256:") and config.path == str(path)


@pytest.mark.parametrize(
    ("replace", "by", "site", "field", "words"),
    [
        ("name: daily", "name: daily\n    politeness: {delay: -2}", "daily",
         "politeness.delay", "greater than or equal to 0"),
        ("name: daily", "name: daily\n    max_pages: 0", "daily", "max_pages", "greater"),
        ("name: daily", "name: daily\n    follow_depht: 2", "daily", "follow_depht",
         "unknown field"),
        ("css:h1.headline", "css:h1[[", "daily", "selectors.title", "invalid css selector"),
        ("css:h1.headline", "h1.headline", "daily", "selectors.title", "css:<selector>"),
        ("xpath://time/@datetime", "xpath://time[", "daily", "selectors.date", "invalid xpath"),
        ("15 * * * *", "every hour", "daily", "schedule", "a cron expression of 5 fields "
         "(minute hour day month day-of-week, e.g. '0 * * * *') or 6 (seconds first), got "
         "'every hour'"),
        ("15 * * * *", "0 0 31 2 *", "daily", "schedule", "'0 0 31 2 *' never fires"),
        ("'/\\d{4}/\\d{2}/'", "'/news/(unclosed'", "daily", "article_patterns",
         "invalid regular expression"),
        ('"https://news.example.org/sitemap.xml"', '"ftp://x/sitemap.xml"', "daily",
         "sitemaps", "http(s) URL"),
        ("name: daily", "name: Daily News", "Daily News", "name",
         "a site name is 1 to 63 lowercase letters, digits, '-' and '_', starting with a "
         "letter or digit (it names folders and files), got 'Daily News'"),
    ],
)
def test_site_field_errors_name_file_site_and_field(replace: str, by: str, site: str,
                                                   field: str, words: str) -> None:
    text = GOOD.replace(replace, by)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        parse_config(text, "conf/sites.yaml")
    err = info.value
    assert (err.path, err.site, err.field) == ("conf/sites.yaml", site, field)
    message = str(err)
    assert message.startswith(f"conf/sites.yaml: site '{site}': field '{field}': ")
    assert words in message
    assert "\n" not in message


def test_site_without_name_is_named_by_position() -> None:
    text = GOOD + '  - start_urls: ["https://b.example/"]\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sites.yaml")
    assert str(info.value) == "sites.yaml: site '#2': field 'name': required field is missing"


def test_site_without_entry_points() -> None:
    text = GOOD.replace('    start_urls: ["https://news.example.org/"]\n', "").replace(
        '    sitemaps: ["https://news.example.org/sitemap.xml"]\n', "")
    with pytest.raises(ConfigError, match="site 'daily': a site needs at least one of"):
        parse_config(text, "sites.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sites: [\n", "sites.yaml: invalid YAML at line 2, column 1"),
        ("- just a list\n", "sites.yaml: expected a mapping with a 'sites' list"),
        ("storage: x\n", "sites.yaml: field 'sites': required field is missing"),
        (GOOD + "warc: {rotate_size: lots}\n",
         "sites.yaml: field 'warc.rotate_size': expected a size"),
        (GOOD + GOOD.split("sites:\n")[1],
         "sites.yaml: field 'sites': duplicate site name 'daily'"),
        (GOOD + "colour: blue\n", "sites.yaml: field 'colour': unknown field"),
        (GOOD.replace("./archive", "ftp://host/x"), "sites.yaml: field 'storage': unknown storage "
         "scheme 'ftp' in 'ftp://host/x'; use a folder path, file:///folder or "
         "s3://bucket/prefix"),
        (GOOD.replace("./archive", "s3://"),
         "sites.yaml: field 'storage': 's3://' names no bucket; write s3://bucket or "
         "s3://bucket/prefix"),
    ],
)
def test_global_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sites.yaml")
    assert str(info.value).startswith(expected)


def test_relative_folders_are_relative_to_the_config_file(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "sites.yaml"
    path.write_text("spool_dir: spool\ndata_dir: /var/state\n" + GOOD)
    monkeypatch.chdir(tmp_path)  # not where the config is
    config = load_config("conf/sites.yaml")
    assert config.storage == str(tmp_path / "conf" / "archive")
    assert config.spool_dir == str(tmp_path / "conf" / "spool")
    assert config.data_dir == "/var/state"
    assert config.database_url == "sqlite:////var/state/warcwire.db"
    s3 = tmp_path / "conf" / "s3.yaml"
    s3.write_text(GOOD.replace("./archive", "s3://bucket/warc"))
    assert load_config(s3).storage == "s3://bucket/warc"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("value", "size"), [(1024, 1024), ("10MB", 10_000_000),
                                             ("1GiB", 1 << 30), ("1.5 kB", 1500)])
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


def test_cli_reports_config_error_in_one_line_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(GOOD.replace("name: daily", "name: daily\n    politeness: {delay: -1}"))
    code = main(["sites", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"Error: {path}: site 'daily': field 'politeness.delay': "
                   "Input should be greater than or equal to 0\n")


def test_cli_unknown_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(GOOD)
    code = main(["crawl", "weekly", "--config", str(path)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"Error: No site named 'weekly' in {path}. Configured sites: daily\n")


def test_cli_sites_lists_sites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(GOOD)
    assert main(["sites", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 site(s)" in out and "daily" in out and "15 * * * *" in out
