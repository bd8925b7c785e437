"""Segment-compatible event collection: keys, limits, the durable log, the loader, the plan."""

from cynosure.collect.app import create_collector_app
from cynosure.collect.collector import Collector, IntakeStats, key_store
from cynosure.collect.keys import KeyStore

__all__ = ["Collector", "IntakeStats", "KeyStore", "create_collector_app", "key_store"]
