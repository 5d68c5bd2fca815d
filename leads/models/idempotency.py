from django.db import models


class IdempotentRequest(models.Model):
    """The first answer to a request sent with an ``Idempotency-Key`` header.

    Stored in the same transaction as the leads it created, so a retry after a
    crash or a lost answer finds it and gets the same answer back.
    """

    key = models.CharField(max_length=255)
    principal = models.CharField(max_length=150, help_text="user:<id> or api_key:<prefix>")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotent_request_key_uniq"),
        ]

    def __str__(self):
        return f"{self.principal} {self.key}"
