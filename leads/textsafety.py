"""Text PostgreSQL cannot store: the NUL character (refused in text and jsonb) and lone UTF-16
surrogates (``"\\ud800"`` is a valid JSON escape but not Unicode, so it cannot be encoded to
UTF-8). Input carrying either is refused with a message naming the field, never left to fail
inside a write."""
import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_PROBLEMS = 20  # enough to fix a body, bounded for a hostile one


def unstorable_reason(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None (one regex scan: cheap on the ingestion path)."""
    if value.isascii() and "\x00" not in value:
        return None  # ASCII has no surrogates; both checks run in C, far faster than the regex
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters (\\u0000) are not allowed."
    return "Invalid Unicode: lone surrogate characters are not allowed."


def _label(key) -> str:
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(key))


def _walk(value, path: list, problems: list) -> None:
    if len(problems) >= MAX_PROBLEMS:
        return
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason:
            problems.append((path, reason))
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = unstorable_reason(key) if isinstance(key, str) else None
            if reason:
                problems.append((path + [_label(key)], f"Field name: {reason}"))
            else:
                _walk(item, path + [key], problems)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(item, path + [index], problems)


def unstorable_text_errors(data) -> dict[str, list[str]]:
    """``{top-level field: ["<path inside it>: message", ...]}`` for every string or key in
    ``data`` that cannot be stored; empty when all is well."""
    problems: list = []
    _walk(data, [], problems)
    errors: dict[str, list[str]] = {}
    for path, message in problems:
        field = str(path[0]) if path else "non_field_errors"
        inner = ".".join(str(p) for p in path[1:])
        errors.setdefault(field, []).append(f"{inner}: {message}" if inner else message)
    return errors


def storable(value):
    """A copy of ``value`` with unstorable characters replaced by U+FFFD, for keeping a refused
    row as evidence (import row errors)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value
