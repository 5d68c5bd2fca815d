"""Log context: every record carries the tenant schema and the request id."""
import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from django.db import connection

        record.schema = getattr(connection, "schema_name", None) or "-"
        record.request_id = request_id_var.get()
        return True
