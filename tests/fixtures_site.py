"""HTTP test sites served on 127.0.0.1."""
