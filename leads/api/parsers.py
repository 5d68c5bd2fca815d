"""JSON parsing that refuses what PostgreSQL cannot store (see leads.textsafety): a body with a
NUL character or a lone surrogate anywhere is a 400 naming the field, before any view runs."""
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from leads.textsafety import unstorable_text_errors


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, then a 400 with field-level messages for NUL and lone surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        errors = unstorable_text_errors(data)
        if errors:
            raise ValidationError(errors)
        return data
