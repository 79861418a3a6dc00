"""``warcwire verify`` on real crawls: clean storage passes; each kind of damage is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from storage.catalog import Catalog
from tests.fixtures_s3 import S3Server
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.test_crawl_s3 import list_keys, s3_environ
from warcwire.config import load_config


@pytest.fixture(scope="module")
def crawled(news_site: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("verify-crawl")
    config = write_config(tmp, [site_entry(news_site)], storage=str(tmp / "archive"))
    result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp


@pytest.fixture
def copy(crawled: Path, tmp_path: Path) -> Path:
    """A private copy of the crawled storage and catalog, free to damage."""
    for name in ("archive", "state"):
        shutil.copytree(crawled / name, tmp_path / name)
    config = yaml.safe_load((crawled / "sites.yaml").read_text())
    config.update(storage=str(tmp_path / "archive"), spool_dir=str(tmp_path / "spool"),
                  data_dir=str(tmp_path / "state"))
    (tmp_path / "sites.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def verify(tmp: Path, *args: str):
    return run_cli("verify", "--config", str(tmp / "sites.yaml"), *args)


def one_warc(tmp: Path) -> Path:
    (warc,) = (tmp / "archive").rglob("*.warc.gz")
    return warc


def test_clean_storage_verifies(copy: Path) -> None:
    result = verify(copy, "--site", "sample-news", "--since", "2000-01-01")
    assert result.returncode == 0, result.stdout + result.stderr
    (summary,) = result.stdout.splitlines()
    assert summary.startswith("Verified 1 WARC(s), ") and summary.endswith(": OK"), summary


def test_since_in_the_future_checks_nothing(copy: Path) -> None:
    result = verify(copy, "--since", "2999-01-01")
    assert result.returncode == 0 and "Verified 0 WARC(s), 0 record(s), 0 catalog row(s)" \
        in result.stdout, result.stdout


def test_bad_since_is_a_usage_error(copy: Path) -> None:
    result = verify(copy, "--since", "yesterday")
    assert result.returncode == 2 and "use YYYY-MM-DD" in result.stderr


def test_a_flipped_byte_is_named_corrupt(copy: Path, news_site: str) -> None:
    warc = one_warc(copy)
    catalog = Catalog(load_config(copy / "sites.yaml").database_url)
    try:
        rows = catalog.captures(news_site + "/", match="prefix")
    finally:
        catalog.close()
    biggest = max(rows, key=lambda c: c.length)  # a whole article page's gzip member
    data = bytearray(warc.read_bytes())
    data[biggest.offset + biggest.length // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    result = verify(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"CORRUPT {warc}: ") for line in lines), \
        result.stdout + result.stderr
    assert "PROBLEMS: 0 missing, " in lines[-1] and " corrupt, 0 unindexed" in lines[-1]


def test_a_deleted_cdxj_is_named_unindexed(copy: Path) -> None:
    warc = one_warc(copy)
    warc.with_name(warc.name + ".cdxj").unlink()
    result = verify(copy)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"UNINDEXED {warc}: no CDXJ index ({warc.name}.cdxj); run 'warcwire reindex'",
        result.stdout.splitlines()[-1]]
    assert result.stdout.splitlines()[-1].endswith(
        "PROBLEMS: 0 missing, 0 corrupt, 1 unindexed, 0 unresolved")


def test_a_deleted_warc_is_named_missing(copy: Path) -> None:
    warc = one_warc(copy)
    warc.unlink()
    result = verify(copy)
    assert result.returncode == 1
    (line, summary) = result.stdout.splitlines()
    assert line.startswith(f"MISSING {warc}: ") and "catalog row(s) point at it" in line
    assert summary.startswith("Verified 0 WARC(s)") and "1 missing, 0 corrupt" in summary


def test_verify_reads_s3_and_names_a_corrupt_object(
        news_site: str, moto_s3: S3Server, fresh_bucket, tmp_path: Path) -> None:
    bucket = fresh_bucket(moto_s3)
    config = write_config(tmp_path, [site_entry(news_site)], storage=f"s3://{bucket}/x")
    env = s3_environ(moto_s3, tmp_path)
    crawl = run_cli("crawl", "sample-news", "--config", str(config), "--max-pages", "5", env=env)
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    ok = run_cli("verify", "--config", str(config), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("Verified 1 WARC(s), ") and f"in s3://{bucket}/x: OK" in ok.stdout

    (key,) = [k for k in list_keys(moto_s3, bucket) if k.endswith(".warc.gz")]
    client = moto_s3.client()
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    bad = run_cli("verify", "--config", str(config), env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"CORRUPT s3://{bucket}/{key}: " in bad.stdout, bad.stdout
