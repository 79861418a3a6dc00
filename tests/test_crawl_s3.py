"""Crawls that store to real S3 servers over HTTP: SeaweedFS for fidelity, moto for outages."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.fixtures_s3 import S3Server, closed_port_endpoint
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.warc_assertions import assert_exchange_integrity, read_jsonl_gz, read_records
from warcwire.demo import sample_site_root

MANIFEST = json.loads((sample_site_root().parent / "manifest.json").read_text())


def s3_environ(server: S3Server, tmp_path: Path, endpoint: str | None = None) -> dict[str, str]:
    """The environment a user would set for an S3-compatible store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": endpoint or server.endpoint,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "2",
    })
    return env


def list_keys(server: S3Server, bucket: str) -> list[str]:
    client = server.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def test_crawl_to_seaweedfs(news_site: str, seaweedfs: S3Server, fresh_bucket, tmp_path: Path
                            ) -> None:
    bucket = fresh_bucket(seaweedfs)
    config = write_config(tmp_path, [site_entry(news_site)], storage=f"s3://{bucket}/warc")
    result = run_cli("crawl", "sample-news", "--config", str(config),
                     env=s3_environ(seaweedfs, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr

    keys = list_keys(seaweedfs, bucket)
    # exactly one WARC (with its CDXJ index) and one JSONL, under the prefix, by site and date
    assert len(keys) == 3, keys
    assert all(k.startswith("warc/sample-news/") for k in keys)
    warc_key = next(k for k in keys if k.endswith(".warc.gz"))
    jsonl_key = next(k for k in keys if k.endswith(".articles.v2.jsonl.gz"))
    assert f"s3://{bucket}/{warc_key}" in result.stdout
    assert warc_key + ".cdxj" in keys
    assert not [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]

    client = seaweedfs.client()
    warc = client.get_object(Bucket=bucket, Key=warc_key)["Body"].read()
    records = read_records(warc, warc_key)
    assert_exchange_integrity(records)
    articles = read_jsonl_gz(client.get_object(Bucket=bucket, Key=jsonl_key)["Body"].read())
    assert len(articles) == len(MANIFEST["articles"])
    for article in articles:
        loc = article["warc"]
        assert f"warc/{loc['key']}" == warc_key
        end = loc["offset"] + loc["length"] - 1
        data = client.get_object(Bucket=bucket, Key=warc_key,
                                 Range=f"bytes={loc['offset']}-{end}")["Body"].read()
        (rec,) = read_records(data, warc_key)
        assert rec.type == "response" and rec.uri == article["url"]


def test_s3_outage_keeps_files_in_spool_until_next_run(
        news_site: str, moto_s3: S3Server, fresh_bucket, tmp_path: Path) -> None:
    bucket = fresh_bucket(moto_s3)
    config = write_config(tmp_path, [site_entry(news_site)], storage=f"s3://{bucket}/x")
    down = run_cli("crawl", "sample-news", "--config", str(config),
                   env=s3_environ(moto_s3, tmp_path, endpoint=closed_port_endpoint()))
    assert down.returncode == 3, down.stdout + down.stderr
    assert "NOT stored: 3 file(s) kept in the spool" in down.stdout  # WARC, CDXJ, JSONL
    spooled = sorted(p for p in (tmp_path / "spool").rglob("*") if p.is_file())
    assert len(spooled) == 3 and not [p for p in spooled if p.name.endswith(".open")]
    kept_names = {p.name for p in spooled}
    assert list_keys(moto_s3, bucket) == []

    # The store is back: the next run uploads what waited, plus its own files.
    up = run_cli("crawl", "sample-news", "--config", str(config), "--max-pages", "1",
                 env=s3_environ(moto_s3, tmp_path))
    assert up.returncode == 0, up.stdout + up.stderr
    stored_names = {k.rsplit("/", 1)[1] for k in list_keys(moto_s3, bucket)}
    assert kept_names <= stored_names
    new = stored_names - kept_names
    assert any(name.endswith(".warc.gz") for name in new), new  # this run's own WARC
    assert not [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]


def test_sync_stores_and_indexes_what_waited_in_the_spool(
        news_site: str, moto_s3: S3Server, fresh_bucket, tmp_path: Path) -> None:
    bucket = fresh_bucket(moto_s3)
    config = write_config(tmp_path, [site_entry(news_site)], storage=f"s3://{bucket}/x")
    down = run_cli("crawl", "sample-news", "--config", str(config),
                   env=s3_environ(moto_s3, tmp_path, endpoint=closed_port_endpoint()))
    assert down.returncode == 3, down.stdout + down.stderr

    still_down = run_cli("sync", "--config", str(config),
                         env=s3_environ(moto_s3, tmp_path, endpoint=closed_port_endpoint()))
    assert still_down.returncode == 3
    assert "NOT stored: 3 file(s) still in the spool" in still_down.stdout  # WARC, CDXJ, JSONL

    up = run_cli("sync", "--config", str(config), env=s3_environ(moto_s3, tmp_path))
    assert up.returncode == 0, up.stdout + up.stderr
    assert "stored 3 file(s)" in up.stdout
    keys = list_keys(moto_s3, bucket)
    warc = next(k for k in keys if k.endswith(".warc.gz"))
    assert warc + ".cdxj" in keys  # indexed as well as stored
    assert not [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]
    captures = run_cli("captures", f"{news_site}/", "--config", str(config),
                       env=s3_environ(moto_s3, tmp_path))
    assert captures.returncode == 0 and "200" in captures.stdout, captures.stderr
