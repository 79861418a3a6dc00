"""S3 servers for tests (moto, SeaweedFS)."""
