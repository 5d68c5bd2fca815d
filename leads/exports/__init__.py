"""Export destinations, one module each; leads.services.exports drives them.

Every destination implements ``Destination`` (see base.py): it receives chunks of
lead rows (dicts of READ_FIELDS) and says, per lead, whether it was sent, skipped
or failed. The service does the bookkeeping in bulk.
"""
