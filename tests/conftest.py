"""Shared fixtures: real servers on 127.0.0.1, started and stopped by the tests."""

pytest_plugins = ["tests.fixtures_s3", "tests.fixtures_site", "tests.fixtures_review"]
