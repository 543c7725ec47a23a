"""`ember load`: Bundles and NDJSON files into the database, through the same engine
(validation, indexes, transactions) as the REST API."""

from ember.load.runner import Summary, load_paths
from ember.load.writer import Failure

__all__ = ["Failure", "Summary", "load_paths"]
