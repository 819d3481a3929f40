"""The append-only, hash-chained audit log: who did what, when, from where."""

from docflow.audit.services import RequestInfo, record, verify_chain

__all__ = ["RequestInfo", "record", "verify_chain"]
